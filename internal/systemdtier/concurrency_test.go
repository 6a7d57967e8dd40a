//go:build systemdtier

package systemdtier

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// f. Two applies at once on one host, from two working directories that
// manage different keys: both succeed (the daemon.json lock serialises
// them), the file is valid JSON holding both results (never torn, the
// second saw the first's write), and dockerd runs both.
func TestRealSystemd_twoAppliesAtOnce(t *testing.T) {
	setup(t)
	body1 := "  experimental = true"
	if sandbox.Engine() == "20" {
		body1 = "  ip6tables    = true\n  experimental = true"
	}
	w1 := newWorkdir(t, config("", body1))
	w2 := newWorkdir(t, config("", "  live_restore = true"))
	pluginDir(t) // build before the race starts
	var wg sync.WaitGroup
	var r1, r2 tfResult
	var e1, e2 error
	wg.Add(2)
	go func() {
		defer wg.Done()
		r1, e1 = w1.runErr(nil, "apply", "-auto-approve", "-input=false", "-no-color")
	}()
	go func() {
		defer wg.Done()
		r2, e2 = w2.runErr(nil, "apply", "-auto-approve", "-input=false", "-no-color")
	}()
	wg.Wait()
	if e1 != nil || e2 != nil {
		t.Fatalf("%v\n%v", e1, e2)
	}
	if r1.code != 0 || r2.code != 0 {
		t.Fatalf("both applies must succeed:\n%s\n%s", r1, r2)
	}
	b := readDaemonJSON(t)
	if !json.Valid(b) {
		t.Fatalf("daemon.json is not valid JSON after two concurrent applies:\n%s", b)
	}
	s := fileSettings(t)
	if s.Experimental == nil || !*s.Experimental || s.LiveRestore == nil || !*s.LiveRestore {
		t.Fatalf("daemon.json does not hold both applies' keys (one lost the other's write):\n%s", b)
	}
	requireUp(t, "after both applies")
	info := dockerInfo(t)
	if !info.ExperimentalBuild || !info.LiveRestoreEnabled {
		t.Fatalf("dockerd runs experimental=%v live-restore=%v, want both", info.ExperimentalBuild, info.LiveRestoreEnabled)
	}
	if sandbox.Engine() == "20" && !ip6Chain() {
		t.Fatal("no ip6tables nat DOCKER chain: ip6tables is not on")
	}
	mustEmptyPlan(t, w1)
	mustEmptyPlan(t, w2)
}
