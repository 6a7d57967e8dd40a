package fleet

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/fakesystemd"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/internal/inner"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/internal/reaper"
)

// MaybeRunHost runs a fleet host's PID 1, or the trampoline of
// WorkstationCommand, and exits when this process is one; otherwise it
// returns at once. Call it first thing in TestMain of every test binary
// that starts a fleet or runs WorkstationCommand.
func MaybeRunHost() {
	if len(os.Args) == 0 {
		return
	}
	switch os.Args[0] {
	case hostArg0:
		os.Exit(runHost())
	case workstationArg0:
		os.Exit(runWorkstation(os.Args[1:]))
	}
}

// runHost is PID 1 of a host: it reads its configuration (one JSON line)
// from stdin once the workstation has set up the network, prepares the
// host, starts sshd and docker.service, answers "ok", then serves commands
// until stdin closes; then it stops docker.service and exits.
func runHost() int {
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "fleet host: "+format+"\n", a...) }
	in := bufio.NewReader(os.Stdin)
	reply := func(err error) {
		if err != nil {
			logf("%v", err)
			fmt.Println("error: " + strings.ReplaceAll(err.Error(), "\n", "; "))
			return
		}
		fmt.Println("ok")
	}
	line, err := in.ReadString('\n')
	if err != nil {
		return 1
	}
	var cfg hostConfig
	if err := json.Unmarshal([]byte(line), &cfg); err != nil {
		reply(fmt.Errorf("config: %w", err))
		return 1
	}
	stop := make(chan struct{})
	go reaper.Run(stop)
	defer close(stop)

	if err := setupHost(cfg); err != nil {
		reply(err)
		return 1
	}
	// dockerd (with the bus and the manager) and sshd start side by side;
	// the host is up when both are.
	var d *inner.Daemon
	var dockerErr error
	dockerUp := make(chan struct{})
	go func() {
		d, dockerErr = startDocker(cfg)
		close(dockerUp)
	}()
	defer func() {
		<-dockerUp
		if d != nil {
			d.StopDocker() // before the PID namespace goes: dockerd unmounts and removes what it made
			d.Close()
		}
	}()
	var sshdDone chan struct{}
	start := func() error {
		if sshdDone != nil {
			select {
			case <-sshdDone:
			case <-time.After(5 * time.Second):
				return errors.New("sshd is running")
			}
		}
		c, err := startSSHD(cfg)
		if err != nil {
			return err
		}
		done := make(chan struct{})
		sshdDone = done
		go func() { _ = reaper.Wait(c); close(done) }()
		return waitListen(cfg.Addr, 10*time.Second)
	}
	sshErr := start()
	<-dockerUp
	reply(errors.Join(sshErr, dockerErr))
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return 0 // the workstation closed us: exit, the kernel kills the rest
		}
		switch strings.TrimSpace(line) {
		case "start-sshd":
			reply(start())
		default:
			reply(fmt.Errorf("unknown command %q", strings.TrimSpace(line)))
		}
	}
}

const runDir = "/run/fleet"

func setupHost(cfg hostConfig) error {
	if err := unix.Sethostname([]byte(cfg.Name)); err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	if err := unix.Mount("tmpfs", "/run", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
		return fmt.Errorf("mount tmpfs on /run: %w", err)
	}
	// Private, writable /etc, /var/lib and /usr/local/bin: overlays on the
	// machine's, with the changes in this host's /run.
	for _, d := range []string{"/etc", "/var/lib", "/usr/local/bin"} {
		up := filepath.Join(runDir, "overlay", strings.ReplaceAll(strings.Trim(d, "/"), "/", "-"))
		for _, s := range []string{"upper", "work"} {
			if err := os.MkdirAll(filepath.Join(up, s), 0o755); err != nil {
				return err
			}
		}
		opts := "lowerdir=" + d + ",upperdir=" + up + "/upper,workdir=" + up + "/work"
		if err := unix.Mount("overlay", d, "overlay", 0, opts); err != nil {
			return fmt.Errorf("overlay on %s: %w", d, err)
		}
	}
	// Docker's side, as in the sandbox itself: a sysfs of this network
	// namespace, tmpfs on /var/lib/docker and /etc/docker (over the
	// overlays), daemon.json, the bus configuration and the journalctl
	// stand-in, which a shell over SSH or sudo finds on its PATH in
	// /usr/local/bin (before /usr/bin's real journalctl).
	if err := inner.MountSysfs(); err != nil {
		return err
	}
	if err := inner.MountDockerDirs(); err != nil {
		return err
	}
	if err := inner.WriteFiles(cfg.docker()); err != nil {
		return err
	}
	if err := os.Symlink(inner.JournalctlPath, "/usr/local/bin/journalctl"); err != nil {
		return fmt.Errorf("journalctl stand-in: %w", err)
	}
	for _, d := range []string{"/run/sshd", runDir + "/home"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// Users: passwd, group, shadow ("*": no password, not locked), homes,
	// authorized keys in a root-owned directory.
	var passwd, group, shadow strings.Builder
	for _, u := range []string{UserNoSudo, UserSudo} {
		id := userIDs[u]
		home := filepath.Join(runDir, "home", u)
		fmt.Fprintf(&passwd, "%s:x:%d:%d::%s:/bin/sh\n", u, id, id, home)
		fmt.Fprintf(&group, "%s:x:%d:\n", u, id)
		fmt.Fprintf(&shadow, "%s:*:19000:0:99999:7:::\n", u)
		if err := os.MkdirAll(home, 0o755); err != nil {
			return err
		}
		if err := os.Chown(home, id, id); err != nil {
			return err
		}
	}
	hosts := "127.0.1.1\t" + cfg.Name + "\n" + cfg.Addr + "\t" + cfg.Name + "\n"
	for f, add := range map[string]string{"/etc/hosts": hosts, "/etc/passwd": passwd.String(), "/etc/group": group.String(), "/etc/shadow": shadow.String()} {
		if err := appendFile(f, add); err != nil {
			return err
		}
	}
	keysDir := filepath.Join(runDir, "authorized_keys")
	if err := os.MkdirAll(keysDir, 0o755); err != nil {
		return err
	}
	for u, k := range cfg.UserKeys {
		if err := os.WriteFile(filepath.Join(keysDir, u), []byte(k+"\n"), 0o644); err != nil {
			return err
		}
	}
	if cfg.Sudo {
		if err := os.MkdirAll("/etc/sudoers.d", 0o755); err != nil {
			return err
		}
		if err := os.WriteFile("/etc/sudoers.d/fleet", []byte(UserSudo+" ALL=(ALL:ALL) NOPASSWD: ALL\n"), 0o440); err != nil {
			return err
		}
	}
	var hk strings.Builder
	for _, k := range cfg.HostKeys {
		fmt.Fprintf(&hk, "HostKey %s\n", k)
	}
	conf := "# dockeripv6 fleet host " + cfg.Name + "\n" +
		"ListenAddress [" + cfg.Addr + "]:22\n" +
		hk.String() +
		"PidFile " + runDir + "/sshd.pid\n" +
		"UsePAM no\n" +
		"PubkeyAuthentication yes\n" +
		"PasswordAuthentication no\n" +
		"KbdInteractiveAuthentication no\n" +
		"HostbasedAuthentication no\n" +
		"PermitRootLogin prohibit-password\n" +
		"AuthorizedKeysFile " + keysDir + "/%u\n" +
		"PrintMotd no\n" +
		"UseDNS no\n" +
		"LogLevel VERBOSE\n" +
		"MaxStartups 100\n" +
		"MaxSessions 100\n"
	return os.WriteFile(filepath.Join(runDir, "sshd_config"), []byte(conf), 0o644)
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func startSSHD(cfg hostConfig) (*exec.Cmd, error) {
	c := exec.Command("/usr/sbin/sshd", "-D", "-f", filepath.Join(runDir, "sshd_config"), "-E", filepath.Join(cfg.Dir, "sshd.log"))
	c.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := reaper.Start(c); err != nil {
		return nil, fmt.Errorf("start sshd: %w", err)
	}
	return c, nil
}

func waitListen(addr string, d time.Duration) error {
	end := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "22"), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("sshd does not listen on [%s]:22 after %s: %w", addr, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// docker is the configuration of the host's dockerd.
func (cfg hostConfig) docker() inner.Config {
	return inner.Config{Engine: cfg.Engine, Engine29Bin: cfg.Engine29Bin, IPv4: cfg.IPv4}
}

// startDocker starts the host's system bus, the fake systemd manager and
// docker.service (dockerd) on it, and waits until dockerd answers.
func startDocker(cfg hostConfig) (*inner.Daemon, error) {
	d, err := inner.NewDaemon(cfg.docker())
	if err != nil {
		return nil, err
	}
	if r := d.FirstStart(); r != fakesystemd.JobDone {
		return d, fmt.Errorf("dockerd (%s) did not start (job %s): %s", inner.DockerdPath(cfg.docker()), r, tail(inner.DockerdLog, 15))
	}
	return d, nil
}

// tail is the last n lines of a file, for an error message.
func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runWorkstation is the trampoline of WorkstationCommand: in its fresh
// mount namespace it hides /run (and /var/run unless that is a symlink)
// under an empty tmpfs, drops the variables that point at the
// sandbox's dockerd and bus, and execs the command.
func runWorkstation(argv []string) int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "fleet workstation: %v\n", err)
		return 127
	}
	if len(argv) == 0 {
		return fail(errors.New("no command"))
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fail(fmt.Errorf("make / rprivate: %w", err))
	}
	dirs := []string{"/run"}
	if fi, err := os.Lstat("/var/run"); err == nil && fi.IsDir() {
		dirs = append(dirs, "/var/run")
	}
	for _, d := range dirs {
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
			return fail(fmt.Errorf("mount tmpfs on %s: %w", d, err))
		}
	}
	env := WorkstationEnv(os.Environ())
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			_ = os.Setenv("PATH", p) // for LookPath
		}
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fail(err)
	}
	return fail(syscall.Exec(path, argv, env))
}
