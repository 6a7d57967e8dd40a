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
// Each host also runs its own dockerd (the sandbox's engine) as
// docker.service of its own fake systemd manager on its own D-Bus system
// bus, as the sandbox itself does (package inner), with IPv4 only from its
// own slice of 198.19.128.0/17. WorkstationCommand runs a command on the
// workstation without the sandbox's Docker socket and bus, as a provider
// that manages the hosts over SSH would run.
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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/fakesystemd"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/internal/inner"
)

// hostArg0 marks the re-executed test binary that is a host's PID 1,
// workstationArg0 the one that runs WorkstationCommand's command.
const (
	hostArg0        = "dockeripv6-fleet-host[pid1]"
	workstationArg0 = "dockeripv6-fleet-workstation"
)

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

// Prefix is the fleet's ULA range; the host on link fl<K> is on Prefix:K::/64.
const Prefix = "fd5f:1ee7:0"

// IPv4Range is where the hosts' dockerds take their IPv4 from: the host on
// link fl<K> gets the /21 number (K-1) mod 16 (Host.IPv4): the default
// bridge (bip) is .1 of its first /24, and its networks take /26s from its
// upper /22 (16 of them). Links are numbered first free, so hosts alive at
// the same time in the sandbox have distinct slices up to 16 of them; more
// reuse slices, which is harmless (each host is its own network namespace).
const IPv4Range = "198.19.128.0/17"

// Size of each network a host's dockerd takes from its pool.
const PoolSize = 26

// hostIPv4 is the IPv4 slice, bridge address and pool of link number k.
func hostIPv4(k int) (slice, bip, pool netip.Prefix) {
	base := netip.MustParsePrefix(IPv4Range).Addr().As4()
	base[2] += byte(8 * ((k - 1) % 16))
	slice = netip.PrefixFrom(netip.AddrFrom4(base), 21)
	b := base
	b[3] = 1
	bip = netip.PrefixFrom(netip.AddrFrom4(b), 24)
	p := base
	p[2] += 4
	pool = netip.PrefixFrom(netip.AddrFrom4(p), 22)
	return slice, bip, pool
}

// HostEnv is the environment of Host.Command: root's, as sudo leaves it
// (secure_path), and nothing of the workstation's.
var HostEnv = []string{"PATH=" + inner.SecurePath, "HOME=/root", "USER=root", "LOGNAME=root", "LANG=C.UTF-8"}

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
	// IPv4 is the host's slice of IPv4Range; its dockerd's default bridge
	// is BIP and its networks come from Pool in /PoolSize subnets.
	IPv4 netip.Prefix
	BIP  netip.Prefix
	Pool netip.Prefix

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
	// The host's dockerd: the sandbox's engine, the host's IPv4.
	Engine      string
	Engine29Bin string
	IPv4        inner.IPv4
}

// New starts n hosts for a test and stops them when it ends. It fails the
// test outside the sandbox.
func New(t testing.TB, n int) *Fleet {
	t.Helper()
	sandbox.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	begin := time.Now()
	f, err := Start(ctx, n)
	if err != nil {
		t.Fatalf("fleet: %v", err)
	}
	t.Logf("fleet: %d hosts up in %s (engine %s)", n, time.Since(begin).Round(time.Millisecond), sandbox.Engine())
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range f.Hosts {
				if b, err := os.ReadFile(h.SSHDLog()); err == nil {
					t.Logf("%s sshd log:\n%s", h.Name, b)
				}
				if s := tail(h.DockerdLog(), 40); s != "" {
					t.Logf("%s dockerd log (tail):\n%s", h.Name, s)
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
	docker := inner.Config{Engine: sandbox.Engine()}
	switch docker.Engine {
	case "20":
	case "29":
		docker.Engine29Bin = filepath.Dir(sandbox.DockerdPath())
	default:
		return nil, fmt.Errorf("%s=%q: want 20 or 29", sandbox.EnvEngine, docker.Engine)
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
	// Hosts start in parallel: most of a host's start-up is its dockerd's.
	hosts := make([]*Host, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hosts[i], errs[i] = startHost(ctx, f, i+1, userKeys, sudoErr == nil, docker)
		}()
	}
	wg.Wait()
	for _, h := range hosts {
		if h != nil {
			f.Hosts = append(f.Hosts, h)
		}
	}
	if err := errors.Join(errs...); err != nil {
		f.Close()
		return nil, err
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

func startHost(ctx context.Context, f *Fleet, i int, userKeys map[string]string, sudo bool, docker inner.Config) (*Host, error) {
	name := "mail" + strconv.Itoa(i)
	h := &Host{
		Name: name,
		Port: 22,
		Dir:  filepath.Join(f.Dir, name),
	}
	if err := os.Mkdir(h.Dir, 0o700); err != nil {
		return nil, err
	}
	cfg := hostConfig{Name: name, Dir: h.Dir, UserKeys: userKeys, Sudo: sudo, Engine: docker.Engine, Engine29Bin: docker.Engine29Bin}
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
	cfg.IPv4 = inner.IPv4{BIP: h.BIP.String(), PoolBase: h.Pool.String(), PoolSize: PoolSize}
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
	h.IPv4, h.BIP, h.Pool = hostIPv4(k)
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

// closeTimeout bounds Close: dockerd's stop (SIGKILL after
// inner.StopTimeout) plus the bus.
const closeTimeout = inner.StopTimeout + 15*time.Second

// PID is the host's PID 1 as the workstation sees it.
func (h *Host) PID() int { return h.cmd.Process.Pid }

// Path is a path of the host's file system as the workstation can read it
// (through /proc/PID/root).
func (h *Host) Path(p string) string {
	return filepath.Join("/proc", strconv.Itoa(h.PID()), "root", p)
}

// Command runs a command on the host as root: in all of the host's
// namespaces (nsenter), with HostEnv (nothing of the workstation's
// environment), so that `docker` finds the host's /run/docker.sock and
// `busctl --system` its bus, as for a root shell over SSH. If ctx ends
// first, the command's process group is killed.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, "nsenter", append([]string{"--target", strconv.Itoa(h.PID()), "--all", "--", name}, args...)...)
	c.Env = append([]string(nil), HostEnv...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	return c
}

// Exec runs Command and returns its output (stdout and stderr); the error
// quotes the output.
func (h *Host) Exec(ctx context.Context, name string, args ...string) (string, error) {
	out, err := h.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %s %s: %w: %s", h.Name, name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// DockerHost is DOCKER_HOST for the host's dockerd from the workstation:
// its socket through /proc/PID/root (for a Docker client in the test; a
// command on the host finds /run/docker.sock by itself).
func (h *Host) DockerHost() string { return "unix://" + h.DockerSocket() }

// DockerSocket is the host's /run/docker.sock as the workstation reaches it.
func (h *Host) DockerSocket() string { return h.Path(sandbox.DockerSocket) }

// BusAddress is the host's system bus as the workstation reaches it (for
// DBUS_SYSTEM_BUS_ADDRESS or dbus.Dial in a test).
func (h *Host) BusAddress() string { return "unix:path=" + h.Path(sandbox.BusSocket) }

// DaemonJSON is the host's /etc/docker/daemon.json as the workstation
// reads and writes it.
func (h *Host) DaemonJSON() string { return h.Path(sandbox.DaemonJSONPath()) }

// DockerdLog is the host's docker.service log (what `journalctl -u
// docker.service` prints on the host).
func (h *Host) DockerdLog() string { return h.Path(inner.DockerdLog) }

// SetFakeUnit makes the host's fake systemd report unit (e.g.
// "ufw.service") with the given ActiveState; "" removes it (see
// sandbox.SetFakeUnit).
func (h *Host) SetFakeUnit(unit, activeState string) error {
	if unit == sandbox.DockerUnit {
		return fmt.Errorf("%s is the host's real dockerd and cannot be faked", unit)
	}
	return fakesystemd.SetFakeUnit(h.Path(sandbox.FakeUnitsFile()), unit, activeState)
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

// DockerdPID is the PID (as the workstation sees it) of the host's
// dockerd; 0 when none runs.
func (h *Host) DockerdPID() (int, error) {
	ps, err := h.Processes()
	if err != nil {
		return 0, err
	}
	for _, p := range ps {
		if p.Comm == "dockerd" {
			return p.PID, nil
		}
	}
	return 0, nil
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

// Close stops every host: closing PID 1's control pipe makes it stop
// docker.service (a stop job: dockerd ends cleanly, its mounts with it) and
// exit, and the kernel kills everything left in its PID namespace; the
// namespaces and the veth pairs go with it. Hosts stop in parallel.
func (f *Fleet) Close() error {
	var errs []error
	for _, h := range f.Hosts {
		h.ctl.Close()
	}
	end := time.Now().Add(closeTimeout)
	for _, h := range f.Hosts {
		select {
		case <-h.exited:
		case <-time.After(time.Until(end)):
			_ = h.cmd.Process.Kill()
			<-h.exited
			errs = append(errs, fmt.Errorf("%s: PID 1 did not exit within %s; killed", h.Name, closeTimeout))
		}
	}
	if f.Dir != "" {
		if err := os.RemoveAll(f.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// WorkstationCommand runs a command on the workstation as a provider that
// manages the fleet over SSH runs there: in the sandbox's network namespace
// (it reaches the hosts), but in a fresh mount namespace where /run (and
// /var/run unless it is a symlink, as on Debian) is an empty tmpfs, so there is no
// Docker socket and no system bus, and with WorkstationEnv (no DOCKER_HOST,
// no DBUS_SYSTEM_BUS_ADDRESS). Everything else is the sandbox's: /tmp,
// HOME, the working directory, the rest of the environment. The test binary
// re-executes itself (MaybeRunHost in TestMain) to mount, then execs the
// command, so the Cmd's process is the command itself. Set Env to change
// the environment (WorkstationEnv is applied to it); do not set
// SysProcAttr.Cloneflags.
func WorkstationCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, "/proc/self/exe")
	c.Args = append([]string{workstationArg0, name}, args...)
	c.Env = WorkstationEnv(os.Environ())
	c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS}
	return c
}

// WorkstationEnv is env without the variables that point at the sandbox's
// dockerd and bus (DOCKER_HOST and the other Docker client settings,
// DBUS_SYSTEM_BUS_ADDRESS) and without the sandbox's journalctl stand-in
// directory on PATH.
func WorkstationEnv(env []string) []string {
	drop := map[string]bool{"DOCKER_HOST": true, "DOCKER_CONTEXT": true, "DOCKER_TLS_VERIFY": true,
		"DOCKER_CERT_PATH": true, "DBUS_SYSTEM_BUS_ADDRESS": true}
	var out []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if drop[k] {
			continue
		}
		if k == "PATH" {
			var dirs []string
			for _, d := range filepath.SplitList(v) {
				if d != sandbox.BinDir {
					dirs = append(dirs, d)
				}
			}
			kv = "PATH=" + strings.Join(dirs, string(filepath.ListSeparator))
		}
		out = append(out, kv)
	}
	return out
}
