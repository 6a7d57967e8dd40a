// Package fleet starts small remote mail hosts inside the sandbox for the
// SSH transport's tests: each host is a process tree in its own network,
// mount, PID and UTS namespaces running Debian's real sshd, reachable from
// the sandbox's own network namespace (the "workstation") over a veth pair
// with ULA addresses (fd5f:1ee7:0:K::1 on the workstation's fl<K>, ::2 on the
// host's eth0; K is the first link number free in the sandbox).
//
// Each host has a private /run (tmpfs), a private /etc and /var/lib
// (overlays on the machine's, so nothing is written to the machine), its
// own ed25519 and ecdsa host keys made by ssh-keygen, and three users:
// root, fleet-nosudo (no sudo) and fleet-sudo (passwordless sudo), all
// logging in with the fleet's keys (pubkey only, no PAM).
//
// Not there yet (see README.md): a dockerd, D-Bus and systemd stand-in per
// host, IPv4.
//
// A test binary that starts a fleet must call MaybeRunHost first thing in
// TestMain: the hosts' PID 1 is that binary, re-executed.
package fleet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// hostArg0 marks the re-executed test binary that is a host's PID 1.
const hostArg0 = "dockeripv6-fleet-host[pid1]"

// envHost is set in a host's PID 1, so that a binary that forgot
// MaybeRunHost does not run its tests (and start fleets) there.
const envHost = "DOCKERIPV6_FLEET_HOST"

// Users every host has.
const (
	UserRoot   = "root"
	UserNoSudo = "fleet-nosudo" // uid 64001, no sudo
	UserSudo   = "fleet-sudo"   // uid 64002, passwordless sudo
)

var userIDs = map[string]int{UserNoSudo: 64001, UserSudo: 64002}

// Prefix is the fleet's ULA range; host N (1-based) is on Prefix:N::/64.
const Prefix = "fd5f:1ee7:0"

// Fleet is a set of hosts and the user keys to log in to them.
type Fleet struct {
	Hosts []*Host
	Dir   string            // keys, configs and logs (removed by Close)
	Keys  map[string]string // user -> private key PEM (the same on every host)
}

// Host is one remote host.
type Host struct {
	Name        string     // mail1, mail2, ...
	Addr        netip.Addr // the host's ULA address (sshd listens only there)
	Workstation netip.Addr // the workstation's end of the link
	Link        string     // the workstation's end: fl<k>
	Port        int        // 22
	HostKey     string     // ed25519 host key, authorized_keys format
	HostKeys    []string   // every host key (ed25519, ecdsa)
	Dir         string

	cmd    *exec.Cmd
	exited chan struct{} // closed when PID 1 has exited
	ctl    *os.File      // PID 1's stdin: commands
	reply  *bufio.Reader
}

// hostConfig is what PID 1 gets.
type hostConfig struct {
	Name     string
	Addr     string
	Dir      string
	HostKeys []string          // private key files
	UserKeys map[string]string // user -> authorized_keys line
	Sudo     bool              // sudo is installed: give UserSudo NOPASSWD
}

// New starts n hosts for a test and stops them when it ends. It fails the
// test outside the sandbox.
func New(t testing.TB, n int) *Fleet {
	t.Helper()
	sandbox.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f, err := Start(ctx, n)
	if err != nil {
		t.Fatalf("fleet: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range f.Hosts {
				if b, err := os.ReadFile(h.SSHDLog()); err == nil {
					t.Logf("%s sshd log:\n%s", h.Name, b)
				}
			}
		}
		if err := f.Close(); err != nil {
			t.Errorf("fleet close: %v", err)
		}
	})
	return f
}

// Start starts n hosts. Inside the sandbox only.
func Start(ctx context.Context, n int) (*Fleet, error) {
	if !sandbox.Inside() {
		return nil, errors.New("the fleet runs only inside the sandbox (internal/sandbox)")
	}
	if os.Getenv(envHost) != "" {
		return nil, errors.New("this binary runs as a fleet host's PID 1 but its TestMain does not call fleet.MaybeRunHost")
	}
	if n < 1 || n > 200 {
		return nil, fmt.Errorf("%d hosts: want 1..200", n)
	}
	dir, err := os.MkdirTemp("", "dockeripv6-fleet-")
	if err != nil {
		return nil, err
	}
	f := &Fleet{Dir: dir, Keys: map[string]string{}}
	userKeys := map[string]string{}
	for _, u := range []string{UserRoot, UserNoSudo, UserSudo} {
		file := filepath.Join(dir, "id_"+u)
		if err := keygen(file, "ed25519", u+"@workstation"); err != nil {
			f.Close()
			return nil, err
		}
		priv, _ := os.ReadFile(file)
		pub, _ := os.ReadFile(file + ".pub")
		f.Keys[u] = string(priv)
		userKeys[u] = strings.TrimSpace(string(pub))
	}
	_, sudoErr := exec.LookPath("sudo")
	for i := 1; i <= n; i++ {
		h, err := startHost(ctx, f, i, userKeys, sudoErr == nil)
		if h != nil {
			f.Hosts = append(f.Hosts, h)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

func keygen(file, typ, comment string) error {
	out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", "", "-C", comment, "-f", file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ssh-keygen -t %s: %v: %s", typ, err, out)
	}
	return nil
}

func startHost(ctx context.Context, f *Fleet, i int, userKeys map[string]string, sudo bool) (*Host, error) {
	name := "mail" + strconv.Itoa(i)
	h := &Host{
		Name: name,
		Port: 22,
		Dir:  filepath.Join(f.Dir, name),
	}
	if err := os.Mkdir(h.Dir, 0o700); err != nil {
		return nil, err
	}
	cfg := hostConfig{Name: name, Dir: h.Dir, UserKeys: userKeys, Sudo: sudo}
	for _, typ := range []string{"ed25519", "ecdsa"} {
		file := filepath.Join(h.Dir, "ssh_host_"+typ+"_key")
		if err := keygen(file, typ, "root@"+name); err != nil {
			return nil, err
		}
		pub, _ := os.ReadFile(file + ".pub")
		line := strings.TrimSpace(string(pub))
		h.HostKeys = append(h.HostKeys, line)
		if typ == "ed25519" {
			h.HostKey = line
		}
		cfg.HostKeys = append(cfg.HostKeys, file)
	}

	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	logf, err := os.Create(filepath.Join(h.Dir, "pid1.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	h.cmd = &exec.Cmd{
		Path:   exe,
		Args:   []string{hostArg0},
		Env:    append(os.Environ(), envHost+"="+name),
		Stdin:  ctlR,
		Stdout: repW,
		Stderr: logf,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWPID | unix.CLONE_NEWUTS,
			Pdeathsig:  unix.SIGKILL,
		},
	}
	err = h.cmd.Start()
	ctlR.Close()
	repW.Close()
	if err != nil {
		ctlW.Close()
		repR.Close()
		return nil, fmt.Errorf("%s: start PID 1: %w", name, err)
	}
	h.ctl, h.reply = ctlW, bufio.NewReader(repR)
	h.exited = make(chan struct{})
	go func() { _ = h.cmd.Wait(); close(h.exited) }()

	// Links are numbered across every fleet in the sandbox (test binaries
	// run in parallel): the first free fl<k> wins, k picks the addresses.
	for k := 1; ; k++ {
		if k > 4000 {
			return h, fmt.Errorf("%s: no free link name fl1..fl4000", name)
		}
		err := h.link(k)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return h, fmt.Errorf("%s: network: %w", name, err)
		}
		break
	}
	cfg.Addr = h.Addr.String()
	b, _ := json.Marshal(cfg)
	if err := h.command(ctx, string(b)); err != nil {
		return h, fmt.Errorf("%s: %w (PID 1 log: %s)", name, err, filepath.Join(h.Dir, "pid1.log"))
	}
	return h, nil
}

// link creates the veth pair: fl<k> here, eth0 in the host, on
// Prefix:<k>::/64. It fails with EEXIST when fl<k> is taken.
func (h *Host) link(k int) error {
	pid := h.cmd.Process.Pid
	ws := "fl" + strconv.Itoa(k)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: ws}, PeerName: "eth0", PeerNamespace: netlink.NsPid(pid)}
	if err := netlink.LinkAdd(veth); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return err
		}
		return fmt.Errorf("veth %s: %w", ws, err)
	}
	h.Link = ws
	h.Addr = netip.MustParseAddr(fmt.Sprintf("%s:%x::2", Prefix, k))
	h.Workstation = netip.MustParseAddr(fmt.Sprintf("%s:%x::1", Prefix, k))
	l, err := netlink.LinkByName(ws)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: prefix64(h.Workstation), Flags: unix.IFA_F_NODAD}); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return err
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return err
	}
	defer ns.Close()
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer nh.Close()
	for _, name := range []string{"lo", "eth0"} {
		l, err := nh.LinkByName(name)
		if err != nil {
			return err
		}
		if name == "eth0" {
			if err := nh.AddrAdd(l, &netlink.Addr{IPNet: prefix64(h.Addr), Flags: unix.IFA_F_NODAD}); err != nil {
				return err
			}
		}
		if err := nh.LinkSetUp(l); err != nil {
			return err
		}
	}
	return nil
}

func prefix64(a netip.Addr) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(64, 128)}
}

// command sends one line to PID 1 and waits for "ok" or "error: ...".
func (h *Host) command(ctx context.Context, line string) error {
	if _, err := fmt.Fprintln(h.ctl, line); err != nil {
		return fmt.Errorf("PID 1 is gone: %w", err)
	}
	res := make(chan error, 1)
	go func() {
		s, err := h.reply.ReadString('\n')
		switch {
		case err != nil:
			res <- fmt.Errorf("PID 1 exited: %w", err)
		case strings.TrimSpace(s) == "ok":
			res <- nil
		default:
			res <- errors.New(strings.TrimSpace(s))
		}
	}()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PID is the host's PID 1 as the workstation sees it.
func (h *Host) PID() int { return h.cmd.Process.Pid }

// Path is a path of the host's file system as the workstation can read it
// (through /proc/PID/root).
func (h *Host) Path(p string) string {
	return filepath.Join("/proc", strconv.Itoa(h.PID()), "root", p)
}

// SSHDLog is sshd's log file.
func (h *Host) SSHDLog() string { return filepath.Join(h.Dir, "sshd.log") }

// KnownHostsLine is the host's known_hosts line (ed25519).
func (h *Host) KnownHostsLine() string {
	return "[" + h.Addr.String() + "]:" + strconv.Itoa(h.Port) + " " + h.HostKey
}

// KnownHosts writes a known_hosts file for every host of the fleet and
// returns its path.
func (f *Fleet) KnownHosts() (string, error) {
	var b strings.Builder
	for _, h := range f.Hosts {
		fmt.Fprintln(&b, h.Addr.String()+" "+h.HostKey)
	}
	p := filepath.Join(f.Dir, "known_hosts")
	return p, os.WriteFile(p, []byte(b.String()), 0o600)
}

// Process is a process on a host.
type Process struct {
	PID     int // as the workstation sees it
	UID     int
	Comm    string
	Cmdline string
}

// Processes lists the processes of the host's PID namespace.
func (h *Host) Processes() ([]Process, error) {
	self, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", h.PID()))
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var ps []Process
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err != nil || ns != self {
			continue
		}
		p := Process{PID: pid}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil {
			p.Comm = strings.TrimSpace(string(b))
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
			p.Cmdline = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
		}
		var st syscall.Stat_t
		if syscall.Stat(fmt.Sprintf("/proc/%d", pid), &st) == nil {
			p.UID = int(st.Uid)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// KillSSHD kills every sshd process on the host (the listener and every
// session) with SIGKILL: connections drop at once, as when the host's
// sshd is killed or the host goes away.
func (h *Host) KillSSHD() error {
	ps, err := h.Processes()
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Comm == "sshd" || p.Comm == "sshd-session" {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
	return nil
}

// StartSSHD starts sshd again (after KillSSHD).
func (h *Host) StartSSHD(ctx context.Context) error { return h.command(ctx, "start-sshd") }

// Close stops every host: closing PID 1's control pipe makes it exit, and
// the kernel kills everything left in its PID namespace; the namespaces
// and the veth pairs go with it.
func (f *Fleet) Close() error {
	var errs []error
	for _, h := range f.Hosts {
		h.ctl.Close()
	}
	for _, h := range f.Hosts {
		select {
		case <-h.exited:
		case <-time.After(10 * time.Second):
			_ = h.cmd.Process.Kill()
			errs = append(errs, fmt.Errorf("%s: PID 1 did not exit within 10s; killed", h.Name))
		}
	}
	if f.Dir != "" {
		if err := os.RemoveAll(f.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
