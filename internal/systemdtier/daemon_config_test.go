//go:build systemdtier

package systemdtier

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// a. Apply, verify the running daemon, destroy: the keys go back and dockerd
// runs the old settings again. Each step is a real restart of Debian's
// docker.service by systemd, with docker.socket still serving.
func TestRealSystemd_applyVerifyDestroy(t *testing.T) {
	orig := setup(t)
	var body string
	var keys []string
	switch sandbox.Engine() {
	case "20":
		// 20.10 needs experimental for ip6tables.
		body, keys = "  ip6tables    = true\n  experimental = true", []string{"ip6tables", "experimental"}
	default:
		body, keys = "  live_restore = true", []string{"live-restore"}
	}
	w := newWorkdir(t, config("", body))
	before := show(t, "docker.service")
	r := w.apply()
	mustSucceed(t, r)
	after := requireRestarted(t, before, "after apply")

	got := readDaemonJSON(t)
	s := fileSettings(t)
	info := dockerInfo(t)
	switch sandbox.Engine() {
	case "20":
		if s.IP6Tables == nil || !*s.IP6Tables || s.Experimental == nil || !*s.Experimental {
			t.Fatalf("daemon.json does not hold ip6tables and experimental:\n%s", got)
		}
		if !info.ExperimentalBuild {
			t.Fatal("the restarted dockerd does not run experimental")
		}
		if !ip6Chain() {
			t.Fatal("the restarted dockerd made no ip6tables nat DOCKER chain: ip6tables is not on")
		}
	default:
		if s.LiveRestore == nil || !*s.LiveRestore {
			t.Fatalf("daemon.json does not hold live-restore:\n%s", got)
		}
		if !info.LiveRestoreEnabled {
			t.Fatal("the restarted dockerd does not run live-restore")
		}
	}
	// Nothing but the managed keys changed, byte for byte.
	back, err := daemonconfig.Remove(got, keys...)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, orig) {
		t.Fatalf("unmanaged content changed:\n--- before\n%s\n--- after, managed keys removed\n%s", orig, back)
	}
	mustEmptyPlan(t, w)

	r = w.destroy()
	mustSucceed(t, r)
	requireRestarted(t, after, "after destroy")
	if got := readDaemonJSON(t); !bytes.Equal(got, orig) {
		t.Fatalf("destroy did not put daemon.json back byte for byte:\n--- want\n%s\n--- got\n%s", orig, got)
	}
	info = dockerInfo(t)
	if info.ExperimentalBuild || info.LiveRestoreEnabled {
		t.Fatalf("after destroy dockerd still runs experimental=%v live-restore=%v", info.ExperimentalBuild, info.LiveRestoreEnabled)
	}
}

// b. A real start failure: a key nobody manages makes dockerd refuse the new
// file. The apply fails saying what dockerd said, the file is the old one
// byte for byte, and dockerd runs again (with the old file).
func TestRealSystemd_startFailureRolledBack(t *testing.T) {
	orig := setup(t)
	stray := withStrayGateway(orig)
	writeDaemonJSON(t, stray)
	restartDocker(t) // harmless while IPv6 is off
	resetFailed(t)
	before := show(t, "docker.service")

	w := newWorkdir(t, config("", ipv6Body))
	r := w.apply()
	if r.code == 0 {
		t.Fatalf("the apply succeeded, but dockerd cannot start with the stray default-gateway-v6:\n%s", r)
	}
	t.Logf("the provider said:\n%s", r.out)
	mustMatch(t, r,
		`Docker Daemon Did Not Come Back; Rolled Back`,
		`previous daemon.json is back in place`,
		`dockerd said:.*DefaultGatewayIPv6:fd3a:9c1e:77b0:77::1`,
	)
	if got := readDaemonJSON(t); !bytes.Equal(got, stray) {
		t.Fatalf("daemon.json after the failed apply is not the previous file:\n--- want\n%s\n--- got\n%s", stray, got)
	}
	requireRestarted(t, before, "after the rollback")
	mustMatch(t, r, `dockerd was restarted with it and is up`)
	if bridgeIPv6(t) {
		t.Fatal("after the rollback the default bridge has IPv6: dockerd runs the new file")
	}
}

// c. Several changes in a row, within the unit's start-limit interval (Debian's
// docker.service: StartLimitBurst=3 in 60 s): each apply is a restart, and
// each is verified.
func TestRealSystemd_changesInARow(t *testing.T) {
	setup(t)
	w := newWorkdir(t, "")
	start := time.Now()
	values := []bool{true, false, true, false, true}
	for i, v := range values {
		before := show(t, "docker.service")
		w.write(config("", "  live_restore = "+boolp(v)))
		r := w.apply()
		mustSucceed(t, r)
		when := fmt.Sprintf("apply %d (live_restore = %v, %s after the first)", i+1, v, time.Since(start).Round(time.Second))
		requireRestarted(t, before, when)
		if s := fileSettings(t); s.LiveRestore == nil || *s.LiveRestore != v {
			t.Fatalf("%s: daemon.json holds %v", when, s.LiveRestore)
		}
		if got := dockerInfo(t).LiveRestoreEnabled; got != v {
			t.Fatalf("%s: dockerd runs live-restore=%v", when, got)
		}
		if i == 3 && time.Since(start) > 60*time.Second {
			t.Fatalf("four applies took %s: more than the start-limit interval, so the test proves nothing about it", time.Since(start))
		}
	}
	t.Logf("%d applies, each a verified restart, in %s", len(values), time.Since(start).Round(time.Second))
	mustEmptyPlan(t, w)
}
