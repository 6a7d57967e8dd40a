package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi/dockerapitest"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
)

// noSystemd is a machine without systemd's manager on its bus.
func noSystemd(context.Context) (*systemd.Client, error) {
	return nil, errors.New("cannot reach systemd over D-Bus: no bus in this test")
}

const versionBody = `{"Version":"20.10.24","ApiVersion":"1.41","MinAPIVersion":"1.12"}`

// within fails the test when f does not return in a minute: every call here
// must end by its own bound, far sooner.
func within[T any](t *testing.T, what string, f func() (T, error)) (T, error) {
	t.Helper()
	type out struct {
		v   T
		err error
	}
	ch := make(chan out, 1)
	go func() { v, err := f(); ch <- out{v, err} }()
	select {
	case o := <-ch:
		return o.v, o.err
	case <-time.After(time.Minute):
		t.Fatalf("%s did not return within a minute: it is not bounded", what)
		panic("unreachable")
	}
}

// A dockerd that answers /_ping and hangs on /version, or on /info: refresh,
// plan and apply each give up within their bound, say which request hung, for
// how long and what to look at, write nothing and leave the lock free.
func TestBoundsDockerdAnswersOnlyPing(t *testing.T) {
	for _, c := range []struct {
		name    string
		answers map[string]string
		hung    string
	}{
		{"version hangs", nil, "/version"},
		{"info hangs", map[string]string{"/version": versionBody}, "/info"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dockerHost := dockerapitest.StuckDockerd(t, c.answers)
			h := &Host{Docker: dockerapi.New(dockerHost), DialSystemd: noSystemd, CallBound: time.Second}
			path := filepath.Join(t.TempDir(), "docker", "daemon.json")
			const orig = "{\n  \"bip\": \"198.18.0.1/24\"\n}\n"
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
				t.Fatal(err)
			}
			// The request gets what is left of the 1s the step has (1s, or a
			// few milliseconds less after /version).
			said := regexp.MustCompile(regexp.QuoteMeta("dockerd at "+dockerHost+" answered /_ping but "+c.hung+" did not answer within ") + `(1s|9\d0ms): `)
			want := []string{"containerd or its storage may be stuck", "check `journalctl -u docker.service`"}
			check := func(what string, err error, more ...string) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s succeeded against a dockerd that does not answer %s", what, c.hung)
				}
				if !said.MatchString(err.Error()) {
					t.Errorf("%s: error does not match %s:\n%v", what, said, err)
				}
				for _, w := range append(want, more...) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error lacks %q:\n%v", what, w, err)
					}
				}
			}

			_, err := within(t, "Observe", func() (daemonconfig.RunningState, error) {
				return h.Observe(context.Background(), "docker.service")
			})
			check("Observe (refresh)", err)
			_, err = within(t, "DockerVersion", func() (daemonconfig.DockerVersion, error) {
				return h.DockerVersion(context.Background())
			})
			if c.hung == "/version" {
				check("DockerVersion", err)
			} else if err != nil {
				t.Fatalf("DockerVersion: %v", err)
			}
			_, err = within(t, "Gather", func() (struct{}, error) {
				_, err := h.Gather(context.Background(), path, "docker.service")
				return struct{}{}, err
			})
			check("Gather", err)

			req := daemonconfig.Request{Path: path, Set: daemonconfig.Settings{IP6Tables: daemonconfig.Bool(true), Experimental: daemonconfig.Bool(true)},
				Restart: daemonconfig.RestartPolicy{Method: daemonconfig.MethodSystemd, Unit: "docker.service", Timeout: time.Second}}
			_, err = within(t, "PlanDaemonConfig", func() (daemonconfig.Preview, error) {
				return h.PlanDaemonConfig(context.Background(), req)
			})
			check("PlanDaemonConfig", err, "An apply refuses to change daemon.json while dockerd does not answer")
			_, err = within(t, "ApplyDaemonConfig", func() (daemonconfig.Result, error) {
				return h.ApplyDaemonConfig(context.Background(), req)
			})
			check("ApplyDaemonConfig", err, "Nothing was written and dockerd was not restarted")
			t.Logf("apply said: %v", err)

			if b, _ := os.ReadFile(path); string(b) != orig {
				t.Errorf("daemon.json changed by a refused apply: %q", b)
			}
			if _, err := os.Stat(path + daemonconfig.BackupSuffix); !os.IsNotExist(err) {
				t.Errorf("a backup was written by a refused apply (%v)", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			unlock, err := daemonconfig.Lock(ctx, path)
			if err != nil {
				t.Fatalf("the lock is still held after the apply gave up: %v", err)
			}
			unlock()
		})
	}
}

// An apply that finds daemon.json locked by another for longer than its
// restart timeout gives up, naming the holder: pid, what it is, since when.
func TestBoundsLockHeldNamesHolder(t *testing.T) {
	dockerHost := dockerapitest.StuckDockerd(t, map[string]string{"/version": versionBody})
	h := &Host{Docker: dockerapi.New(dockerHost), DialSystemd: noSystemd, CallBound: time.Second}
	path := filepath.Join(t.TempDir(), "daemon.json")
	unlock, err := daemonconfig.Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	req := daemonconfig.Request{Path: path, Set: daemonconfig.Settings{LiveRestore: daemonconfig.Bool(true)},
		Restart: daemonconfig.RestartPolicy{Method: daemonconfig.MethodSystemd, Unit: "docker.service", Timeout: time.Second}}
	_, err = within(t, "ApplyDaemonConfig", func() (daemonconfig.Result, error) {
		return h.ApplyDaemonConfig(context.Background(), req)
	})
	if err == nil {
		t.Fatal("apply succeeded while another holds the lock")
	}
	holder := daemonconfig.ReadHolder(path + daemonconfig.LockSuffix)
	for _, w := range []string{
		"cannot lock daemon.json: " + path + " is being changed by process " + itoa(os.Getpid()),
		"dockeripv6 daemon.json transaction on " + path,
		"which has held the lock " + path + daemonconfig.LockSuffix + " since " + holder.Since.UTC().Format(time.RFC3339),
		"gave up after waiting 1s",
		"ps -o pid,etime,args -p " + itoa(os.Getpid()),
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("daemon.json was written without the lock (%v)", err)
	}
	t.Logf("apply said: %v", err)
}

func itoa(i int) string { return strconv.Itoa(i) }
