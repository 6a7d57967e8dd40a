//go:build systemdtier

package systemdtier

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// dockerDefault is the EnvironmentFile of Debian's docker.service
// (EnvironmentFile=-/etc/default/docker; ExecStart=... $DOCKER_OPTS).
const dockerDefault = "/etc/default/docker"

// withDockerOpts sets DOCKER_OPTS in /etc/default/docker for the test (the
// file as the package ships it, plus the line), restoring it after.
func withDockerOpts(t *testing.T, opts string) {
	t.Helper()
	orig, err := os.ReadFile(dockerDefault)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if existed {
			err = os.WriteFile(dockerDefault, orig, 0o644)
		} else {
			err = os.Remove(dockerDefault)
		}
		if err != nil {
			t.Errorf("restoring %s: %v", dockerDefault, err)
		}
	})
	b := append(append([]byte(nil), orig...), []byte("DOCKER_OPTS=\""+opts+"\"\n")...)
	if err := os.WriteFile(dockerDefault, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// e. Debian's docker.service passes $DOCKER_OPTS from /etc/default/docker.
// systemd's ExecStart property holds the word "$DOCKER_OPTS" unexpanded; the
// provider expands it as systemd does, so `dockerd --validate` (23.0+) gets
// the flags dockerd really runs with. With DOCKER_OPTS set to a real flag, a
// change that goes with it is applied; one that repeats a flag as a
// daemon.json key is refused with dockerd's own words, nothing written.
// 20.10 has no --validate: there the refused file is found by the restart and
// rolled back.
func TestRealSystemd_dockerOptsFromEnvironmentFile(t *testing.T) {
	setup(t)
	if out := systemctl(t, "show", "-p", "ExecStart", "-p", "EnvironmentFiles", "docker.service"); !strings.Contains(out, "$DOCKER_OPTS") || !strings.Contains(out, dockerDefault) {
		t.Fatalf("docker.service does not pass $DOCKER_OPTS from %s:\n%s", dockerDefault, out)
	}
	withDockerOpts(t, "--log-level=warn")
	restartDocker(t)
	resetFailed(t)

	// Accepted: live-restore with --log-level=warn on the command line.
	before := show(t, "docker.service")
	w := newWorkdir(t, config("", "  live_restore = true"))
	r := w.apply()
	t.Logf("the provider said:\n%s", r.out)
	mustSucceed(t, r)
	requireRestarted(t, before, "after the accepted apply")
	if !dockerInfo(t).LiveRestoreEnabled {
		t.Fatal("the restarted dockerd does not run live-restore")
	}
	if cmdline := dockerdCmdline(t); !strings.Contains(cmdline, "--log-level=warn") {
		t.Fatalf("dockerd runs without DOCKER_OPTS: %q", cmdline)
	}
	mustEmptyPlan(t, w)
	if r := w.destroy(); r.code != 0 {
		t.Fatalf("destroy: %s", r)
	}
	resetFailed(t)

	// Refused: DOCKER_OPTS gives --live-restore, and the file would too.
	withDockerOpts(t, "--log-level=warn --live-restore")
	restartDocker(t)
	resetFailed(t)
	old := readDaemonJSON(t)
	before = show(t, "docker.service")
	w = newWorkdir(t, config("", "  live_restore = true"))
	r = w.apply()
	t.Logf("the provider said:\n%s", r.out)
	if r.code == 0 {
		t.Fatalf("the apply succeeded, but live-restore is both a flag (DOCKER_OPTS) and in the file:\n%s", r)
	}
	if got := readDaemonJSON(t); !bytes.Equal(got, old) {
		t.Fatalf("daemon.json after the refused apply is not the previous file:\n--- want\n%s\n--- got\n%s", old, got)
	}
	if strings.Contains(r.out, "accepts no argument") {
		t.Fatalf("dockerd was handed the unexpanded $DOCKER_OPTS:\n%s", r)
	}
	if sandbox.Engine() == "20" {
		// The refusal is in the journal (the provider's summary of it keeps
		// only lines that look like errors, and 20.10's does not).
		mustMatch(t, r, `Docker Daemon Did Not Come Back; Rolled Back`, `previous daemon.json is back in place`)
		requireStartedSince(t, before, "after the rollback")
		j, err := sandbox.Journal(context.Background(), "docker.service", 200)
		if err != nil || !strings.Contains(j, "specified both as a flag and in the configuration file: live-restore") {
			t.Fatalf("the journal does not show dockerd refusing live-restore from DOCKER_OPTS and the file (%v):\n%s", err, j)
		}
		return
	}
	mustMatch(t, r, `dockerd Refuses The New daemon.json`,
		"`dockerd --validate` rejected the merged file, so nothing was written:.*specified both as a flag and in the configuration file.*live-restore")
	requireNotRestarted(t, before, "after the refused apply")
}

// dockerdCmdline is the running dockerd's command line, from /proc.
func dockerdCmdline(t *testing.T) string {
	t.Helper()
	pid := show(t, "docker.service")["MainPID"]
	b, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\x00", " ")
}
