package provider

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi/dockerapitest"
)

// A plan whose preview cannot ask the running dockerd (it hangs on /info)
// still knows restart_pending when the apply restarts through systemd: the
// apply either leaves dockerd running with the file or fails. Terraform makes
// the plan again during apply, and a value known in the plan it showed must
// stay known there ("Provider produced inconsistent final plan ...
// restart_pending: was known, but now unknown" on a busy fleet host). The
// user is told that the preview failed.
func TestAccDaemonConfig_previewFailsRestartPendingKnown(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Fatal("TF_ACC is not set: this test runs the real terraform binary")
	}
	file := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(file, []byte("{\n  \"log-level\": \"warn\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newTFWorkdir(t, `provider "dockeripv6" {
  docker_host = "`+dockerapitest.StuckDockerd(t, map[string]string{"/version": `{"Version":"26.1.5","ApiVersion":"1.45","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64"}`})+`"
}

resource "dockeripv6_daemon_config" "d" {
  path         = "`+file+`"
  live_restore = true
  restart {
    timeout = "2s"
  }
}
`)
	out := w.run("plan", "-input=false", "-out=plan.tfplan")
	if f := folded(out); !strings.Contains(f, "Warning: Cannot Preview The daemon.json Apply") ||
		!strings.Contains(f, "Whether applying restarts dockerd could not be told") {
		t.Fatalf("want the plan to warn that the preview failed, got:\n%s", out)
	}
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				After        map[string]any `json:"after"`
				AfterUnknown map[string]any `json:"after_unknown"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	shown := w.run("show", "-json", "plan.tfplan")
	if err := json.Unmarshal([]byte(shown), &plan); err != nil {
		t.Fatalf("terraform show -json: %v\n%s", err, shown)
	}
	if len(plan.ResourceChanges) != 1 {
		t.Fatalf("want one resource change, got %d:\n%s", len(plan.ResourceChanges), shown)
	}
	c := plan.ResourceChanges[0].Change
	if u, ok := c.AfterUnknown["restart_pending"]; ok && u == true {
		t.Fatalf("restart_pending is unknown in the plan:\n%s", shown)
	}
	if got, ok := c.After["restart_pending"]; !ok || got != false {
		t.Fatalf("restart_pending in the plan: %v (present: %t), want false", got, ok)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), "log-level") || strings.Contains(string(b), "live-restore") {
		t.Fatalf("a plan changed daemon.json: %q, %v", b, err)
	}
}
