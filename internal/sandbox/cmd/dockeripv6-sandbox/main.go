// Command dockeripv6-sandbox runs a command on an isolated test host: fresh
// mount, network and PID namespaces with a private dockerd, a private D-Bus
// system bus and a stand-in for systemd's manager; or, with --systemd real,
// inside a systemd-nspawn container where Debian's systemd is PID 1 and runs
// Debian's docker.service. See internal/sandbox/README.md.
//
//	dockeripv6-sandbox [--systemd fake|real [--root DIR]] [--engine 20|29] [--engine29-dir DIR] -- COMMAND [ARGS...]
//
// It exits with the command's exit code (128+N if the command died of signal
// N), or 125 when the sandbox itself could not be set up.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/internal/inner"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/nspawn"
)

// innerArg0 marks the re-executed process that runs as the namespaces' PID 1;
// nspawnArg0 the one that boots the real-systemd container in a private
// mount namespace.
const (
	innerArg0  = "dockeripv6-sandbox[pid1]"
	nspawnArg0 = "dockeripv6-sandbox[nspawn]"
)

// Engine29Stamp must equal the stamp file engine29.sh writes
// (`engine29.sh --print-stamp`).
const Engine29Stamp = `dockerd github.com/moby/moby/v2/cmd/dockerd@v2.0.0-beta.24 version=29.8.0
docker-proxy github.com/moby/moby/v2/cmd/docker-proxy@v2.0.0-beta.24
runc github.com/opencontainers/runc@v1.2.6 tags=seccomp cgo=1
`

func usage() {
	fmt.Fprintf(os.Stderr, `usage: dockeripv6-sandbox [--systemd fake|real [--root DIR]] [--engine 20|29] [--engine29-dir DIR] -- COMMAND [ARGS...]

Runs COMMAND in fresh mount, network and PID namespaces with a private dockerd
(DOCKER_HOST=unix:///run/docker.sock), a private D-Bus system bus with a
stand-in for systemd's manager (DBUS_SYSTEM_BUS_ADDRESS), no route out, and
DOCKERIPV6_SANDBOX=1. Everything is gone when it exits.

With --systemd real, COMMAND runs inside a systemd-nspawn container booting
this machine's root tree (--volatile=overlay, --private-network) with
Debian's systemd as PID 1, its real D-Bus, journal, docker.socket and
docker.service (DOCKERIPV6_SANDBOX_SYSTEMD=real). The container is powered
off and its mounts, cgroups and scratch directories removed when it exits.

`)
	flag.PrintDefaults()
}

func defaultEngine29Dir() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "dockeripv6", "engine-29")
}

func main() {
	engine := flag.String("engine", "20", "Docker engine: 20 (Debian's docker.io) or 29 (built by internal/sandbox/engine29.sh)")
	dir29 := flag.String("engine29-dir", defaultEngine29Dir(), "engine-29 cache directory (binaries in DIR/bin, versions in DIR/stamp)")
	rootDir := flag.String("root", "", "with --systemd real: a root tree to boot instead of this machine's (e.g. the Debian 13 root .ci/debian13-root.sh makes); the engine is its own docker.io")
	systemdMode := flag.String("systemd", "fake", "systemd manager: fake (the stand-in, fast) or real (Debian's systemd as PID 1 of a systemd-nspawn container booting this machine's tree, or --root)")
	flag.Usage = usage
	flag.Parse()
	cmd := flag.Args()
	if len(cmd) == 0 {
		usage()
		os.Exit(2)
	}
	cfg := inner.Config{Engine: *engine, Engine29Bin: filepath.Join(*dir29, "bin"), Command: cmd}
	if *rootDir != "" {
		e, err := rootEngine(*rootDir, *systemdMode)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: --root %s: %v\n", *rootDir, err)
			os.Exit(inner.ExitSetup)
		}
		cfg.Engine = e
	}

	switch os.Args[0] {
	case innerArg0:
		os.Exit(inner.Run(cfg))
	case nspawnArg0:
		wd, _ := os.Getwd()
		os.Exit(nspawn.Run(nspawn.Config{Engine: cfg.Engine, Engine29Bin: cfg.Engine29Bin, Root: *rootDir, Command: cmd,
			Dir: wd, Env: os.Environ(), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
	}
	if err := check(cfg, *dir29, *rootDir != ""); err != nil {
		fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: %v\n", err)
		os.Exit(inner.ExitSetup)
	}
	switch *systemdMode {
	case "fake":
		os.Exit(outer(innerArg0, unix.CLONE_NEWNS|unix.CLONE_NEWNET|unix.CLONE_NEWPID, unix.SIGKILL, os.Args[1:]))
	case "real":
		if _, err := exec.LookPath("systemd-nspawn"); err != nil {
			fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: --systemd real needs systemd-nspawn (Debian package systemd-container): %v\n", err)
			os.Exit(inner.ExitSetup)
		}
		// Only a private mount namespace: nspawn makes the container's
		// network, PID, IPC and UTS namespaces itself. SIGTERM, not
		// SIGKILL, if this process dies: the child then stops the command,
		// powers the container off and cleans up as on any other exit.
		os.Exit(outer(nspawnArg0, unix.CLONE_NEWNS, unix.SIGTERM, os.Args[1:]))
	default:
		fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: --systemd %q: want fake or real\n", *systemdMode)
		os.Exit(2)
	}
}

// check validates the request on the host, before any namespace exists.
func check(cfg inner.Config, dir29 string, ownRoot bool) error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root (it creates namespaces and mounts)")
	}
	if ownRoot {
		return nil // the root's own docker.io, containerd and dbus
	}
	switch cfg.Engine {
	case "20":
		if _, err := os.Stat(inner.Engine20Dockerd); err != nil {
			return fmt.Errorf("engine 20 needs Debian's docker.io (%s): %w", inner.Engine20Dockerd, err)
		}
	case "29":
		stamp, err := os.ReadFile(filepath.Join(dir29, "stamp"))
		if err != nil || string(stamp) != Engine29Stamp {
			return fmt.Errorf("engine 29 is not built (or is stale) in %s: run internal/sandbox/engine29.sh (with ENGINE29_DIR=%s if not the default)", dir29, dir29)
		}
		for _, b := range []string{"dockerd", "docker-proxy", "runc"} {
			if _, err := os.Stat(filepath.Join(cfg.Engine29Bin, b)); err != nil {
				return fmt.Errorf("engine 29: %w; run internal/sandbox/engine29.sh", err)
			}
		}
	default:
		return fmt.Errorf("--engine %q: want 20 or 29", cfg.Engine)
	}
	for _, b := range []string{"dbus-daemon", "containerd", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s not found (Debian packages dbus-daemon, containerd): %w", b, err)
		}
	}
	return nil
}

// outer re-executes this binary as arg0 in new namespaces (for the fake
// tier: PID 1 of new mount, network and PID namespaces), forwards
// SIGINT/SIGTERM to it and returns its exit code. Pdeathsig makes the kernel
// kill that process (for the fake tier, the whole namespace) if this process
// dies, even by SIGKILL; the real tier's nspawn has its own Pdeathsig
// (SIGTERM, which powers the container off), and its child gets pdeathsig
// SIGTERM so that it tears down.
func outer(arg0 string, cloneflags uintptr, pdeathsig unix.Signal, args []string) int {
	// Pdeathsig fires when the thread that forked the child exits; keep
	// this goroutine on its thread for the whole run.
	runtime.LockOSThread()
	cmd := &exec.Cmd{
		Path:   "/proc/self/exe",
		Args:   append([]string{arg0}, args...),
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: cloneflags,
			Pdeathsig:  pdeathsig,
		},
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: create namespaces: %v\n", err)
		return inner.ExitSetup
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	signal.Stop(sigs)
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: %v\n", err)
			return inner.ExitSetup
		}
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// rootEngine checks --root (a directory, with --systemd real) and reads its
// docker.io's major version.
func rootEngine(dir, mode string) (string, error) {
	if mode != "real" {
		return "", errors.New("needs --systemd real (the root boots in systemd-nspawn)")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("not a directory (make it with .ci/debian13-root.sh): %v", err)
	}
	return nspawn.RootEngine(dir)
}
