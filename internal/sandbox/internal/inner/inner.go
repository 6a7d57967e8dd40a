// Package inner is the sandbox's PID 1: it runs inside fresh mount, network
// and PID namespaces (created by cmd/dockeripv6-sandbox), prepares the
// private host (mounts, lo, daemon.json, a private D-Bus with the fake
// systemd manager, dockerd), runs the command and tears down.
//
// Because it is PID 1 of its PID namespace, the kernel kills every process
// left in the namespace when it exits, and the namespaces (with their
// interfaces, mounts and netns bind mounts) go with them.
package inner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/fakesystemd"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/internal/reaper"
)

// ExitSetup is the exit code when the sandbox itself fails (not the command).
const ExitSetup = 125

// Timeouts of docker.service.
const (
	FirstStartTimeout = 90 * time.Second // first start of dockerd
	StartTimeout      = 60 * time.Second // later starts (restart jobs)
	StopTimeout       = 30 * time.Second // SIGTERM before SIGKILL
)

// Config says what to run.
type Config struct {
	Engine      string   // "20" or "29"
	Engine29Bin string   // directory with dockerd, docker-proxy, runc (engine 29)
	Command     []string // the command and its arguments (the sandbox's PID 1 only)
	// IPv4 is dockerd's IPv4; the zero value means SandboxIPv4. Fleet hosts
	// (package fleet) give each host's dockerd its own.
	IPv4 IPv4
}

// IPv4 is what a dockerd gets of IPv4: the default bridge's address (bip)
// and the pool user-defined networks take their subnets from.
type IPv4 struct {
	BIP      string // e.g. "198.18.0.1/24"
	PoolBase string // e.g. "198.18.64.0/18"
	PoolSize int    // prefix length of each network taken from PoolBase
}

// SandboxIPv4 is the sandbox's own dockerd's IPv4, from the benchmark
// range 198.18.0.0/15 (fleet hosts use 198.19.128.0/17).
var SandboxIPv4 = IPv4{BIP: "198.18.0.1/24", PoolBase: "198.18.64.0/18", PoolSize: 24}

// DockerdLog is where docker.service's output goes (the journalctl
// stand-in's "journal"); sandbox.DockerdLog() in the fast tier.
const DockerdLog = sandbox.StateDir + "/dockerd.log"

// Engine20Dockerd is Debian's docker.io daemon.
const Engine20Dockerd = "/usr/sbin/dockerd"

// DaemonJSON is the daemon.json of a dockerd the sandbox runs: IPv4 only
// (cfg.IPv4, by default SandboxIPv4 from the benchmark range
// 198.18.0.0/15), no IPv6, plus the engine-29 proxy and runtime.
func DaemonJSON(cfg Config) ([]byte, error) {
	type pool struct {
		Base string `json:"base"`
		Size int    `json:"size"`
	}
	v4 := cfg.IPv4
	if v4 == (IPv4{}) {
		v4 = SandboxIPv4
	}
	m := map[string]any{
		"bip":                   v4.BIP,
		"default-address-pools": []pool{{Base: v4.PoolBase, Size: v4.PoolSize}},
	}
	if cfg.Engine == "29" {
		m["userland-proxy-path"] = filepath.Join(cfg.Engine29Bin, "docker-proxy")
		m["runtimes"] = map[string]any{"runc12": map[string]string{"path": filepath.Join(cfg.Engine29Bin, "runc")}}
		m["default-runtime"] = "runc12"
	}
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

// DockerdArgs are dockerd's flags: paths only; every setting lives in daemon.json.
func DockerdArgs() []string {
	return []string{
		"--config-file", sandbox.DaemonJSONPath(),
		"--host", sandbox.DockerHost,
		"--data-root", "/var/lib/docker",
		"--exec-root", "/run/docker",
		"--pidfile", sandbox.DockerPIDFile,
	}
}

// DockerdPath is the daemon binary of an engine.
func DockerdPath(cfg Config) string {
	if cfg.Engine == "29" {
		return filepath.Join(cfg.Engine29Bin, "dockerd")
	}
	return Engine20Dockerd
}

const dbusConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- dockeripv6-sandbox private system bus: only root connects, root may do anything. -->
<busconfig>
  <type>system</type>
  <listen>unix:path=` + sandbox.BusSocket + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`

// journalctlScript stands in for `journalctl -u docker.service -n N
// --no-pager -o cat`: it prints the tail of the dockerd log.
const journalctlScript = `#!/bin/sh
# dockeripv6-sandbox stand-in for journalctl: the sandbox has no journal; the
# docker.service "journal" is ` + "`" + sandbox.StateDir + `/dockerd.log` + "`" + `.
# Supports: -u/--unit UNIT, -n/--lines N|all, --no-pager, -o/--output FORMAT, -q.
log=` + sandbox.StateDir + `/dockerd.log
n=10
unit=
while [ $# -gt 0 ]; do
  case "$1" in
    -u|--unit) unit=$2; shift 2 ;;
    --unit=*) unit=${1#--unit=}; shift ;;
    -u*) unit=${1#-u}; shift ;;
    -n|--lines) n=$2; shift 2 ;;
    --lines=*) n=${1#--lines=}; shift ;;
    -n*) n=${1#-n}; shift ;;
    -o|--output) shift 2 ;;
    --output=*|-o*) shift ;;
    --no-pager|-q|--quiet|--no-hostname) shift ;;
    *) echo "journalctl (dockeripv6-sandbox stand-in): unsupported argument: $1" >&2; exit 1 ;;
  esac
done
case "$unit" in
  docker|docker.service) ;;
  *) echo "-- No entries --"; exit 0 ;;
esac
[ -f "$log" ] || { echo "-- No entries --"; exit 0; }
if [ "$n" = all ]; then exec cat "$log"; fi
exec tail -n "$n" "$log"
`

func fail(what string, err error) int {
	fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: %s: %v\n", what, err)
	return ExitSetup
}

// Run is the whole life of the sandbox's PID 1; it returns the exit code.
func Run(cfg Config) int {
	if err := setupMounts(); err != nil {
		return fail("mounts", err)
	}
	if err := setupLoopback(); err != nil {
		return fail("loopback", err)
	}
	if err := WriteFiles(cfg); err != nil {
		return fail("files", err)
	}
	if err := seedFakeUnits(); err != nil {
		return fail("files", err)
	}

	stopReaper := make(chan struct{})
	go reaper.Run(stopReaper)
	defer close(stopReaper)

	// Signals: before the command runs they abort the start-up; afterwards
	// they are forwarded to the command.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(sigs)

	d, err := NewDaemon(cfg)
	if err != nil {
		return fail("docker.service", err)
	}
	defer d.Close()

	// First start of dockerd, abortable by a signal.
	started := make(chan string, 1)
	go func() { started <- d.FirstStart() }()
	select {
	case result := <-started:
		if result != fakesystemd.JobDone {
			fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: dockerd (%s) did not start (job %s); last lines of %s:\n", DockerdPath(cfg), result, DockerdLog)
			printTail(os.Stderr, DockerdLog, 40)
			d.StopDocker()
			return ExitSetup
		}
	case s := <-sigs:
		fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: %v during start-up, tearing down\n", s)
		d.Manager.Close()
		<-started
		d.StopDocker()
		return 128 + int(s.(syscall.Signal))
	}

	code := runCommand(cfg, sigs)
	d.StopDocker()
	return code
}

// Daemon is a private D-Bus system bus (dbus-daemon on sandbox.BusSocket)
// with the fake systemd manager exporting docker.service, which runs
// dockerd (DockerdPath, DockerdArgs). The sandbox's PID 1 runs one; so does
// each fleet host's PID 1 (package fleet), in its own mount namespace. The
// files it needs (WriteFiles) must be there, and the calling process must
// reap orphans (package reaper).
type Daemon struct {
	Manager *fakesystemd.Manager
	Service *fakesystemd.ProcessService
	bus     *busDaemon
	conn    *dbus.Conn
}

// NewDaemon starts the bus and exports the manager; docker.service is not
// started yet (FirstStart).
func NewDaemon(cfg Config) (*Daemon, error) {
	bus, err := startBus()
	if err != nil {
		return nil, fmt.Errorf("dbus-daemon: %w", err)
	}
	conn, err := connectBus()
	if err != nil {
		bus.stop()
		return nil, fmt.Errorf("connect to the private bus: %w", err)
	}
	d := &Daemon{bus: bus, conn: conn}
	d.Service = fakesystemd.NewProcessService(fakesystemd.ProcessConfig{
		Unit:         sandbox.DockerUnit,
		Description:  "Docker Application Container Engine",
		Path:         DockerdPath(cfg),
		Args:         DockerdArgs(),
		Env:          []string{"PATH=" + SecurePath},
		LogPath:      DockerdLog,
		Ready:        func(ctx context.Context) error { return sandbox.WaitDocker(ctx, sandbox.DockerSocket) },
		StartTimeout: FirstStartTimeout,
		StopTimeout:  StopTimeout,
		StartProcess: reaper.Start,
		WaitProcess:  reaper.Wait,
		OnChange: func(fakesystemd.Status) {
			if d.Manager != nil {
				d.Manager.UnitChanged(sandbox.DockerUnit)
			}
		},
	})
	d.Manager, err = fakesystemd.Export(conn, fakesystemd.Options{
		Services:      map[string]fakesystemd.Service{sandbox.DockerUnit: d.Service},
		FakeUnitsFile: sandbox.FakeUnitsFile(),
	})
	if err != nil {
		conn.Close()
		bus.stop()
		return nil, fmt.Errorf("fake systemd manager: %w", err)
	}
	return d, nil
}

// FirstStart runs the first start job of docker.service (FirstStartTimeout)
// and returns its result; once done, later starts get StartTimeout.
func (d *Daemon) FirstStart() string {
	r := d.Manager.RunJob(sandbox.DockerUnit, "start")
	if r == fakesystemd.JobDone {
		d.Service.SetStartTimeout(StartTimeout)
	}
	return r
}

// StopDocker runs a stop job on docker.service (SIGTERM, SIGKILL after
// StopTimeout) and reports a result other than done on stderr.
func (d *Daemon) StopDocker() string {
	r := d.Manager.RunJob(sandbox.DockerUnit, "stop")
	if r != fakesystemd.JobDone {
		fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: stopping dockerd: job %s\n", r)
	}
	return r
}

// Close withdraws the manager and stops the bus (call StopDocker first).
func (d *Daemon) Close() {
	d.Manager.Close()
	d.conn.Close()
	d.bus.stop()
}

// SecurePath is the PATH dockerd runs with (sudo's secure_path on Debian).
const SecurePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// setupMounts makes every mount private, then mounts fresh proc and sysfs
// (keeping the host's cgroup mounts) and tmpfs on /run, /var/lib/docker and
// /etc/docker.
func setupMounts() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	if err := unix.Mount("tmpfs", "/run", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
		return fmt.Errorf("mount tmpfs on /run: %w", err)
	}
	if err := MountSysfs(); err != nil {
		return err
	}
	return MountDockerDirs()
}

// MountSysfs mounts a fresh sysfs on /sys, so that /sys/class/net shows
// this network namespace's devices; the cgroup tree (v1 hybrid on some
// hosts: tmpfs + controllers + unified) is moved over from the old /sys so
// that dockerd can use it. It needs a private, writable /run.
func MountSysfs() error {
	staging := "/run/.sandbox-cgroup"
	if err := os.Mkdir(staging, 0o700); err != nil {
		return err
	}
	if err := unix.Mount("/sys/fs/cgroup", staging, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("rbind /sys/fs/cgroup: %w", err)
	}
	if err := unix.Mount("sysfs", "/sys", "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount sysfs: %w", err)
	}
	if err := unix.Mount(staging, "/sys/fs/cgroup", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move cgroup tree to /sys/fs/cgroup: %w", err)
	}
	return os.Remove(staging)
}

// MountDockerDirs mounts empty tmpfs on /var/lib/docker (dockerd's data
// root: overlay2 and containerd's overlayfs snapshotter need a file system
// that can be an overlay's upper layer, which an overlay is not) and
// /etc/docker.
func MountDockerDirs() error {
	for _, dir := range []string{"/var/lib/docker", "/etc/docker"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
			return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
		}
	}
	return nil
}

func setupLoopback() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(lo)
}

// WriteFiles writes what Daemon needs under sandbox.StateDir and
// /etc/docker: daemon.json, the journalctl stand-in (sandbox.BinDir), the
// bus configuration and an empty dockerd log.
func WriteFiles(cfg Config) error {
	for _, d := range []string{sandbox.StateDir, sandbox.BinDir, "/run/dbus"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	dj, err := DaemonJSON(cfg)
	if err != nil {
		return err
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{sandbox.DaemonJSONPath(), dj, 0o644},
		{JournalctlPath, []byte(journalctlScript), 0o755},
		{filepath.Join(sandbox.StateDir, "dbus.conf"), []byte(dbusConfig), 0o644},
		{DockerdLog, nil, 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// JournalctlPath is the journalctl stand-in WriteFiles writes.
const JournalctlPath = sandbox.BinDir + "/journalctl"

// seedFakeUnits applies sandbox.EnvFakeUnits (the sandbox's only).
func seedFakeUnits() error {
	if seed := os.Getenv(sandbox.EnvFakeUnits); seed != "" {
		for _, kv := range strings.Split(seed, ",") {
			name, state, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok {
				return fmt.Errorf("%s: want NAME=STATE[,NAME=STATE], got %q", sandbox.EnvFakeUnits, kv)
			}
			if err := fakesystemd.SetFakeUnit(sandbox.FakeUnitsFile(), name, state); err != nil {
				return fmt.Errorf("%s: %w", sandbox.EnvFakeUnits, err)
			}
		}
	}
	return nil
}

type busDaemon struct{ cmd *exec.Cmd }

// startBus starts dbus-daemon and waits until it prints its address.
func startBus() (*busDaemon, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	logf, err := os.OpenFile(filepath.Join(sandbox.StateDir, "dbus.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		w.Close()
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command("dbus-daemon", "--nofork", "--nopidfile", "--nosyslog",
		"--config-file="+filepath.Join(sandbox.StateDir, "dbus.conf"), "--print-address=3")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = reaper.Start(cmd)
	w.Close()
	if err != nil {
		return nil, err
	}
	b := &busDaemon{cmd: cmd}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) == "" {
			b.stop()
			return nil, fmt.Errorf("exited without printing its address (see %s/dbus.log)", sandbox.StateDir)
		}
	case <-time.After(15 * time.Second):
		b.stop()
		return nil, errors.New("no address printed within 15s")
	}
	return b, nil
}

func (b *busDaemon) stop() {
	_ = b.cmd.Process.Signal(unix.SIGTERM)
	done := make(chan struct{})
	go func() { _ = reaper.Wait(b.cmd); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
	}
}

func connectBus() (*dbus.Conn, error) {
	conn, err := dbus.Dial(sandbox.BusAddress)
	if err != nil {
		return nil, err
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// CommandEnv is the command's environment: ours, with the sandbox's
// variables, Docker pointed at the private daemon and the journalctl
// stand-in first on PATH.
func CommandEnv(base []string, cfg Config) []string {
	drop := map[string]bool{
		"DOCKER_HOST": true, "DOCKER_CONTEXT": true, "DOCKER_TLS_VERIFY": true, "DOCKER_CERT_PATH": true,
		"DBUS_SYSTEM_BUS_ADDRESS": true, sandbox.EnvSandbox: true, sandbox.EnvEngine: true,
		sandbox.EnvDockerd: true, sandbox.EnvSystemd: true, "PATH": true,
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	var env []string
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" && v != "" {
			path = v
		}
		if !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env,
		sandbox.EnvSandbox+"=1",
		sandbox.EnvSystemd+"="+sandbox.SystemdFake,
		sandbox.EnvEngine+"="+cfg.Engine,
		sandbox.EnvDockerd+"="+DockerdPath(cfg),
		"DOCKER_HOST="+sandbox.DockerHost,
		"DBUS_SYSTEM_BUS_ADDRESS="+sandbox.BusAddress,
		"PATH="+sandbox.BinDir+":"+path,
	)
}

// runCommand runs the command with the terminal's stdio and forwards
// signals to it; a command still alive 15s after the first signal is killed.
func runCommand(cfg Config, sigs <-chan os.Signal) int {
	argv := cfg.Command
	env := CommandEnv(os.Environ(), cfg)
	path := argv[0]
	if !strings.Contains(path, "/") {
		// Look the command up on the command's PATH, not ours.
		for _, kv := range env {
			if p, ok := strings.CutPrefix(kv, "PATH="); ok {
				for _, dir := range filepath.SplitList(p) {
					cand := filepath.Join(dir, path)
					if fi, err := os.Stat(cand); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
						path = cand
						break
					}
				}
			}
		}
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := reaper.Start(cmd); err != nil {
		fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: run %s: %v\n", argv[0], err)
		return 127
	}
	done := make(chan struct{})
	go func() { _ = reaper.Wait(cmd); close(done) }()
	var kill <-chan time.Time
	for {
		select {
		case <-done:
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				return 128 + int(ws.Signal())
			}
			return cmd.ProcessState.ExitCode()
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
			if kill == nil {
				kill = time.After(15 * time.Second)
			}
		case <-kill:
			fmt.Fprintln(os.Stderr, "dockeripv6-sandbox: command still running 15s after a signal; killing it")
			_ = cmd.Process.Kill()
		}
	}
}

// printTail writes the last n lines of file to w.
func printTail(w io.Writer, file string, n int) {
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(w, "  (cannot read: %v)\n", err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
}
