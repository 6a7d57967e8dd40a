//go:build systemdtier

package systemdtier

import (
	"bytes"
	"testing"
)

// d. Debian's docker.service has StartLimitBurst=3 in StartLimitInterval=60s
// (and Restart=on-failure on Debian 12, Restart=always on 13, so systemd
// retries a failed start on its own, which counts too). A fourth start within a minute is refused ("Start
// request repeated too quickly", result start-limit-hit) and docker.socket
// fails with it (service-start-limit-hit), so socket activation cannot bring
// dockerd back either. The provider must clear that (ResetFailedUnit, like
// `systemctl reset-failed docker.service docker.socket`) before its own
// restart and before its rollback restart.

// d1. An apply that is the fourth start in a minute (after three restarts by
// someone else: an operator, the boot, earlier applies) restarts dockerd and
// verifies it.
func TestRealSystemd_startLimitFourthStartInAMinute(t *testing.T) {
	setup(t)
	for i := 0; i < 3; i++ {
		restartDocker(t)
	}
	before := show(t, "docker.service")
	w := newWorkdir(t, config("", "  live_restore = true"))
	r := w.apply()
	t.Logf("the provider said:\n%s", r.out)
	mustSucceed(t, r)
	requireRestarted(t, before, "after the apply")
	if s := fileSettings(t); s.LiveRestore == nil || !*s.LiveRestore {
		t.Fatalf("daemon.json does not hold live-restore: %s", readDaemonJSON(t))
	}
	if !dockerInfo(t).LiveRestoreEnabled {
		t.Fatal("the restarted dockerd does not run live-restore")
	}
	mustEmptyPlan(t, w)
}

// d2. A failed start whose rollback restart would be the fourth start in a
// minute (two restarts before the apply, the apply's own failed start, then
// the rollback's): dockerd is back with the old file, verified, and the
// message says what dockerd said and that the old file runs.
func TestRealSystemd_startLimitRollbackAfterFailedStart(t *testing.T) {
	orig := setup(t)
	stray := withStrayGateway(orig)
	writeDaemonJSON(t, stray)
	restartDocker(t)
	resetFailed(t)
	restartDocker(t)
	restartDocker(t)
	before := show(t, "docker.service")

	w := newWorkdir(t, config("", ipv6Body))
	r := w.apply()
	t.Logf("the provider said:\n%s", r.out)
	if r.code == 0 {
		t.Fatalf("the apply succeeded, but dockerd cannot start with the stray default-gateway-v6:\n%s", r)
	}
	mustMatch(t, r,
		`Docker Daemon Did Not Come Back; Rolled Back`,
		`previous daemon.json is back in place`,
		`dockerd said:.*DefaultGatewayIPv6:fd3a:9c1e:77b0:77::1`,
		`dockerd was restarted with it and is up`,
	)
	if got := readDaemonJSON(t); !bytes.Equal(got, stray) {
		t.Fatalf("daemon.json after the failed apply is not the previous file:\n--- want\n%s\n--- got\n%s", stray, got)
	}
	requireStartedSince(t, before, "after the rollback")
	if bridgeIPv6(t) {
		t.Fatal("after the rollback the default bridge has IPv6: dockerd runs the new file")
	}
}
