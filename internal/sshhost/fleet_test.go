package sshhost_test

// Tests against real sshd on fleet hosts (internal/sandbox/fleet); they run
// only inside the sandbox and fail outside it. The test binary itself is
// the agent that is uploaded and started.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/fleet"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sshhost"
)

func TestMain(m *testing.M) {
	fleet.MaybeRunHost()
	sshhost.MaybeServeAgent(testAgent)
	os.Exit(m.Run())
}

// testAgent answers one line per request: uid, pid, ping.
func testAgent(rw io.ReadWriteCloser) error {
	sc := bufio.NewScanner(rw)
	for sc.Scan() {
		var out string
		switch sc.Text() {
		case "uid":
			out = "uid " + strconv.Itoa(os.Getuid())
		case "pid":
			out = "pid " + strconv.Itoa(os.Getpid())
		case "ping":
			out = "pong"
		case "work":
			// A request that outlives the connection: it says it started,
			// waits for the test's go (a file on the host), then leaves
			// its mark, as a daemon.json transaction ends on the host.
			if _, err := fmt.Fprintln(rw, "started"); err != nil {
				return err
			}
			for {
				if _, err := os.Stat(workGo); err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := os.WriteFile(workDone, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
				return err
			}
			out = "done"
		default:
			out = "unknown " + sc.Text()
		}
		if _, err := fmt.Fprintln(rw, out); err != nil {
			return err
		}
	}
	return sc.Err()
}

// The files of the "work" request, on the host.
const (
	workGo   = "/run/fleet/work-go"
	workDone = "/run/fleet/work-done"
)

// startWork asks a for "work" and waits until it started.
func startWork(t *testing.T, h *fleet.Host, a *sshhost.Agent) {
	t.Helper()
	for _, p := range []string{workGo, workDone} {
		if err := os.Remove(h.Path(p)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if got := ask(t, a, bufio.NewReader(a), "work"); got != "started" {
		t.Fatalf("work: %q", got)
	}
}

// agentPID is the PID (as the test sees it) of the agent process behind a:
// the one that runs its binary (not sudo, not the start script's shell).
func agentPID(t *testing.T, h *fleet.Host, a *sshhost.Agent) int {
	t.Helper()
	for _, p := range agentProcesses(t, h) {
		if strings.HasPrefix(p.Cmdline, "/proc/self/fd/3 "+sshhost.AgentArg+" "+a.Path) || strings.HasPrefix(p.Cmdline, a.Path+" "+sshhost.AgentArg) {
			return p.PID
		}
	}
	t.Fatalf("no agent process for %s on %s: %+v", a.Path, h.Name, agentProcesses(t, h))
	return 0
}

// requireWorkDone lets the work go on and waits (bounded) for its mark.
func requireWorkDone(t *testing.T, h *fleet.Host) {
	t.Helper()
	if err := os.WriteFile(h.Path(workGo), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(h.Path(workDone)); err == nil {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("the request that ran when the connection went never finished on %s (the agent was killed); agents: %+v", h.Name, agentProcesses(t, h))
		}
	}
}

func ask(t *testing.T, a *sshhost.Agent, r *bufio.Reader, q string) string {
	t.Helper()
	if _, err := fmt.Fprintln(a, q); err != nil {
		t.Fatalf("write %q: %v", q, err)
	}
	s, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read answer to %q: %v", q, err)
	}
	return strings.TrimSpace(s)
}

func config(f *fleet.Fleet, h *fleet.Host, user string) sshhost.Config {
	return sshhost.Config{Host: h.Addr.String(), User: user, PrivateKey: f.Keys[user], HostKey: h.HostKey, DialTimeout: 10 * time.Second}
}

func self(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// agentProcesses are the processes on h that run an agent binary, from
// the default directory or from the file its start script opened (or sudo).
func agentProcesses(t *testing.T, h *fleet.Host) []fleet.Process {
	t.Helper()
	ps, err := h.Processes()
	if err != nil {
		t.Fatal(err)
	}
	var out []fleet.Process
	for _, p := range ps {
		if strings.Contains(p.Cmdline, sshhost.DefaultAgentDir) || strings.HasPrefix(p.Cmdline, "/proc/self/fd/3 "+sshhost.AgentArg+" ") || p.Comm == "sudo" {
			out = append(out, p)
		}
	}
	return out
}

func requireNoAgent(t *testing.T, h *fleet.Host) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ps := agentProcesses(t, h)
		if len(ps) == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("agent processes left on %s: %+v", h.Name, ps)
		}
	}
}

func TestFleetHostKeys(t *testing.T) {
	f := fleet.New(t, 2)
	ctx := context.Background()
	h1, h2 := f.Hosts[0], f.Hosts[1]

	t.Run("right host key", func(t *testing.T) {
		c, err := sshhost.Dial(ctx, config(f, h1, fleet.UserRoot))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		pk, _ := sshhost.ParseHostKey(h1.HostKey)
		if !strings.HasSuffix(c.HostKeyFingerprint(), ssh.FingerprintSHA256(pk)) {
			t.Errorf("fingerprint %s", c.HostKeyFingerprint())
		}
	})
	t.Run("wrong host key", func(t *testing.T) {
		cfg := config(f, h1, fleet.UserRoot)
		cfg.HostKey = h2.HostKey
		logStart, _ := os.ReadFile(h1.SSHDLog())
		_, err := sshhost.Dial(ctx, cfg)
		t.Logf("error: %v", err)
		offered, _ := sshhost.ParseHostKey(h1.HostKey)
		expected, _ := sshhost.ParseHostKey(h2.HostKey)
		if sshhost.StepOf(err) != sshhost.StepHostKey || !strings.Contains(err.Error(), "offered ssh-ed25519 "+ssh.FingerprintSHA256(offered)) ||
			!strings.Contains(err.Error(), ssh.FingerprintSHA256(expected)) {
			t.Fatalf("want a host key error with both fingerprints: %v", err)
		}
		if _, err := os.Stat(h1.Path("/var/lib/dockeripv6")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("/var/lib/dockeripv6 on %s after a refused host key: %v", h1.Name, err)
		}
		if b, _ := os.ReadFile(h1.SSHDLog()); strings.Contains(string(b[len(logStart):]), "Accepted publickey") {
			t.Fatalf("sshd accepted a login despite the mismatch:\n%s", b)
		}
	})
	t.Run("known_hosts", func(t *testing.T) {
		kh, err := f.KnownHosts()
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range f.Hosts {
			cfg := config(f, h, fleet.UserRoot)
			cfg.HostKey, cfg.KnownHostsFile = "", kh
			c, err := sshhost.Dial(ctx, cfg)
			if err != nil {
				t.Fatalf("%s: %v", h.Name, err)
			}
			c.Close()
		}
	})
	t.Run("unknown in known_hosts", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(kh, []byte(h2.Addr.String()+" "+h2.HostKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := config(f, h1, fleet.UserRoot)
		cfg.HostKey, cfg.KnownHostsFile = "", kh
		_, err := sshhost.Dial(ctx, cfg)
		t.Logf("error: %v", err)
		if sshhost.StepOf(err) != sshhost.StepHostKey || !strings.Contains(err.Error(), "ssh-keyscan -p 22 -t ed25519 "+h1.Addr.String()+" >> "+kh) {
			t.Fatalf("want an unknown host error with the ssh-keyscan line: %v", err)
		}
	})
}

func TestFleetAgent(t *testing.T) {
	f := fleet.New(t, 1)
	h := f.Hosts[0]
	ctx := context.Background()
	exe := self(t)

	for _, tc := range []struct {
		user string
		sudo bool
	}{{fleet.UserRoot, false}, {fleet.UserSudo, true}} {
		t.Run(tc.user, func(t *testing.T) {
			c, err := sshhost.Dial(ctx, config(f, h, tc.user))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			a, err := c.StartAgent(ctx, exe)
			if err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(a)
			if got := ask(t, a, r, "uid"); got != "uid 0" {
				t.Errorf("agent runs as %q, want uid 0", got)
			}
			if a.Sudo != tc.sudo {
				t.Errorf("Sudo %v, want %v", a.Sudo, tc.sudo)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			requireNoAgent(t, h)
		})
	}

	t.Run("uploaded once, kept root-only by hash", func(t *testing.T) {
		c, err := sshhost.Dial(ctx, config(f, h, fleet.UserRoot))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		a, err := c.StartAgent(ctx, exe)
		if err != nil {
			t.Fatal(err)
		}
		if a.Uploaded {
			t.Error("the second start uploaded the binary again")
		}
		fi, err := os.Stat(h.Path(a.Path))
		if err != nil {
			t.Fatal(err)
		}
		dir, err := os.Stat(h.Path(sshhost.DefaultAgentDir))
		if err != nil {
			t.Fatal(err)
		}
		st := dir.Sys().(*syscall.Stat_t)
		if dir.Mode().Perm() != 0o700 || st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s is %v %d:%d, want 0700 root:root", sshhost.DefaultAgentDir, dir.Mode(), st.Uid, st.Gid)
		}
		a.Close()
		// Tampered: the kept file no longer has its hash; the next start
		// uploads it again.
		if err := os.WriteFile(h.Path(a.Path), []byte("#!/bin/sh\necho tampered\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		a2, err := c.StartAgent(ctx, exe)
		if err != nil {
			t.Fatal(err)
		}
		defer a2.Close()
		if !a2.Uploaded {
			t.Error("a tampered binary was not replaced")
		}
		if got := ask(t, a2, bufio.NewReader(a2), "ping"); got != "pong" {
			t.Errorf("ping: %q", got)
		}
		if fi2, _ := os.Stat(h.Path(a.Path)); fi2 == nil || fi2.Size() != fi.Size() {
			t.Error("the re-uploaded binary has another size")
		}
	})

	t.Run("a new build replaces the old one", func(t *testing.T) {
		newer := filepath.Join(t.TempDir(), "agent-newer")
		b, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(newer, append(b, []byte("\nnewer build\n")...), 0o755); err != nil {
			t.Fatal(err)
		}
		c, err := sshhost.Dial(ctx, config(f, h, fleet.UserSudo))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		a, err := c.StartAgent(ctx, newer)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if !a.Uploaded {
			t.Error("a new build was not uploaded")
		}
		ents, err := os.ReadDir(h.Path(sshhost.DefaultAgentDir))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 || ents[0].Name() != a.Hash {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("agent directory holds %v, want only %s", names, a.Hash)
		}
	})
}

func TestFleetRefusals(t *testing.T) {
	f := fleet.New(t, 1)
	h := f.Hosts[0]
	ctx := context.Background()
	exe := self(t)

	t.Run("user without sudo", func(t *testing.T) {
		c, err := sshhost.Dial(ctx, config(f, h, fleet.UserNoSudo))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.StartAgent(ctx, exe)
		t.Logf("error: %v", err)
		if sshhost.StepOf(err) != sshhost.StepSudo || !strings.Contains(err.Error(), "passwordless sudo") || !strings.Contains(err.Error(), fleet.UserNoSudo) {
			t.Fatalf("want a sudo error naming the user and passwordless sudo: %v", err)
		}
		if _, err := os.Stat(h.Path(sshhost.DefaultAgentDir)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("agent directory exists after the refusal: %v", err)
		}
	})
	t.Run("sudo never", func(t *testing.T) {
		cfg := config(f, h, fleet.UserSudo)
		cfg.Sudo = sshhost.SudoNever
		c, err := sshhost.Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.StartAgent(ctx, exe)
		t.Logf("error: %v", err)
		if sshhost.StepOf(err) != sshhost.StepSudo {
			t.Fatalf("want a sudo error: %v", err)
		}
	})
	t.Run("other architecture", func(t *testing.T) {
		b, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		b[18], b[19] = 0xb7, 0x00 // e_machine = EM_AARCH64
		arm := filepath.Join(t.TempDir(), "agent-arm64")
		if err := os.WriteFile(arm, b, 0o755); err != nil {
			t.Fatal(err)
		}
		c, err := sshhost.Dial(ctx, config(f, h, fleet.UserRoot))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.StartAgent(ctx, arm)
		t.Logf("error: %v", err)
		if sshhost.StepOf(err) != sshhost.StepArch || !strings.Contains(err.Error(), "x86_64") || !strings.Contains(err.Error(), "arm64") ||
			!strings.Contains(err.Error(), "GOARCH=amd64") {
			t.Fatalf("want an arch error naming both and the build to use: %v", err)
		}
		if _, err := os.Stat(h.Path(sshhost.DefaultAgentDir)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("agent directory exists after the refusal: %v", err)
		}
	})
}

// cutConn closes the TCP connection after limit bytes were written.
type cutConn struct {
	net.Conn
	written atomic.Int64
	limit   int64
}

func (c *cutConn) Write(p []byte) (int, error) {
	if c.written.Add(int64(len(p))) > c.limit {
		c.Close()
		return 0, net.ErrClosed
	}
	return c.Conn.Write(p)
}

func TestFleetConnectionLost(t *testing.T) {
	f := fleet.New(t, 1)
	h := f.Hosts[0]
	ctx := context.Background()
	exe := self(t)

	// A request that runs when the connection goes runs to its end, as
	// root (the agent is sshd's child) and through sudo; then the agent
	// exits. The same after SIGTERM, and no request starts after it.
	for _, user := range []string{fleet.UserRoot, fleet.UserSudo} {
		t.Run("sshd killed during a request, "+user, func(t *testing.T) {
			defer func() {
				if err := h.StartSSHD(ctx); err != nil {
					t.Fatal(err)
				}
			}()
			c, err := sshhost.Dial(ctx, config(f, h, user))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			a, err := c.StartAgent(ctx, exe)
			if err != nil {
				t.Fatal(err)
			}
			startWork(t, h, a)
			if err := h.KillSSHD(); err != nil {
				t.Fatal(err)
			}
			requireWorkDone(t, h)
			requireNoAgent(t, h)
		})
		t.Run("Agent.Close during a request, "+user, func(t *testing.T) {
			c, err := sshhost.Dial(ctx, config(f, h, user))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			a, err := c.StartAgent(ctx, exe)
			if err != nil {
				t.Fatal(err)
			}
			startWork(t, h, a)
			// The workstation gives up: Close returns (it does not wait for
			// the host's work), and the work still runs to its end there.
			closed := make(chan error, 1)
			go func() { closed <- a.Close() }()
			select {
			case err := <-closed:
				t.Logf("Agent.Close while the agent was busy: %v", err)
			case <-time.After(time.Minute):
				t.Fatal("Agent.Close did not return while the agent was busy")
			}
			if _, err := os.Stat(h.Path(workDone)); err == nil {
				t.Fatal("the work ended before it was let go")
			}
			requireWorkDone(t, h)
			requireNoAgent(t, h)
		})
		t.Run("SIGTERM during a request, "+user, func(t *testing.T) {
			c, err := sshhost.Dial(ctx, config(f, h, user))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			a, err := c.StartAgent(ctx, exe)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			r := bufio.NewReader(a)
			if got := ask(t, a, r, "pid"); !strings.HasPrefix(got, "pid ") {
				t.Fatalf("pid: %q", got)
			}
			startWork(t, h, a)
			// SIGTERM (what sudo relays, or a host's shutdown sends) while
			// the request runs, then a new request: the running one
			// finishes, the new one never starts, and the agent exits.
			pid := agentPID(t, h, a)
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // let the signal land before the next request
			if _, err := fmt.Fprintln(a, "ping"); err != nil {
				t.Fatal(err)
			}
			requireWorkDone(t, h)
			var answers []string
			for {
				s, err := r.ReadString('\n')
				if s != "" {
					answers = append(answers, strings.TrimSpace(s))
				}
				if err != nil {
					break
				}
			}
			if strings.Join(answers, ",") != "done" {
				t.Errorf("after SIGTERM the agent answered %q, want only the running request's \"done\"", answers)
			}
			requireNoAgent(t, h)
		})
	}

	for _, user := range []string{fleet.UserRoot, fleet.UserSudo} {
		t.Run("sshd killed while the agent is idle, "+user, func(t *testing.T) { idleAgentSSHDKilled(t, f, h, user) })
	}

	t.Run("connection cut during the upload", func(t *testing.T) {
		newer := filepath.Join(t.TempDir(), "agent-cut")
		b, _ := os.ReadFile(exe)
		if err := os.WriteFile(newer, append(b, []byte("\ncut build\n")...), 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := config(f, h, fleet.UserRoot)
		cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &cutConn{Conn: c, limit: int64(len(b) / 2)}, nil
		}
		c, err := sshhost.Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.StartAgent(ctx, newer)
		t.Logf("error: %v", err)
		if sshhost.StepOf(err) != sshhost.StepUpload || !errors.Is(err, sshhost.ErrConnectionLost) {
			t.Fatalf("want a lost connection in the upload step: %v", err)
		}
		// Nothing half-written is kept under a hash name.
		time.Sleep(200 * time.Millisecond)
		ents, _ := os.ReadDir(h.Path(sshhost.DefaultAgentDir))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".upload") {
				continue // removed by the shell's trap once sshd notices
			}
			if fi, _ := e.Info(); fi != nil && fi.Size() != int64(len(b)) && fi.Size() != int64(len(b))+12 {
				t.Errorf("partial file %s (%d bytes) kept", e.Name(), fi.Size())
			}
		}
		requireNoAgent(t, h)
	})
}

// idleAgentSSHDKilled: an idle agent exits when sshd goes (no agent is
// left for ever on the host), and the pool dials again once sshd is back.
func idleAgentSSHDKilled(t *testing.T, f *fleet.Fleet, h *fleet.Host, user string) {
	ctx := context.Background()
	exe := self(t)
	p := sshhost.NewPool()
	defer p.Close()
	cfg := config(f, h, user)
	c, err := p.Get(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.StartAgent(ctx, exe)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(a)
	if got := ask(t, a, r, "ping"); got != "pong" {
		t.Fatalf("ping: %q", got)
	}
	if len(agentProcesses(t, h)) == 0 {
		t.Fatal("no agent process on the host while it runs")
	}
	if err := h.KillSSHD(); err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintln(a, "ping")
	if err == nil {
		_, err = r.ReadString('\n')
	}
	t.Logf("error: %v", err)
	if sshhost.StepOf(err) != sshhost.StepAgent || !errors.Is(err, sshhost.ErrConnectionLost) {
		t.Fatalf("want a lost connection in the agent step: %v", err)
	}
	requireNoAgent(t, h)
	// The next use dials again once sshd is back.
	if err := h.StartSSHD(ctx); err != nil {
		t.Fatal(err)
	}
	c2, err := p.Get(ctx, cfg)
	if err != nil || c2 == c {
		t.Fatalf("no new connection after the loss: %v", err)
	}
	a2, err := c2.StartAgent(ctx, exe)
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, a2, bufio.NewReader(a2), "uid"); got != "uid 0" {
		t.Errorf("uid: %q", got)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	requireNoAgent(t, h)
}

// hostUID is the uid of user on h.
func hostUID(t *testing.T, h *fleet.Host, user string) int {
	t.Helper()
	out, err := h.Exec(context.Background(), "id", "-u", user)
	if err != nil {
		t.Fatal(err)
	}
	uid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	return uid
}

// build writes a copy of the test binary with extra bytes at its end: a
// build of its own (another hash), that runs as the agent all the same.
func build(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(self(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, append(b, []byte("\n"+name+"\n")...), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// mkHostDir makes p on h with the given owner and mode.
func mkHostDir(t *testing.T, h *fleet.Host, p string, uid, gid int, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(h.Path(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(h.Path(p), uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(h.Path(p), mode); err != nil {
		t.Fatal(err)
	}
}

// The agent's path: every directory from / down to the agent directory,
// and the agent file, must be root's (with sudo, the user's own directories
// too), no symbolic link, and not writable by group or others; else the
// start is refused, naming the component and why, before anything is
// written or run. A non-root user who can write one component is each
// case. The upload removes only names the agent makes, and uploads at once
// do not spoil each other.
func TestFleetAgentPath(t *testing.T) {
	f := fleet.New(t, 1)
	h := f.Hosts[0]
	ctx := context.Background()
	exe := self(t)
	hash := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	nosudo := hostUID(t, h, fleet.UserNoSudo)
	sudoUID := hostUID(t, h, fleet.UserSudo)
	const base = "/run/fleet/agentpath"
	mkHostDir(t, h, base, 0, 0, 0o755)

	start := func(t *testing.T, user, dir, bin string) (*sshhost.Agent, error) {
		t.Helper()
		cfg := config(f, h, user)
		cfg.AgentDir = dir
		c, err := sshhost.Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.StartAgent(ctx, bin)
	}
	refused := func(t *testing.T, user, dir, want string) {
		t.Helper()
		a, err := start(t, user, dir, exe)
		if err == nil {
			a.Close()
			t.Fatalf("as %s with agent directory %s: the agent started", user, dir)
		}
		t.Logf("as %s: %v", user, err)
		if st := sshhost.StepOf(err); (st != sshhost.StepStart && st != sshhost.StepUpload) ||
			!strings.Contains(err.Error(), "the agent's path on the host is not safe: "+want) || !strings.Contains(err.Error(), "The agent runs as root from "+dir+": every directory from / down to it") {
			t.Fatalf("as %s: want the agent's path refused with %q, got %v", user, want, err)
		}
		requireNoAgent(t, h)
	}

	t.Run("a directory another user owns", func(t *testing.T) {
		d := base + "/owned"
		mkHostDir(t, h, d, nosudo, nosudo, 0o755)
		for _, user := range []string{fleet.UserRoot, fleet.UserSudo} {
			refused(t, user, d+"/agent", d+" is owned by uid "+strconv.Itoa(nosudo)+", not root")
		}
		if _, err := os.Lstat(h.Path(d + "/agent")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the refused start made the agent directory: %v", err)
		}
	})
	t.Run("a directory its group can write", func(t *testing.T) {
		d := base + "/group"
		mkHostDir(t, h, d, 0, nosudo, 0o775)
		refused(t, fleet.UserRoot, d+"/agent", d+" is writable by its group or by others (mode 775)")
	})
	t.Run("a sticky directory anyone can write", func(t *testing.T) {
		d := base + "/tmp"
		mkHostDir(t, h, d, 0, 0, 0o777|os.ModeSticky)
		refused(t, fleet.UserSudo, d+"/agent", d+" is writable by its group or by others (mode 1777)")
	})
	t.Run("a symbolic link to another user's directory", func(t *testing.T) {
		target := base + "/target"
		mkHostDir(t, h, target, nosudo, nosudo, 0o755)
		old := strings.Repeat("ab", 32) // an old build's name
		for _, n := range []string{"notes", old} {
			if err := os.WriteFile(h.Path(target+"/"+n), []byte(n), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		link := base + "/link"
		if err := os.Symlink(target, h.Path(link)); err != nil {
			t.Fatal(err)
		}
		for _, user := range []string{fleet.UserRoot, fleet.UserSudo} {
			refused(t, user, link, link+" is a symbolic link")
		}
		fi, err := os.Stat(h.Path(target))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o755 || int(st.Uid) != nosudo {
			t.Errorf("the link's target was changed: %v uid %d", fi.Mode(), st.Uid)
		}
		for _, n := range []string{"notes", old} {
			if _, err := os.Stat(h.Path(target + "/" + n)); err != nil {
				t.Errorf("the link's target lost %s: %v", n, err)
			}
		}
	})
	t.Run("the agent file", func(t *testing.T) {
		d := base + "/file/agent"
		mkHostDir(t, h, base+"/file", 0, 0, 0o755)
		mkHostDir(t, h, d, 0, 0, 0o700)
		fp := d + "/" + hash(exe)
		put := func(uid int, mode os.FileMode) {
			t.Helper()
			_ = os.Remove(h.Path(fp))
			b, err := os.ReadFile(exe)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(h.Path(fp), b, mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(h.Path(fp), uid, uid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(h.Path(fp), mode); err != nil {
				t.Fatal(err)
			}
		}
		put(nosudo, 0o700)
		refused(t, fleet.UserRoot, d, fp+" is owned by uid "+strconv.Itoa(nosudo)+", not root")
		// Not even the sudo user's own: the file is root's.
		put(sudoUID, 0o700)
		refused(t, fleet.UserSudo, d, fp+" is owned by uid "+strconv.Itoa(sudoUID)+", not root")
		put(0, 0o766)
		refused(t, fleet.UserSudo, d, fp+" is writable by its group or by others (mode 766)")
		_ = os.Remove(h.Path(fp))
		if err := os.Symlink(exe, h.Path(fp)); err != nil {
			t.Fatal(err)
		}
		refused(t, fleet.UserRoot, d, fp+" is a symbolic link")
		_ = os.Remove(h.Path(fp))
	})
	t.Run("a sudo user's own directory", func(t *testing.T) {
		d := base + "/mine"
		mkHostDir(t, h, d, sudoUID, sudoUID, 0o755)
		a, err := start(t, fleet.UserSudo, d+"/agent", exe)
		if err != nil {
			t.Fatalf("the sudo user's own directory (that user becomes root anyway) was refused: %v", err)
		}
		if got := ask(t, a, bufio.NewReader(a), "uid"); got != "uid 0" {
			t.Errorf("uid: %q", got)
		}
		// It runs from the file it hashed: /proc/self/fd/3, its path after.
		var seen bool
		for _, p := range agentProcesses(t, h) {
			seen = seen || strings.HasPrefix(p.Cmdline, "/proc/self/fd/3 agent "+d+"/agent/"+a.Hash)
		}
		if !seen {
			t.Errorf("no agent process runs from its open file: %+v", agentProcesses(t, h))
		}
		a.Close()
		requireNoAgent(t, h)
		// Root is not that user: the same directory is refused.
		refused(t, fleet.UserRoot, d+"/agent", d+" is owned by uid "+strconv.Itoa(sudoUID)+", not root")
	})
	t.Run("the upload removes only the agent's own names", func(t *testing.T) {
		d := base + "/clean"
		a, err := start(t, fleet.UserRoot, d, exe)
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		old := strings.Repeat("0f", 32)
		keep := []string{"notes.txt", strings.Repeat("AB", 32), ".upload.fresh12345", old + ".bak"}
		for _, n := range append([]string{old, ".upload.stale12345"}, keep...) {
			if err := os.WriteFile(h.Path(d+"/"+n), []byte(n), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		hourAgo := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(h.Path(d+"/.upload.stale12345"), hourAgo, hourAgo); err != nil {
			t.Fatal(err)
		}
		a, err = start(t, fleet.UserSudo, d, build(t, "agent-clean"))
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		requireNoAgent(t, h)
		ents, err := os.ReadDir(h.Path(d))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		got := strings.Join(names, " ")
		want := []string{a.Hash}
		want = append(want, keep...)
		for _, n := range want {
			if !strings.Contains(" "+got+" ", " "+n+" ") {
				t.Errorf("after the upload %s is gone; the directory holds %s", n, got)
			}
		}
		if len(names) != len(want) {
			t.Errorf("after the upload the directory holds %s; want only %v (the old build %s and the stale upload removed)", got, want, old)
		}
	})
	t.Run("uploads at once", func(t *testing.T) {
		d := base + "/concurrent"
		bins := []string{build(t, "agent-x"), build(t, "agent-y")}
		errs := make(chan error, 6)
		for i := 0; i < cap(errs); i++ {
			user := []string{fleet.UserRoot, fleet.UserSudo}[i%2]
			bin := bins[i%2]
			go func() {
				cfg := config(f, h, user)
				cfg.AgentDir = d
				c, err := sshhost.Dial(ctx, cfg)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				a, err := c.StartAgent(ctx, bin)
				if err != nil {
					errs <- err
					return
				}
				defer a.Close()
				r := bufio.NewReader(a)
				if _, err := fmt.Fprintln(a, "ping"); err != nil {
					errs <- err
					return
				}
				if s, err := r.ReadString('\n'); err != nil || s != "pong\n" {
					errs <- fmt.Errorf("ping: %q %v", s, err)
					return
				}
				errs <- nil
			}()
		}
		for i := 0; i < cap(errs); i++ {
			if err := <-errs; err != nil {
				t.Errorf("a start among %d at once: %v", cap(errs), err)
			}
		}
		requireNoAgent(t, h)
		ents, _ := os.ReadDir(h.Path(d))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".upload.") {
				t.Errorf("a temporary upload is left: %s", e.Name())
			}
		}
	})
}
