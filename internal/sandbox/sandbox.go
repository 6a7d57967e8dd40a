// Package sandbox is the test-side view of the isolated test host that
// cmd/dockeripv6-sandbox builds: a private network, mount and PID namespace
// with its own dockerd, its own D-Bus system bus and a stand-in for systemd's
// manager (package fakesystemd) that restarts that dockerd on request.
//
// Tests that need Docker, daemon.json or systemd call Require (or
// RequireExclusive, for tests that restart dockerd or rewrite daemon.json)
// first; it fails (never skips) outside the sandbox, so `go test` on a bare
// host cannot pass by silently doing nothing. Run them with `make test`, or
// directly:
//
//	go build -o /tmp/sbx ./internal/sandbox/cmd/dockeripv6-sandbox
//	/tmp/sbx [--engine 20|29] -- go test ./... -count=1
package sandbox

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/fakesystemd"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
)

// Environment the sandbox gives the command it runs.
const (
	EnvSandbox = "DOCKERIPV6_SANDBOX"         // "1" inside the sandbox
	EnvEngine  = "DOCKERIPV6_SANDBOX_ENGINE"  // "20" or "29"
	EnvDockerd = "DOCKERIPV6_SANDBOX_DOCKERD" // the dockerd binary docker.service runs
	// EnvSystemd says which systemd manager runs docker.service: SystemdFake
	// (the fast tier's stand-in, package fakesystemd) or SystemdReal
	// (Debian's systemd as PID 1 of a systemd-nspawn container, package nspawn).
	EnvSystemd = "DOCKERIPV6_SANDBOX_SYSTEMD"
	// EnvFakeUnits seeds the fake systemd units when the sandbox starts:
	// "ufw.service=active,firewalld.service=inactive".
	EnvFakeUnits = "DOCKERIPV6_SANDBOX_FAKE_UNITS"
)

// Values of EnvSystemd.
const (
	SystemdFake = "fake"
	SystemdReal = "real"
)

// Paths inside the sandbox (all on private tmpfs mounts).
const (
	DockerSocket  = "/run/docker.sock"
	DockerHost    = "unix://" + DockerSocket
	DockerPIDFile = "/run/docker.pid"
	BusSocket     = "/run/dbus/system_bus_socket"
	BusAddress    = "unix:path=" + BusSocket
	StateDir      = "/run/dockeripv6-sandbox"
	BinDir        = StateDir + "/bin" // journalctl stand-in; first on PATH
	dockerdLog    = StateDir + "/dockerd.log"
	fakeUnitsFile = StateDir + "/fake-units"
	daemonJSON    = "/etc/docker/daemon.json"
	DockerUnit    = "docker.service"
)

// Inside reports whether this process runs inside the sandbox (either tier).
func Inside() bool { return os.Getenv(EnvSandbox) == "1" }

// RealSystemd reports whether this process runs in the real-systemd tier:
// Debian's systemd is PID 1 and runs Debian's docker.service and
// docker.socket, and the journal is systemd's (`journalctl -u docker.service`).
func RealSystemd() bool { return Inside() && os.Getenv(EnvSystemd) == SystemdReal }

const notInside = "not inside the sandbox: run through `make test` " +
	"(or: go build -o /tmp/sbx ./internal/sandbox/cmd/dockeripv6-sandbox && /tmp/sbx -- go test ./...)"

// Require fails the test at once when it does not run inside the sandbox.
// Inside, it holds a shared lock on the sandbox's dockerd until the test
// ends, so that tests of other packages (go test runs packages in parallel)
// that restart dockerd wait for it. Call it once, first thing in the test.
func Require(t testing.TB) {
	t.Helper()
	if !Inside() {
		t.Fatal(notInside)
		return
	}
	lockShared(t)
}

// RequireExclusive is Require for tests that disturb the daemon: restart
// dockerd (RestartDocker, systemd restarts, the provider's daemon_config
// apply), rewrite daemon.json, or change its firewall. It waits until no
// other test in any package holds the daemon, and holds it alone until the
// test ends. Call it instead of Require, in the top-level test (not in a
// subtest of a test that called Require).
func RequireExclusive(t testing.TB) {
	t.Helper()
	if !Inside() {
		t.Fatal(notInside)
		return
	}
	lockExclusive(t)
}

const notReal = "not inside the sandbox's real-systemd tier: run through `make testsystemd` " +
	"(or: make sandbox build && bin/dockeripv6-sandbox --systemd real --engine 20 -- go test -tags systemdtier ./internal/systemdtier/)"

// RequireRealSystemd is RequireExclusive for tests that need Debian's real
// systemd manager (the real-systemd tier): it fails (never skips) anywhere
// else, the fast tier included.
func RequireRealSystemd(t testing.TB) {
	t.Helper()
	if !RealSystemd() {
		t.Fatal(notReal)
		return
	}
	lockExclusive(t)
}

// Engine is the sandbox's Docker engine generation: "20" (Debian's
// docker.io 20.10) or "29" (moby v2 built from the module proxy).
func Engine() string { return os.Getenv(EnvEngine) }

// DockerdPath is the dockerd binary the sandbox's docker.service runs
// (/usr/sbin/dockerd on engine 20, the engine-29 cache's on 29).
func DockerdPath() string { return os.Getenv(EnvDockerd) }

// DaemonJSONPath is the daemon.json the sandbox's dockerd reads.
func DaemonJSONPath() string { return daemonJSON }

// DockerdLog is, in the fast tier, the append-only file holding dockerd's
// stdout and stderr plus systemd-style lines about docker.service; `journalctl
// -u docker.service -n N --no-pager -o cat` prints its tail inside the
// sandbox. The real-systemd tier has systemd's journal instead and no such
// file: DockerdLog is "" there; use Journal.
func DockerdLog() string {
	if RealSystemd() {
		return ""
	}
	return dockerdLog
}

// Journal returns the last n lines docker.service (or another unit) logged,
// as `journalctl -u UNIT -n N --no-pager -o cat` prints them: systemd's
// journal in the real-systemd tier, the stand-in over DockerdLog in the fast one.
func Journal(ctx context.Context, unit string, n int) (string, error) {
	out, err := exec.CommandContext(ctx, "journalctl", "-u", unit, "-n", strconv.Itoa(n), "--no-pager", "-o", "cat").CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("journalctl -u %s: %w: %s", unit, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// FakeUnitsFile is the file the fake systemd manager reads other units from.
func FakeUnitsFile() string { return fakeUnitsFile }

// SetFakeUnit makes the fake systemd report unit (e.g. "ufw.service") as
// loaded with the given ActiveState ("active", "inactive", "failed"); an
// empty activeState removes it again (LoadState "not-found"). docker.service
// cannot be faked.
func SetFakeUnit(unit, activeState string) error {
	if unit == DockerUnit {
		return fmt.Errorf("%s is the sandbox's real dockerd and cannot be faked", DockerUnit)
	}
	return fakesystemd.SetFakeUnit(fakeUnitsFile, unit, activeState)
}

// RestartDocker restarts docker.service through the production systemd
// client (internal/systemd) and the sandbox's manager, and waits for the
// job: it returns nil once dockerd answers /_ping again. The calling test
// must hold RequireExclusive.
func RestartDocker(ctx context.Context) error {
	result, err := systemd.Restart(ctx, DockerUnit, 2*time.Minute) // stop (≤30s) + start (≤60s)
	if err != nil {
		return err
	}
	if result != "done" {
		return fmt.Errorf("restart of %s finished with %q", DockerUnit, result)
	}
	return nil
}

// PingDocker returns nil when the Docker API on socket answers GET /_ping
// with 200 OK.
func PingDocker(ctx context.Context, socket string) error {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /_ping: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// WaitDocker polls PingDocker every 100ms until it succeeds or ctx is done.
func WaitDocker(ctx context.Context, socket string) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := PingDocker(pctx, socket)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("docker API on %s did not answer: %w (last error: %v)", socket, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
