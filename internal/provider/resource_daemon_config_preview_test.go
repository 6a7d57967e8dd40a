package provider

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// stuckDockerd answers /_ping and /version on a unix socket and lets every
// other request (/info: what the running daemon does) hang until the test
// ends: a dockerd whose containerd is wedged. It returns its docker_host.
func stuckDockerd(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var once sync.Once
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			_, _ = w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/version"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"Version":"26.1.5","ApiVersion":"1.45","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64"}`))
		default:
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		once.Do(func() { close(stop) })
		_ = srv.Close()
	})
	return "unix://" + sock
}

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
  docker_host = "`+stuckDockerd(t)+`"
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
