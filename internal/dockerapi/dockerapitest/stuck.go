// Package dockerapitest holds a dockerd stand-in for tests of what happens
// when the Docker API stops answering.
package dockerapitest

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// StuckDockerd is a dockerd whose containerd is stuck: it answers /_ping (and
// the paths in answers, by suffix, with their JSON bodies) on a unix socket
// and lets every other request hang until the test ends. It returns its
// docker_host.
func StuckDockerd(t testing.TB, answers map[string]string) string {
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
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			_, _ = w.Write([]byte("OK"))
			return
		}
		for suffix, body := range answers {
			if strings.HasSuffix(r.URL.Path, suffix) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
				return
			}
		}
		select { // hang
		case <-r.Context().Done():
		case <-stop:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		once.Do(func() { close(stop) })
		_ = srv.Close()
	})
	return "unix://" + sock
}
