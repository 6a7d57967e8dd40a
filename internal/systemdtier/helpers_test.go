//go:build systemdtier

package systemdtier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/tfcli"
)

var tmpRoot string // removed after the tests

func TestMain(m *testing.M) {
	var err error
	if tmpRoot, err = os.MkdirTemp("", "systemdtier-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// pluginDir returns the directory with the provider binary terraform runs
// (tfcli.PluginDir: $DOCKERIPV6_PROVIDER_BIN, or this tree built once).
func pluginDir(t *testing.T) string {
	t.Helper()
	dir, err := tfcli.PluginDir(tmpRoot)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// workdir is one Terraform working directory using the built provider
// through dev_overrides (no init, no registry).
type workdir struct {
	t   *testing.T
	dir string
	env []string
	tf  string
}

func newWorkdir(t *testing.T, config string) *workdir {
	t.Helper()
	d, err := tfcli.NewDir(tmpRoot)
	if err != nil {
		t.Fatal(err)
	}
	w := &workdir{t: t, dir: d.Path, tf: d.Terraform, env: d.Env}
	w.write(config)
	return w
}

func (w *workdir) write(config string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(config), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// tfResult is one terraform run.
type tfResult struct {
	args   string
	out    string // stdout and stderr
	code   int    // exit code; -1 when killed by a signal
	signal syscall.Signal
	took   time.Duration
}

func (r tfResult) String() string {
	how := fmt.Sprintf("exit %d", r.code)
	if r.signal != 0 {
		how = fmt.Sprintf("killed by signal %d (%s)", int(r.signal), r.signal)
	}
	return fmt.Sprintf("terraform %s: %s after %s\n%s", r.args, how, r.took.Round(10*time.Millisecond), r.out)
}

// tfTimeout bounds one terraform run: an apply restarts dockerd at most
// twice (90 s job timeout each by default); longer means something hangs
// (a stale daemon.json lock, a job nobody finishes).
const tfTimeout = 5 * time.Minute

func (w *workdir) run(extraEnv []string, args ...string) tfResult {
	w.t.Helper()
	r, err := w.runErr(extraEnv, args...)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// runErr is run for other goroutines than the test's: it returns what run
// would fail the test with.
func (w *workdir) runErr(extraEnv []string, args ...string) (tfResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), tfTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.tf, args...)
	cmd.Dir = w.dir
	cmd.Env = append(append([]string{}, w.env...), extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := tfResult{args: strings.Join(args, " "), out: out.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		return r, fmt.Errorf("terraform %s did not finish within %s (hung: a stale lock, or a restart job nobody finishes?)\n%s", r.args, tfTimeout, r.out)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signal = ws.Signal()
		}
	default:
		return r, fmt.Errorf("terraform %s: %v", r.args, err)
	}
	how := fmt.Sprintf("exit %d", r.code)
	if r.signal != 0 {
		how = fmt.Sprintf("killed by signal %d (%s)", int(r.signal), r.signal)
	}
	w.t.Logf("terraform %s: %s in %s", r.args, how, r.took.Round(10*time.Millisecond))
	return r, nil
}

func (w *workdir) apply(extraEnv ...string) tfResult {
	return w.run(extraEnv, "apply", "-auto-approve", "-input=false", "-no-color")
}

func (w *workdir) plan(extraEnv ...string) tfResult {
	return w.run(extraEnv, "plan", "-detailed-exitcode", "-input=false", "-no-color")
}

func (w *workdir) destroy(extraEnv ...string) tfResult {
	return w.run(extraEnv, "destroy", "-auto-approve", "-input=false", "-no-color")
}

func mustSucceed(t *testing.T, r tfResult) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("want success, got %s", r)
	}
}

// mustEmptyPlan: plan -detailed-exitcode says 0 (no changes).
func mustEmptyPlan(t *testing.T, w *workdir) {
	t.Helper()
	if r := w.plan(); r.code != 0 {
		t.Fatalf("want an empty plan (exit 0), got %s", r)
	}
}

// config is a root module using the provider with providerBody in its
// provider block and body in one dockeripv6_daemon_config.
func config(providerBody, body string) string {
	return `terraform {
  required_providers {
    dockeripv6 = { source = "dockeripv6/dockeripv6" }
  }
}

provider "dockeripv6" {
` + providerBody + `
}

resource "dockeripv6_daemon_config" "d" {
` + body + `
}
`
}

// --- the host, as the tests see it (never through the provider's code) ---

func readDaemonJSON(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(sandbox.DaemonJSONPath())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeDaemonJSON(t *testing.T, b []byte) {
	t.Helper()
	if err := os.WriteFile(sandbox.DaemonJSONPath(), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileSettings(t *testing.T) daemonconfig.Settings {
	t.Helper()
	b := readDaemonJSON(t)
	s, err := daemonconfig.Parse(b)
	if err != nil {
		t.Fatalf("daemon.json is not valid: %v\n%s", err, b)
	}
	return s
}

// systemctl runs the real systemctl against the container's manager.
func systemctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := systemctlErr(args...)
	if err != nil {
		t.Fatalf("systemctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func systemctlErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "systemctl", append([]string{"--no-pager"}, args...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// unitProps are the properties the tests look at, from `systemctl show`.
var unitProps = []string{"ActiveState", "SubState", "Result", "NRestarts", "MainPID", "ExecMainStartTimestampMonotonic", "Job"}

func show(t *testing.T, unit string) map[string]string {
	t.Helper()
	out := systemctl(t, "show", unit, "-p", strings.Join(unitProps, ","))
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

func resetFailed(t *testing.T) {
	t.Helper()
	systemctl(t, "reset-failed", "docker.service", "docker.socket")
}

// restartDocker restarts docker.service the way an operator would; it
// counts against the unit's start limit like any start.
func restartDocker(t *testing.T) {
	t.Helper()
	systemctl(t, "restart", "docker.service")
	if err := waitDocker(60 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// newDocker is a fresh client (no connection kept across restarts).
func newDocker() (*client.Client, error) {
	return client.NewClientWithOpts(client.WithHost(sandbox.DockerHost), client.WithAPIVersionNegotiation())
}

func dockerInfoErr(timeout time.Duration) (system.Info, error) {
	cli, err := newDocker()
	if err != nil {
		return system.Info{}, err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return cli.Info(ctx)
}

func dockerInfo(t *testing.T) system.Info {
	t.Helper()
	info, err := dockerInfoErr(20 * time.Second)
	if err != nil {
		t.Fatalf("docker info: %v", err)
	}
	return info
}

func bridgeIPv6(t *testing.T) bool {
	t.Helper()
	cli, err := newDocker()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	br, err := cli.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil {
		t.Fatalf("docker network inspect bridge: %v", err)
	}
	return br.EnableIPv6
}

// waitDocker waits until docker info answers (through docker.socket).
func waitDocker(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		_, err := dockerInfoErr(5 * time.Second)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("docker info did not answer within %s: %v", d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitNoJob waits until systemd has no job queued for docker.service (a
// restart job a killed provider left behind finishes on its own).
func waitNoJob(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if strings.TrimSpace(systemctl(t, "list-jobs", "--no-legend")) == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("systemd jobs still queued after %s:\n%s", d, systemctl(t, "list-jobs"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// requireUp asserts docker.service active/running with result success,
// docker.socket active (socket activation still works) and dockerd
// answering through that socket; it returns docker.service's properties.
func requireUp(t *testing.T, when string) map[string]string {
	t.Helper()
	if err := waitDocker(30 * time.Second); err != nil {
		t.Fatalf("%s: %v\n%s", when, err, systemctlStatus())
	}
	svc := show(t, "docker.service")
	sock := show(t, "docker.socket")
	if svc["ActiveState"] != "active" || svc["SubState"] != "running" || svc["Result"] != "success" {
		t.Fatalf("%s: docker.service is %s/%s (Result=%s), want active/running (success)\n%s", when, svc["ActiveState"], svc["SubState"], svc["Result"], systemctlStatus())
	}
	if sock["ActiveState"] != "active" {
		t.Fatalf("%s: docker.socket is %s/%s (Result=%s), want active: socket activation is broken\n%s", when, sock["ActiveState"], sock["SubState"], sock["Result"], systemctlStatus())
	}
	return svc
}

// requireRestarted asserts that dockerd was started again since before
// (a new main process) and that systemd did not have to restart it on its
// own (NRestarts unchanged), and that it is up.
func requireRestarted(t *testing.T, before map[string]string, when string) map[string]string {
	t.Helper()
	after := requireStartedSince(t, before, when)
	if after["NRestarts"] != before["NRestarts"] {
		t.Errorf("%s: NRestarts went from %s to %s: systemd restarted dockerd on its own (a start failed)", when, before["NRestarts"], after["NRestarts"])
	}
	return after
}

// requireStartedSince asserts that dockerd was started again since before
// and is up; systemd may have retried failed starts on its own meanwhile.
func requireStartedSince(t *testing.T, before map[string]string, when string) map[string]string {
	t.Helper()
	after := requireUp(t, when)
	if after["ExecMainStartTimestampMonotonic"] == before["ExecMainStartTimestampMonotonic"] {
		t.Fatalf("%s: dockerd was not restarted (main process started at %s monotonic, as before)", when, after["ExecMainStartTimestampMonotonic"])
	}
	return after
}

func requireNotRestarted(t *testing.T, before map[string]string, when string) {
	t.Helper()
	after := requireUp(t, when)
	if after["ExecMainStartTimestampMonotonic"] != before["ExecMainStartTimestampMonotonic"] {
		t.Fatalf("%s: dockerd was restarted (main process started at %s, before %s)", when, after["ExecMainStartTimestampMonotonic"], before["ExecMainStartTimestampMonotonic"])
	}
}

func systemctlStatus() string {
	out, _ := systemctlErr("status", "-n", "30", "docker.service", "docker.socket")
	return out
}

// ip6Chain: Docker's DOCKER chain in the ip6 nat table (ip6tables on).
func ip6Chain() bool {
	return exec.Command("ip6tables", "-t", "nat", "-S", "DOCKER").Run() == nil
}

// lockFree asserts that nobody holds daemon.json's lock (a killed provider
// must not leave it held): a non-blocking flock succeeds within a few
// seconds (the kernel closes a killed process's files as it exits).
func lockFree(t *testing.T) {
	t.Helper()
	p := sandbox.DaemonJSONPath() + daemonconfig.LockSuffix
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	deadline := start.Add(5 * time.Second)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
			if waited := time.Since(start); waited > 50*time.Millisecond {
				t.Logf("the daemon.json lock was free %s after the provider was gone", waited.Round(time.Millisecond))
			}
			return
		}
		if time.Now().After(deadline) {
			holder, _ := os.ReadFile(p)
			pid := strings.TrimSpace(string(holder))
			status, _ := os.ReadFile("/proc/" + pid + "/status")
			cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
			locks, _ := os.ReadFile("/proc/locks")
			t.Fatalf("%s is still locked (%v) 5s after the provider died; it names process %s (cmdline %q)\n%s\n/proc/locks:\n%s",
				p, err, pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}), status, locks)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// withStrayGateway is orig plus a key nobody manages that is harmless while
// IPv6 is off and fatal once it is on: a default IPv6 gateway outside the
// subnet the test's apply sets (fd3a:9c1e:77b0:ff::/64).
func withStrayGateway(orig []byte) []byte {
	return bytes.Replace(orig, []byte("{"), []byte("{\n  \"default-gateway-v6\": \"fd3a:9c1e:77b0:77::1\","), 1)
}

const ipv6Body = `  default_bridge_ipv6 = true
  fixed_cidr_v6       = "fd3a:9c1e:77b0:ff::/64"`

// setup takes the tier for the test, starts it from a running dockerd with
// a fresh start-limit counter, and afterwards puts daemon.json back and
// leaves dockerd running it with a fresh counter again. It returns the
// daemon.json the test starts from.
func setup(t *testing.T) []byte {
	t.Helper()
	sandbox.RequireRealSystemd(t)
	orig := readDaemonJSON(t)
	resetFailed(t)
	requireUp(t, "before the test")
	t.Cleanup(func() {
		if t.Failed() {
			j, _ := sandbox.Journal(context.Background(), "docker.service", 40)
			t.Logf("docker.service status and journal at the failure:\n%s\n%s", systemctlStatus(), j)
		}
		if cur, _ := os.ReadFile(sandbox.DaemonJSONPath()); !bytes.Equal(cur, orig) {
			if err := os.WriteFile(sandbox.DaemonJSONPath(), orig, 0o644); err != nil {
				t.Errorf("restoring daemon.json: %v", err)
			}
		}
		for _, args := range [][]string{{"reset-failed", "docker.service", "docker.socket"}, {"restart", "docker.service"}, {"reset-failed", "docker.service", "docker.socket"}} {
			if out, err := systemctlErr(args...); err != nil {
				t.Errorf("cleanup: systemctl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		if err := waitDocker(60 * time.Second); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return orig
}

// mustMatch asserts that terraform's output matches every pattern, with
// every run of white space in the output (terraform wraps diagnostics at 80
// columns) read as one space.
func mustMatch(t *testing.T, r tfResult, patterns ...string) {
	t.Helper()
	flat := strings.Join(strings.Fields(r.out), " ")
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(flat) {
			t.Errorf("output does not match %q:\n%s", p, r)
		}
	}
}

func boolp(b bool) string { return strconv.FormatBool(b) }
