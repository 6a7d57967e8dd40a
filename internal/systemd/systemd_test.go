package systemd_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
)

const docker = "docker.service"

func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

func dial(t *testing.T) *systemd.Client {
	t.Helper()
	c, err := systemd.Dial(ctx(t, 5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// dockerPID reads the PID file the sandbox's dockerd writes.
func dockerPID(t *testing.T) uint32 {
	t.Helper()
	b, err := os.ReadFile(sandbox.DockerPIDFile)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

// waitRestarted waits until docker.service is active with a main PID other
// than oldPID and the API answers (for tests that leave a restart job
// running behind them).
func waitRestarted(t *testing.T, c *systemd.Client, oldPID uint32) systemd.State {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		st, err := c.UnitState(ctx(t, 10*time.Second), docker)
		if err == nil && st.ActiveState == "active" && st.MainPID != oldPID &&
			sandbox.PingDocker(ctx(t, 5*time.Second), sandbox.DockerSocket) == nil {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker.service not restarted: %+v, %v", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRestartDockerNewPID(t *testing.T) {
	sandbox.RequireExclusive(t)
	c := dial(t)
	before, err := c.UnitState(ctx(t, 10*time.Second), docker)
	if err != nil {
		t.Fatal(err)
	}
	if before.LoadState != "loaded" || before.ActiveState != "active" || before.SubState != "running" || before.MainPID == 0 {
		t.Fatalf("before restart: %+v, want loaded/active/running with a MainPID", before)
	}
	if pid := dockerPID(t); pid != before.MainPID {
		t.Fatalf("MainPID %d, but %s says %d", before.MainPID, sandbox.DockerPIDFile, pid)
	}

	result, err := c.Restart(ctx(t, 2*time.Minute), docker, 90*time.Second)
	if err != nil || result != systemd.JobDone {
		t.Fatalf("Restart = %q, %v; want done", result, err)
	}
	// The job is done only once the API answers: no waiting here.
	if err := sandbox.PingDocker(ctx(t, 5*time.Second), sandbox.DockerSocket); err != nil {
		t.Fatalf("API not answering right after the restart job: %v", err)
	}
	after, err := c.UnitState(ctx(t, 10*time.Second), docker)
	if err != nil {
		t.Fatal(err)
	}
	if after.ActiveState != "active" || after.MainPID == 0 || after.MainPID == before.MainPID {
		t.Fatalf("after restart: %+v, want active with a new MainPID (was %d)", after, before.MainPID)
	}
	if pid := dockerPID(t); pid != after.MainPID {
		t.Fatalf("MainPID %d, but %s says %d", after.MainPID, sandbox.DockerPIDFile, pid)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(int(before.MainPID))); err == nil {
		t.Fatalf("old dockerd %d still exists", before.MainPID)
	}
}

func TestRestartPackageFunctionAndHelper(t *testing.T) {
	sandbox.RequireExclusive(t)
	result, err := systemd.Restart(ctx(t, 2*time.Minute), docker, 90*time.Second)
	if err != nil || result != systemd.JobDone {
		t.Fatalf("systemd.Restart = %q, %v", result, err)
	}
	if err := sandbox.RestartDocker(ctx(t, 2*time.Minute)); err != nil {
		t.Fatalf("sandbox.RestartDocker: %v", err)
	}
}

func TestRestartWithBrokenDaemonJSONFailsThenRecovers(t *testing.T) {
	sandbox.RequireExclusive(t)
	c := dial(t)
	path := sandbox.DaemonJSONPath()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Whatever happened, leave a working daemon behind for other tests.
		_ = os.WriteFile(path, orig, 0o644)
		if st, err := c.UnitState(context.Background(), docker); err != nil || st.ActiveState != "active" {
			_, _ = c.Restart(context.Background(), docker, 90*time.Second)
		}
	})
	broken := strings.Replace(string(orig), "{", `{"dockeripv6-test-unknown-key": true,`, 1)
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	result, err := c.Restart(ctx(t, 2*time.Minute), docker, 90*time.Second)
	if result != systemd.JobFailed || err == nil {
		t.Fatalf("Restart with an unknown daemon.json key = %q, %v; want failed and an error", result, err)
	}
	t.Logf("failed restart took %s; error: %v", time.Since(start).Round(time.Millisecond), err)
	for _, want := range []string{"systemd", docker, `"failed"`, "unit is failed/failed", "exited with status 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	st, err := c.UnitState(ctx(t, 10*time.Second), docker)
	if err != nil {
		t.Fatal(err)
	}
	if st.ActiveState != "failed" || st.SubState != "failed" || st.MainPID != 0 {
		t.Fatalf("state after failed restart: %+v, want failed/failed without MainPID", st)
	}
	// What dockerd said is where the provider will look for it.
	out, err := exec.Command("journalctl", "-u", docker, "-n", "20", "--no-pager", "-o", "cat").CombinedOutput()
	if err != nil {
		t.Fatalf("journalctl: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "dockeripv6-test-unknown-key") {
		t.Fatalf("journalctl output does not show dockerd's complaint about the key:\n%s", out)
	}

	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	result, err = c.Restart(ctx(t, 2*time.Minute), docker, 90*time.Second)
	if err != nil || result != systemd.JobDone {
		t.Fatalf("Restart after restoring daemon.json = %q, %v", result, err)
	}
	st, err = c.UnitState(ctx(t, 10*time.Second), docker)
	if err != nil || st.ActiveState != "active" || st.MainPID == 0 {
		t.Fatalf("state after recovery: %+v, %v", st, err)
	}
	if err := sandbox.PingDocker(ctx(t, 5*time.Second), sandbox.DockerSocket); err != nil {
		t.Fatal(err)
	}
}

func TestRestartTimeoutIsReported(t *testing.T) {
	sandbox.RequireExclusive(t)
	c := dial(t)
	before, err := c.UnitState(ctx(t, 10*time.Second), docker)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Restart(ctx(t, time.Minute), docker, time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "gave up waiting") || !strings.Contains(err.Error(), docker) {
		t.Fatalf("Restart with 1ms timeout: %v; want a 'gave up waiting' error naming the unit", err)
	}
	waitRestarted(t, c, before.MainPID) // the job goes on in the manager
}

func TestUnknownUnit(t *testing.T) {
	sandbox.Require(t)
	c := dial(t)
	const unit = "dockeripv6-no-such-unit.service"
	st, err := c.UnitState(ctx(t, 10*time.Second), unit)
	if err != nil {
		t.Fatal(err)
	}
	if st.LoadState != "not-found" || st.ActiveState != "inactive" || st.MainPID != 0 {
		t.Fatalf("UnitState(%s) = %+v, want not-found/inactive", unit, st)
	}
	_, err = c.Restart(ctx(t, 10*time.Second), unit, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), unit) || !strings.Contains(err.Error(), "NoSuchUnit") {
		t.Fatalf("Restart(%s) = %v, want a NoSuchUnit error naming it", unit, err)
	}
}

func TestExecStartIsTheRealDockerd(t *testing.T) {
	sandbox.Require(t)
	c := dial(t)
	path, argv, err := c.ExecStart(ctx(t, 10*time.Second), docker)
	if err != nil {
		t.Fatal(err)
	}
	want := sandbox.DockerdPath()
	if sandbox.Engine() == "20" && want != "/usr/sbin/dockerd" || sandbox.Engine() == "29" && !strings.HasSuffix(want, "/bin/dockerd") {
		t.Fatalf("sandbox says engine %s runs %q", sandbox.Engine(), want)
	}
	if path != want || !filepath.IsAbs(path) {
		t.Fatalf("ExecStart path %q, want %s", path, want)
	}
	if len(argv) == 0 || argv[0] != path {
		t.Fatalf("argv %q does not start with the path", argv)
	}
	if !strings.Contains(strings.Join(argv, " "), "--config-file "+sandbox.DaemonJSONPath()) {
		t.Fatalf("argv %q lacks --config-file %s", argv, sandbox.DaemonJSONPath())
	}
	// The running daemon is that binary.
	st, err := c.UnitState(ctx(t, 10*time.Second), docker)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(int(st.MainPID)) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	if exe != path {
		t.Fatalf("MainPID %d runs %s, ExecStart says %s", st.MainPID, exe, path)
	}
	if _, _, err := c.ExecStart(ctx(t, 10*time.Second), "dockeripv6-no-such-unit.service"); err == nil {
		t.Fatal("ExecStart of an unknown unit: no error")
	}
}

func TestActiveUnitsSeesFakeUFW(t *testing.T) {
	sandbox.RequireExclusive(t) // changes the fake units other tests may read
	c := dial(t)
	names := []string{"ufw.service", "firewalld.service", docker}
	got, err := c.ActiveUnits(ctx(t, 10*time.Second), names...)
	if err != nil {
		t.Fatal(err)
	}
	if got["ufw.service"] != "inactive" || got["firewalld.service"] != "inactive" || got[docker] != "active" {
		t.Fatalf("before: %v", got)
	}
	if err := sandbox.SetFakeUnit("ufw.service", "active"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sandbox.SetFakeUnit("ufw.service", "") })
	got, err = systemd.ActiveUnits(ctx(t, 10*time.Second), names...)
	if err != nil {
		t.Fatal(err)
	}
	if got["ufw.service"] != "active" || got["firewalld.service"] != "inactive" || got[docker] != "active" {
		t.Fatalf("with ufw active: %v", got)
	}
	st, err := c.UnitState(ctx(t, 10*time.Second), "ufw.service")
	if err != nil || st.LoadState != "loaded" || st.ActiveState != "active" {
		t.Fatalf("UnitState(ufw.service) = %+v, %v", st, err)
	}
}

// Runs anywhere: a bus that does not exist gives the documented error.
func TestUnreachableBus(t *testing.T) {
	addr := "unix:path=" + filepath.Join(t.TempDir(), "no-bus")
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	_, err := systemd.UnitState(ctx(t, 10*time.Second), docker)
	if err == nil || !strings.Contains(err.Error(), "cannot reach systemd over D-Bus at "+addr) {
		t.Fatalf("err = %v", err)
	}
}
