// Package nspawn is the sandbox's real-systemd tier: Debian's systemd runs as
// PID 1 of a systemd-nspawn container that boots this machine's own root tree
// (with --volatile=overlay, so the container has exactly the installed
// packages and every write goes to a throwaway tmpfs), runs Debian's own
// docker.service and docker.socket, and the command runs inside it with
// nsenter. See ../README.md ("The real-systemd tier") and
// the README's "How it boots", which says why each step is needed.
//
// Run must be called in a private mount namespace of its own (the command
// re-executes itself with CLONE_NEWNS for that): it bind-mounts / and mounts
// a tmpfs on /run/systemd there, and those mounts must never reach the host.
package nspawn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/internal/inner"
)

// ExitSetup is the exit code when the tier itself fails (not the command).
const ExitSetup = 125

// Timeouts.
const (
	BootTimeout     = 120 * time.Second // nspawn start to `docker info` answering
	PoweroffTimeout = 60 * time.Second  // poweroff to nspawn exiting, then SIGKILL
)

// ScratchParent holds the per-run scratch directories. It must be on a disk
// file system (overlay2 does not run on tmpfs or overlayfs): /var/tmp, not /tmp.
const ScratchParent = "/var/tmp"

// scratchPrefix names the scratch directories; a stale one (its owner gone,
// its lock free) is removed by the next run.
const scratchPrefix = "dockeripv6-nspawn."

// Config says what to boot and run.
type Config struct {
	Engine string // "20" or "29"; with Root, the root's docker.io major version (RootEngine)
	// Root is a root tree to boot instead of this machine's own (for
	// example a Debian 13 root, .ci/debian13-root.sh); "" boots /. It runs
	// its own docker.io and docker.service unchanged; this machine's
	// /usr/local (Go, terraform) and Go caches are bound into it so the
	// command can run there (ToolBinds).
	Root        string
	Engine29Bin string   // directory with dockerd, docker-proxy, runc (engine 29)
	Command     []string // the command and its arguments
	Dir         string   // working directory of the command (inside the container: the same path)
	Env         []string // the caller's environment (the command gets it, adjusted)
	Stdin       io.Reader
	Stdout      io.Writer
	Stderr      io.Writer
}

// DockerdPath is the daemon binary docker.service runs for an engine: the
// fast tier's.
func DockerdPath(cfg Config) string { return inner.DockerdPath(cfg.inner()) }

// DaemonJSON is the daemon.json seeded before boot: the fast tier's (IPv4 only
// from the benchmark range 198.18.0.0/15, plus the engine-29 proxy and runtime).
func DaemonJSON(cfg Config) ([]byte, error) { return inner.DaemonJSON(cfg.inner()) }

func (cfg Config) inner() inner.Config {
	return inner.Config{Engine: cfg.Engine, Engine29Bin: cfg.Engine29Bin, Command: cfg.Command}
}

// DropIn is the docker.service drop-in for engine 29: the same unit (socket
// activation with -H fd://, Debian's containerd.service, $DOCKER_OPTS from
// /etc/default/docker), another dockerd.
// Engine 20 runs Debian's unit unchanged (nil).
func DropIn(cfg Config) []byte {
	if cfg.Engine != "29" {
		return nil
	}
	return []byte(`# dockeripv6-sandbox --systemd real --engine 29: Debian's docker.service and
# docker.socket, with the Docker 29 engine instead of /usr/sbin/dockerd.
[Service]
ExecStart=
ExecStart=` + DockerdPath(cfg) + ` -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS
Environment=PATH=` + cfg.Engine29Bin + `:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
`)
}

// keepUnits are the enabled units the tier needs; every other unit enabled in
// the host tree's /etc/systemd/system/*.wants is masked on the kernel command
// line, plus the console getty nspawn would start.
var keepUnits = map[string]bool{
	"docker.service": true, "docker.socket": true, "containerd.service": true,
	"dbus.service": true, "dbus.socket": true,
	"systemd-journald.service": true, "systemd-journald.socket": true,
	"remote-fs.target": true, "machines.target": true,
}

// MaskedUnits lists the units to mask: enabled in root's /etc/systemd/system
// but not needed by the tier.
func MaskedUnits(root string) []string {
	// systemd-modules-load cannot load modules in a container (Debian 13's fails).
	set := map[string]bool{"console-getty.service": true, "getty@tty1.service": true, "systemd-modules-load.service": true}
	dirs, _ := filepath.Glob(filepath.Join(root, "etc/systemd/system/*.wants"))
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if !keepUnits[e.Name()] {
				set[e.Name()] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for u := range set {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// run is one boot: its scratch directory, cgroups and processes.
type run struct {
	cfg     Config
	scratch string
	lock    *os.File
	cgroups []cgroup
	nspawn  *exec.Cmd
	exited  chan struct{} // closed when nspawn has exited
	pid1    int
	stderr  io.Writer
}

func (r *run) logf(format string, a ...any) {
	fmt.Fprintf(r.stderr, "dockeripv6-sandbox: "+format+"\n", a...)
}

// Run boots the container, runs the command in it, powers it off and cleans
// up; it returns the command's exit code (128+N if it died of signal N), 127
// if it could not be started, ExitSetup if the tier failed.
func Run(cfg Config) int {
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	r := &run{cfg: cfg, stderr: cfg.Stderr}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(sigs)

	code := ExitSetup
	if err := r.setup(); err != nil {
		r.logf("set-up: %v", err)
	} else if err := r.boot(sigs); err != nil {
		r.logf("boot: %v", err)
		r.consoleTail(40)
	} else {
		code = r.runCommand(sigs)
	}
	if err := r.teardown(); err != nil {
		r.logf("teardown: %v", err)
		if code == 0 {
			code = ExitSetup
		}
	}
	return code
}

// setup makes the scratch directory, the bind mount of /, the private
// /run/systemd, the seeded /etc/docker and the cgroups, and moves this
// process into them.
func (r *run) setup() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate (is this a private mount namespace?): %w", err)
	}
	sweepStale(r.stderr)
	var st unix.Statfs_t
	if err := unix.Statfs(ScratchParent, &st); err != nil {
		return err
	}
	if st.Type == unix.TMPFS_MAGIC || st.Type == unix.OVERLAYFS_SUPER_MAGIC {
		return fmt.Errorf("%s is tmpfs or overlayfs; Docker's overlay2 needs a disk file system for /var/lib/docker", ScratchParent)
	}
	dir, err := os.MkdirTemp(ScratchParent, scratchPrefix)
	if err != nil {
		return err
	}
	r.scratch = dir
	// The lock says "in use" to other runs' sweeps; held until teardown ends.
	if r.lock, err = os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return err
	}
	if err := unix.Flock(int(r.lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return err
	}
	for _, d := range []string{"root", "var-lib-docker", "var-lib-containerd", "etc-docker", "docker.service.d"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	dj, err := DaemonJSON(r.cfg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "etc-docker", "daemon.json"), dj, 0o644); err != nil {
		return err
	}
	if d := DropIn(r.cfg); d != nil {
		if err := os.WriteFile(filepath.Join(dir, "docker.service.d", "dockeripv6-engine29.conf"), d, 0o644); err != nil {
			return err
		}
	}
	// Non-recursive: the container sees the root file system only, not
	// /proc, /sys, /dev or anything mounted below /.
	if err := unix.Mount(r.cfg.tree(), r.root(), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s to %s: %w", r.cfg.tree(), r.root(), err)
	}
	// nspawn keeps its state in /run/systemd, which is not a tmpfs on the host.
	if err := os.MkdirAll("/run/systemd", 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", "/run/systemd", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
		return fmt.Errorf("tmpfs on /run/systemd: %w", err)
	}
	cgs, err := makeCgroups("dockeripv6-nspawn-" + strconv.Itoa(os.Getpid()))
	r.cgroups = cgs
	return err
}

func (r *run) root() string { return filepath.Join(r.scratch, "root") }

// tree is the root tree booted: Root, or this machine's /.
func (cfg Config) tree() string {
	if cfg.Root != "" {
		return cfg.Root
	}
	return "/"
}

// ToolBinds are the nspawn options that bring this machine's tools into a
// root other than its own: /usr/local (Go, terraform) read-only, and Go's
// module and build caches (GOMODCACHE, GOCACHE, or their defaults under
// $HOME) read-write, each at its own path. None for this machine's own root.
func ToolBinds(cfg Config, env []string) []string {
	if cfg.Root == "" {
		return nil
	}
	get := func(k string) string {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	home := get("HOME")
	if home == "" {
		home = "/root"
	}
	modcache, gocache := get("GOMODCACHE"), get("GOCACHE")
	if modcache == "" {
		gopath := get("GOPATH")
		if gopath == "" {
			gopath = filepath.Join(home, "go")
		}
		modcache = filepath.Join(strings.Split(gopath, ":")[0], "pkg", "mod")
	}
	if gocache == "" {
		gocache = filepath.Join(home, ".cache", "go-build")
	}
	binds := []string{"--bind-ro=/usr/local"}
	for _, d := range []string{modcache, gocache} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			binds = append(binds, "--bind="+d)
		}
	}
	return binds
}

// RootEngine is the major version of the docker.io package installed in
// root ("26" for Debian 13's 26.1.5+dfsg1-9), from its dpkg status file:
// root's binaries are not run on this machine, whose C library may be older.
func RootEngine(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		return "", fmt.Errorf("%s is not a Debian root tree: %w", root, err)
	}
	for _, para := range strings.Split(string(b), "\n\n") {
		if !strings.Contains("\n"+para+"\n", "\nPackage: docker.io\n") {
			continue
		}
		for _, line := range strings.Split(para, "\n") {
			if v, ok := strings.CutPrefix(line, "Version: "); ok {
				if i := strings.IndexByte(v, ':'); i >= 0 {
					v = v[i+1:] // epoch
				}
				major, _, _ := strings.Cut(v, ".")
				if _, err := strconv.Atoi(major); err != nil {
					return "", fmt.Errorf("%s: docker.io version %q", root, v)
				}
				return major, nil
			}
		}
	}
	return "", fmt.Errorf("%s has no docker.io package installed", root)
}

// Machine is the container's machine name (and host name).
const Machine = "dockeripv6-systemd"

// NspawnArgs are systemd-nspawn's arguments for a boot of root. Each of dirs
// (the command's working directory) is bound at its own path: nspawn mounts a
// tmpfs of its own on /tmp, so a checkout under /tmp would not be there.
func NspawnArgs(scratch, root string, masked []string, engine29 bool, dirs ...string) []string {
	args := []string{
		"--directory=" + root,
		"--machine=" + Machine,
		"--volatile=overlay",
		"--register=no", "--keep-unit",
		"--private-network",
		"--capability=all",
		"--console=read-only",
		"--bind=" + filepath.Join(scratch, "var-lib-docker") + ":/var/lib/docker",
		"--bind=" + filepath.Join(scratch, "var-lib-containerd") + ":/var/lib/containerd",
		"--bind=" + filepath.Join(scratch, "etc-docker") + ":/etc/docker",
	}
	if engine29 {
		args = append(args, "--bind-ro="+filepath.Join(scratch, "docker.service.d")+":/etc/systemd/system/docker.service.d")
	}
	for _, d := range dirs {
		if d = filepath.Clean(d); filepath.IsAbs(d) && d != "/" {
			args = append(args, "--bind="+d)
		}
	}
	args = append(args, "--boot", "--")
	for _, u := range masked {
		args = append(args, "systemd.mask="+u)
	}
	return args
}

// boot starts nspawn and waits until the container's dockerd answers.
func (r *run) boot(sigs <-chan os.Signal) error {
	bin, err := exec.LookPath("systemd-nspawn")
	if err != nil {
		return fmt.Errorf("systemd-nspawn not found (Debian package systemd-container): %w", err)
	}
	console, err := os.Create(filepath.Join(r.scratch, "console.log"))
	if err != nil {
		return err
	}
	defer console.Close()
	args := append(ToolBinds(r.cfg, r.cfg.Env), NspawnArgs(r.scratch, r.root(), MaskedUnits(r.cfg.tree()), r.cfg.Engine == "29", r.cfg.Dir)...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cleanEnv(os.Environ()), "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1")
	cmd.Stdout, cmd.Stderr = console, console
	// If this process dies, nspawn gets SIGTERM, which powers the container off.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: unix.SIGTERM}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	r.nspawn = cmd
	r.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(r.exited) }()

	ctx, cancel := context.WithTimeout(context.Background(), BootTimeout)
	defer cancel()
	abort := func() error {
		select {
		case <-r.exited:
			return fmt.Errorf("systemd-nspawn exited (%v)", cmd.ProcessState)
		case s := <-sigs:
			return fmt.Errorf("%v during boot", s)
		case <-ctx.Done():
			return fmt.Errorf("not ready within %s", BootTimeout)
		case <-time.After(100 * time.Millisecond):
			return nil
		}
	}
	for r.pid1 == 0 {
		r.pid1 = childNamed(cmd.Process.Pid, "systemd")
		if r.pid1 == 0 {
			if err := abort(); err != nil {
				return fmt.Errorf("waiting for the container's PID 1: %w", err)
			}
		}
	}
	for {
		out, err := r.inside(ctx, "docker", "info", "--format", "{{.ServerVersion}}")
		if err == nil && strings.TrimSpace(out) != "" {
			break
		}
		if err := abort(); err != nil {
			st, _ := r.inside(context.Background(), "systemctl", "status", "--no-pager", "-n", "20", "docker.service", "docker.socket", "containerd.service")
			return fmt.Errorf("waiting for `docker info`: %w\n%s", err, st)
		}
	}
	// Let the boot finish so tests start from a settled manager.
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	state, _ := r.inside(wctx, "systemctl", "is-system-running", "--wait")
	wcancel()
	if s := strings.TrimSpace(state); s != "running" {
		failed, _ := r.inside(context.Background(), "systemctl", "--failed", "--no-pager", "--no-legend")
		r.logf("warning: the container's system state is %q; failed units:\n%s", s, failed)
	}
	if _, err := r.inside(ctx, "mkdir", "-p", sandbox.StateDir); err != nil {
		return err
	}
	r.logf("systemd booted %s in %s (container PID 1 is %d, engine %s)", r.cfg.tree(), time.Since(start).Round(10*time.Millisecond), r.pid1, r.cfg.Engine)
	return nil
}

// nsenterArgs enter every namespace of the container's PID 1, its root and
// working directory (/).
func (r *run) nsenterArgs() []string {
	return []string{"-t", strconv.Itoa(r.pid1), "-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w"}
}

// inDir wraps argv to run in dir inside the container. (nsenter's --wd=DIR
// opens DIR before it enters the mount namespace, so the command would run
// in the host's DIR, outside the container's root.)
func inDir(dir string, argv []string) []string {
	if dir == "" {
		return argv
	}
	return append([]string{"/bin/sh", "-c", `cd "$0" && exec "$@"`, dir}, argv...)
}

// inside runs a short command in the container and returns its output.
func (r *run) inside(ctx context.Context, argv ...string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, "nsenter", append(append(r.nsenterArgs(), "--"), argv...)...)
	cmd.Env = append(cleanEnv(os.Environ()), "DOCKER_HOST="+sandbox.DockerHost, "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// cleanEnv drops what must not leak into the container or nspawn.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH",
			"DBUS_SYSTEM_BUS_ADDRESS", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "NOTIFY_SOCKET",
			"SYSTEMD_NSPAWN_UNIFIED_HIERARCHY",
			sandbox.EnvSandbox, sandbox.EnvEngine, sandbox.EnvDockerd, sandbox.EnvSystemd, sandbox.EnvFakeUnits:
			continue
		}
		out = append(out, kv)
	}
	return out
}

// CommandEnv is the command's environment: the caller's, with the tier's
// variables and Docker and D-Bus pointed at the container's.
func CommandEnv(base []string, cfg Config) []string {
	return append(cleanEnv(base),
		sandbox.EnvSandbox+"=1",
		sandbox.EnvSystemd+"="+sandbox.SystemdReal,
		sandbox.EnvEngine+"="+cfg.Engine,
		sandbox.EnvDockerd+"="+DockerdPath(cfg),
		"DOCKER_HOST="+sandbox.DockerHost,
		"DBUS_SYSTEM_BUS_ADDRESS="+sandbox.BusAddress,
	)
}

// runCommand runs the command in the container with the terminal's stdio
// and forwards signals to it (its process group); a command still alive 15s
// after the first signal is killed.
func (r *run) runCommand(sigs <-chan os.Signal) int {
	argv := append(append(r.nsenterArgs(), "--"), inDir(r.cfg.Dir, r.cfg.Command)...)
	cmd := exec.Command("nsenter", argv...)
	cmd.Env = CommandEnv(r.cfg.Env, r.cfg)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r.cfg.Stdin, r.cfg.Stdout, r.cfg.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.logf("run %s: %v", r.cfg.Command[0], err)
		return 127
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
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
			_ = unix.Kill(-cmd.Process.Pid, s.(syscall.Signal))
			if kill == nil {
				kill = time.After(15 * time.Second)
			}
		case <-kill:
			r.logf("command still running 15s after a signal; killing it")
			_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
		case <-r.exited:
			r.logf("the container stopped while the command ran")
			r.consoleTail(20)
			_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
			<-done
			return ExitSetup
		}
	}
}

// teardown powers the container off and removes every mount, cgroup and
// scratch directory this run made, whatever state it is in.
func (r *run) teardown() error {
	var errs []error
	if r.nspawn != nil {
		select {
		case <-r.exited:
		default:
			if r.pid1 != 0 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if out, err := r.inside(ctx, "systemctl", "poweroff", "--no-block"); err != nil {
					r.logf("systemctl poweroff: %v: %s", err, strings.TrimSpace(out))
					_ = r.nspawn.Process.Signal(unix.SIGTERM)
				}
				cancel()
			} else {
				_ = r.nspawn.Process.Signal(unix.SIGTERM)
			}
			select {
			case <-r.exited:
			case <-time.After(PoweroffTimeout):
				errs = append(errs, fmt.Errorf("the container did not power off within %s; killed", PoweroffTimeout))
				_ = unix.Kill(-r.nspawn.Process.Pid, unix.SIGKILL)
				<-r.exited
			}
		}
	}
	// Anything left in our cgroups (the container's processes, if nspawn
	// was killed) is killed before the cgroups go.
	if err := removeCgroups(r.cgroups); err != nil {
		errs = append(errs, err)
	}
	if r.scratch != "" {
		if err := removeScratch(r.scratch); err != nil {
			errs = append(errs, err)
		}
	}
	if err := unix.Unmount("/run/systemd", unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		errs = append(errs, fmt.Errorf("unmount /run/systemd: %w", err))
	}
	if r.lock != nil {
		r.lock.Close()
	}
	return errors.Join(errs...)
}

// removeScratch unmounts dir/root and removes dir. dir/root is a bind mount
// of the whole root file system while mounted, so it is only ever rmdir'ed,
// never removed recursively, and nothing is removed while anything below dir
// is still a mount point.
func removeScratch(dir string) error {
	root := filepath.Join(dir, "root")
	if err := unix.Unmount(root, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", root, err)
	}
	if mps := mountsBelow(dir); len(mps) > 0 {
		return fmt.Errorf("not removing %s: still mounted below it: %s", dir, strings.Join(mps, ", "))
	}
	if err := os.Remove(root); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s (must be an empty mount point): %w", root, err)
	}
	var errs []error
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// mountsBelow lists the mount points at or below dir in this mount namespace.
func mountsBelow(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []string{"(cannot read /proc/self/mountinfo: " + err.Error() + ")"}
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// sweepStale cleans up after earlier runs that died without doing it: first
// their cgroups (whose owner process is gone), killing what is left in them
// (a container whose nspawn outlived its owner), then their scratch
// directories (whose lock no process holds).
func sweepStale(w io.Writer) {
	sweepStaleCgroups(w)
	dirs, _ := filepath.Glob(filepath.Join(ScratchParent, scratchPrefix+"*"))
	for _, d := range dirs {
		f, err := os.Open(filepath.Join(d, "lock"))
		if err != nil {
			continue // being created, or not ours
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			f.Close()
			continue // in use
		}
		if err := removeScratch(d); err != nil {
			fmt.Fprintf(w, "dockeripv6-sandbox: stale %s: %v\n", d, err)
		} else {
			fmt.Fprintf(w, "dockeripv6-sandbox: removed stale %s\n", d)
		}
		f.Close()
	}
}

// childNamed returns the PID of a child of parent whose comm is name, or 0.
func childNamed(parent int, name string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		j := strings.IndexByte(s, '(')
		if i < 0 || j < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || s[j+1:i] != name {
			continue
		}
		if pp, _ := strconv.Atoi(f[1]); pp == parent {
			return pid
		}
	}
	return 0
}

// consoleTail prints the last n lines of the container's console.
func (r *run) consoleTail(n int) {
	b, err := os.ReadFile(filepath.Join(r.scratch, "console.log"))
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	r.logf("last lines of the container's console:")
	for _, l := range lines {
		fmt.Fprintln(r.stderr, "  "+l)
	}
}
