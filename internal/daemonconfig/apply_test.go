package daemonconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeHost is a machine with one daemon.json, a dockerd that runs the settings
// of the file it last started with, and a systemd that counts starts like
// Debian's docker.service (StartLimitBurst=3): the fourth start without a
// reset-failed is refused with start-limit-hit and leaves the unit failed.
type fakeHost struct {
	file    []byte
	exists  bool
	running *Settings // nil: dockerd is down
	version DockerVersion

	systemdDown   bool   // Systemd() fails
	apiDeaf       bool   // the API never answers after a restart
	refuseKey     string // dockerd fails to start while the file holds this key
	ignoreKey     string // dockerd starts but does not take this key's value
	validateSays  string // dockerd --validate refuses with this output
	startsLeft    int    // starts before the start limit trips (reset by ResetFailed)
	unitFailed    string // the unit's failed result ("" = not failed)
	socketFailed  bool
	rollbackFails bool // every start after the first failed one fails too
	// hang names a call that blocks, heeding no context, until forever is
	// closed: "lock", "version", "observe", "first job" (the first
	// restart job's Wait; later ones work).
	hang    string
	forever chan struct{}

	writes, restarts, resets int
	log                      []string
}

func newFakeHost(file string, running *Settings) *fakeHost {
	return &fakeHost{file: []byte(file), exists: file != "", running: running,
		version: DockerVersion{Major: 20, Minor: 10, Patch: 24}, startsLeft: 3}
}

// hangs blocks while the fake hangs on call, and then fails.
func (h *fakeHost) hangs(call string) error {
	if h.hang != call {
		return nil
	}
	<-h.forever
	return errors.New("answered too late")
}

func (h *fakeHost) LockConfig(context.Context, string) (func(), error) {
	if err := h.hangs("lock"); err != nil {
		return nil, err
	}
	h.log = append(h.log, "lock")
	return func() { h.log = append(h.log, "unlock") }, nil
}
func (h *fakeHost) ReadConfig(string) ([]byte, bool, error) { return h.file, h.exists, nil }
func (h *fakeHost) WriteConfig(_ string, data []byte) (string, error) {
	h.writes++
	h.file, h.exists = append([]byte(nil), data...), true
	h.log = append(h.log, "write")
	return "daemon.json" + BackupSuffix, nil
}
func (h *fakeHost) RestoreConfig(_ string, data []byte) error {
	h.file, h.exists = append([]byte(nil), data...), true
	h.log = append(h.log, "restore")
	return nil
}
func (h *fakeHost) RemoveConfig(string) error { h.file, h.exists = nil, false; return nil }
func (h *fakeHost) DockerVersion(context.Context) (DockerVersion, error) {
	if err := h.hangs("version"); err != nil {
		return DockerVersion{}, err
	}
	if h.running == nil {
		return DockerVersion{}, errors.New("cannot reach the Docker daemon at unix:///run/docker.sock")
	}
	return h.version, nil
}
func (h *fakeHost) Observe(context.Context, string) (RunningState, error) {
	if err := h.hangs("observe"); err != nil {
		return RunningState{}, err
	}
	if h.running == nil || h.apiDeaf {
		return RunningState{}, errors.New("cannot reach the Docker daemon at unix:///run/docker.sock")
	}
	r := *h.running
	def := func(v *bool, d bool) *bool {
		if v == nil {
			return Bool(d)
		}
		return v
	}
	chain := def(r.IP6Tables, false)
	return RunningState{Version: h.version, Experimental: def(r.Experimental, false), LiveRestore: def(r.LiveRestore, false),
		IP6TablesChain: chain, AbsentMeansDefault: true}, nil
}
func (h *fakeHost) WaitReady(ctx context.Context) error {
	if h.running == nil || h.apiDeaf {
		<-ctx.Done()
		return fmt.Errorf("cannot reach the Docker daemon: %w", ctx.Err())
	}
	return nil
}
func (h *fakeHost) ValidateConfig(_ context.Context, _ string, _ DockerVersion, _ []byte) (bool, string, error) {
	if h.validateSays != "" {
		return false, h.validateSays, nil
	}
	return true, "configuration OK", nil
}
func (h *fakeHost) Systemd(context.Context) (Systemd, error) {
	if h.systemdDown {
		return nil, errors.New("cannot reach systemd over D-Bus at unix:path=/run/dbus/system_bus_socket: connection refused")
	}
	return fakeSystemd{h}, nil
}
func (h *fakeHost) Journal(context.Context, string) string {
	if h.unitFailed != "" || h.running == nil {
		return "failed to start daemon: the file said no"
	}
	return "level=info msg=\"Daemon has completed initialization\""
}

type fakeSystemd struct{ h *fakeHost }

func (s fakeSystemd) UnitState(_ context.Context, unit string) (string, string, error) {
	if unit == "docker.socket" {
		if s.h.socketFailed {
			return "failed", "service-start-limit-hit", nil
		}
		return "active", "success", nil
	}
	if s.h.unitFailed != "" {
		return "failed", s.h.unitFailed, nil
	}
	return "active", "success", nil
}
func (s fakeSystemd) TriggeredBy(context.Context, string) ([]string, error) {
	return []string{"docker.socket"}, nil
}
func (s fakeSystemd) ResetFailed(_ context.Context, units ...string) error {
	s.h.resets++
	s.h.log = append(s.h.log, "reset-failed "+strings.Join(units, " "))
	s.h.startsLeft, s.h.unitFailed, s.h.socketFailed = 3, "", false
	return nil
}
func (s fakeSystemd) RestartJob(context.Context, string) (Job, error) {
	s.h.restarts++
	s.h.log = append(s.h.log, "restart")
	return fakeJob{h: s.h, hang: s.h.hang == "first job" && s.h.restarts == 1}, nil
}
func (s fakeSystemd) Close() {}

type fakeJob struct {
	h    *fakeHost
	hang bool // Wait blocks, heeding no context, until h.forever is closed
}

func (j fakeJob) Wait(context.Context, time.Duration) (string, error) {
	h := j.h
	if j.hang {
		<-h.forever
		return "", errors.New("answered too late")
	}
	if h.startsLeft == 0 {
		h.running, h.unitFailed, h.socketFailed = nil, "start-limit-hit", true
		return "failed", errors.New("start request repeated too quickly")
	}
	h.startsLeft--
	file, err := Parse(h.file)
	if err != nil {
		return "failed", err
	}
	failing := h.refuseKey != "" && strings.Contains(string(h.file), `"`+h.refuseKey+`"`)
	if failing || (h.rollbackFails && h.restarts > 1) {
		h.running, h.unitFailed = nil, "exit-code"
		// Restart=on-failure: systemd tries again at once, which counts too.
		if h.startsLeft > 0 {
			h.startsLeft--
		}
		return "failed", errors.New("unit failed with result exit-code")
	}
	if h.ignoreKey == KeyExperimental && file.Experimental != nil {
		file.Experimental = Bool(!*file.Experimental)
	}
	h.running, h.unitFailed = &file, ""
	return "done", nil
}

func policy() RestartPolicy {
	return RestartPolicy{Method: MethodSystemd, Unit: "docker.service", Timeout: time.Second}
}

// testPath is where the fake host keeps its daemon.json (nothing is written there).
const testPath = "/etc/docker/daemon.json"

func ip6tablesOn() Settings { return Settings{IP6Tables: Bool(true), Experimental: Bool(true)} }

const plainFile = "{\n  \"bip\": \"198.18.0.1/24\"\n}\n"

func TestApplyWritesRestartsVerifies(t *testing.T) {
	h := newFakeHost(plainFile, &Settings{})
	res, err := Apply(context.Background(), h, Request{Path: testPath, Set: ip6tablesOn(), Restart: policy()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Wrote || !res.Restarted || h.writes != 1 || h.restarts != 1 {
		t.Fatalf("wrote=%v restarted=%v writes=%d restarts=%d", res.Wrote, res.Restarted, h.writes, h.restarts)
	}
	if !strings.Contains(string(h.file), `"bip": "198.18.0.1/24"`) || !strings.Contains(string(h.file), `"ip6tables": true`) {
		t.Fatalf("file = %s", h.file)
	}
	if got := string(res.Before[KeyIP6Tables]); got != "" || res.Before[KeyIP6Tables] != nil {
		t.Fatalf("before[ip6tables] = %q, want nil (absent)", got)
	}
	if _, ok := res.Before[KeyExperimental]; !ok {
		t.Fatalf("before lacks experimental: %v", res.Before)
	}
	if h.log[0] != "lock" || h.log[len(h.log)-1] != "unlock" {
		t.Fatalf("the transaction did not run under the lock: %v", h.log)
	}
	// Applying again: the file holds the values and dockerd runs them: nothing to do.
	res, err = Apply(context.Background(), h, Request{Path: testPath, Set: ip6tablesOn(), Before: res.Before, Restart: policy()})
	if err != nil || res.Wrote || res.Restarted || h.restarts != 1 {
		t.Fatalf("second apply: err=%v wrote=%v restarted=%v restarts=%d", err, res.Wrote, res.Restarted, h.restarts)
	}
}

// Defect 1 of issue 10: the file already holds the values but dockerd runs without them.
func TestApplyFileHoldsValuesDaemonDoesNot(t *testing.T) {
	file := "{\n  \"bip\": \"198.18.0.1/24\",\n  \"ip6tables\": true,\n  \"experimental\": true\n}\n"
	h := newFakeHost(file, &Settings{})
	p, err := Plan(context.Background(), h, Request{Path: testPath, Set: ip6tablesOn(), Restart: policy()})
	if err != nil {
		t.Fatal(err)
	}
	if p.Changed || !p.Restart || !strings.Contains(strings.Join(p.Why, ";"), "does not have the file's ip6tables, experimental") {
		t.Fatalf("plan: changed=%v restart=%v why=%q", p.Changed, p.Restart, p.Why)
	}
	res, err := Apply(context.Background(), h, Request{Path: testPath, Set: ip6tablesOn(), Restart: policy()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Wrote || !res.Restarted || h.restarts != 1 || h.running == nil || !*h.running.Experimental {
		t.Fatalf("wrote=%v restarted=%v restarts=%d running=%+v", res.Wrote, res.Restarted, h.restarts, h.running)
	}
}

// Defect 2 of issue 10: the file holds the values and dockerd is down.
func TestApplyDaemonDownIsStarted(t *testing.T) {
	file := "{\"ip6tables\": true, \"experimental\": true}"
	h := newFakeHost(file, nil)
	p, err := Plan(context.Background(), h, Request{Path: testPath, Set: ip6tablesOn(), Restart: policy()})
	if err != nil || !p.Restart || !strings.Contains(strings.Join(p.Why, ";"), "dockerd is not answering") {
		t.Fatalf("plan: err=%v restart=%v why=%q", err, p.Restart, p.Why)
	}
	res, err := Apply(context.Background(), h, Request{Path: testPath, Set: ip6tablesOn(), Restart: policy()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Restarted || h.running == nil || res.Version.Major != 20 {
		t.Fatalf("restarted=%v running=%v version=%v", res.Restarted, h.running, res.Version)
	}
	// With method none the same situation is pending, never "not pending".
	h = newFakeHost(file, nil)
	res, err = Apply(context.Background(), h, Request{Path: testPath, Set: ip6tablesOn(),
		Restart: RestartPolicy{Method: MethodNone, Unit: "docker.service", Timeout: time.Second}})
	if err != nil || !res.Pending || h.restarts != 0 {
		t.Fatalf("method none: err=%v pending=%v restarts=%d", err, res.Pending, h.restarts)
	}
}

func TestApplyFailurePaths(t *testing.T) {
	cases := []struct {
		name      string
		setup     func(h *fakeHost)
		wantErr   []string // substrings of the error a user reads
		refused   bool     // nothing written
		fileBack  bool     // the original file is back
		up        bool     // dockerd answers afterwards
		noJournal bool     // dockerd did not fail to start: nothing of its log is quoted
	}{
		{name: "validate refused", setup: func(h *fakeHost) {
			h.version = DockerVersion{Major: 29, Minor: 8}
			h.validateSays = "the following directives are specified both as a flag and in the configuration file: ip6tables"
		}, wantErr: []string{"dockerd --validate", "both as a flag"}, refused: true, up: true},
		{name: "version rules refuse", setup: func(h *fakeHost) {}, wantErr: []string{"experimental"}, refused: true, up: true},
		{name: "restart job failed", setup: func(h *fakeHost) { h.refuseKey = KeyIP6Tables },
			wantErr:  []string{`restart job of docker.service ended with "failed"`, "previous daemon.json is back", "restarted with it and is up", "dockerd said:\nfailed to start daemon"},
			fileBack: true, up: true},
		{name: "API not back within timeout", setup: func(h *fakeHost) { h.apiDeaf = true },
			wantErr: []string{"the Docker API did not answer within 1s", "previous daemon.json is back"}, fileBack: true, noJournal: true},
		{name: "settings not taken", setup: func(h *fakeHost) { h.ignoreKey = KeyExperimental },
			wantErr: []string{"does not show the new value of experimental", "previous daemon.json is back", "is up"}, fileBack: true, up: true},
		{name: "systemd unreachable", setup: func(h *fakeHost) { h.systemdDown = true },
			wantErr:  []string{"systemd could not be reached", "previous daemon.json is back", "systemd unreachable", "dockerd is running"},
			fileBack: true, up: true},
		{name: "rollback restart failed", setup: func(h *fakeHost) { h.refuseKey = KeyIP6Tables; h.rollbackFails = true },
			wantErr: []string{"previous daemon.json is back", "restarting dockerd with the previous file failed too", "dockerd is DOWN"}, fileBack: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newFakeHost(plainFile, &Settings{})
			c.setup(h)
			set := ip6tablesOn()
			if c.name == "version rules refuse" {
				set = Settings{IP6Tables: Bool(true)} // 20.10 needs experimental with it
			}
			_, err := Apply(context.Background(), h, Request{Path: testPath, Set: set, Restart: policy()})
			if err == nil {
				t.Fatal("apply succeeded")
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			var refused *RefusedError
			if c.refused != errors.As(err, &refused) {
				t.Errorf("refused = %v, want %v (%T)", !c.refused, c.refused, err)
			}
			if c.refused && h.writes != 0 {
				t.Errorf("a refused file was written")
			}
			if !c.refused && !IsRolledBack(err) {
				t.Errorf("error is %T, want *RolledBackError", err)
			}
			if c.noJournal && strings.Contains(err.Error(), "dockerd said") {
				t.Errorf("quotes dockerd's log though dockerd did not fail to start:\n%v", err)
			}
			if c.fileBack && string(h.file) != plainFile {
				t.Errorf("file after rollback = %q, want the original", h.file)
			}
			if up := h.running != nil && !h.apiDeaf; up != c.up {
				t.Errorf("dockerd up = %v, want %v", up, c.up)
			}
		})
	}
}

// A rollback that meets the start limit gets dockerd back by resetting the
// unit's failed state first, and says so.
func TestApplyStartLimitIsReset(t *testing.T) {
	h := newFakeHost(plainFile, &Settings{})
	h.refuseKey = KeyIP6Tables
	h.startsLeft = 1 // the boot and an earlier apply used two of the three starts
	_, err := Apply(context.Background(), h, Request{Path: testPath, Set: ip6tablesOn(), Restart: policy()})
	if !IsRolledBack(err) {
		t.Fatalf("err = %v", err)
	}
	if h.running == nil || string(h.file) != plainFile {
		t.Fatalf("dockerd down (%v) or file not back (%q) after the rollback", h.running == nil, h.file)
	}
	if !strings.Contains(err.Error(), "systemd held docker.service failed (result exit-code)") ||
		!strings.Contains(err.Error(), "reset-failed") || !strings.Contains(err.Error(), "restarted with it and is up") {
		t.Fatalf("error does not tell the reset:\n%v", err)
	}
	want := []string{"reset-failed docker.service docker.socket", "restart"}
	for i, l := range h.log {
		if l == "write" {
			if h.log[i+1] != want[0] || h.log[i+2] != want[1] {
				t.Fatalf("after the write: %v, want %v", h.log[i+1:], want)
			}
			break
		}
	}
	// A unit already held failed by the start limit (a fourth apply in a minute).
	h = newFakeHost(plainFile, nil)
	h.startsLeft, h.unitFailed, h.socketFailed = 0, "start-limit-hit", true
	res, err := Apply(context.Background(), h, Request{Path: testPath, Set: ip6tablesOn(), Restart: policy()})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(res.Notes, "\n")
	if !res.Restarted || !strings.Contains(notes, "docker.service failed (result start-limit-hit)") ||
		!strings.Contains(notes, "docker.socket failed (result service-start-limit-hit)") {
		t.Fatalf("restarted=%v notes=%q", res.Restarted, notes)
	}
}

func TestApplyReleaseAndDestroyPutKeysBack(t *testing.T) {
	orig := "{\n  \"bip\": \"198.18.0.1/24\",\n  \"live-restore\": false\n}\n"
	h := newFakeHost(orig, &Settings{LiveRestore: Bool(false)})
	set := Settings{IP6Tables: Bool(true), Experimental: Bool(true), LiveRestore: Bool(true)}
	res, err := Apply(context.Background(), h, Request{Path: testPath, Set: set, Restart: policy()})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Before[KeyLiveRestore]) != "false" {
		t.Fatalf("before = %v", res.Before)
	}
	// live-restore no longer managed: it goes back to false.
	res, err = Apply(context.Background(), h, Request{Path: testPath, Set: ip6tablesOn(), Release: []string{KeyLiveRestore},
		Before: res.Before, Restart: policy()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(h.file), `"live-restore": false`) {
		t.Fatalf("live-restore not put back: %s", h.file)
	}
	if _, ok := res.Before[KeyLiveRestore]; ok {
		t.Fatalf("released key still in before: %v", res.Before)
	}
	raw, _ := json.Marshal(res.Before)
	_, err = Apply(context.Background(), h, Request{Path: testPath, Destroy: true, Before: res.Before, Restart: policy()})
	if err != nil {
		t.Fatal(err)
	}
	if string(h.file) != orig {
		t.Fatalf("destroy with before %s left %q, want %q", raw, h.file, orig)
	}
}

// IsRolledBack reports whether err is a *RolledBackError.
func IsRolledBack(err error) bool {
	var rb *RolledBackError
	return errors.As(err, &rb)
}

// A host whose calls heed no context cannot hold an apply: each step is cut
// off by its bound (restart.timeout 1s here), the error names the step, and
// a hang after the write still leaves time for the rollback.
func TestApplyBoundsHostThatHangs(t *testing.T) {
	cases := []struct {
		hang     string
		want     []string
		rolled   bool
		unlocked bool
	}{
		{hang: "lock", want: []string{"cannot lock daemon.json: waiting for daemon.json's lock did not finish within 1s: another apply holds it"}},
		{hang: "version", unlocked: true, want: []string{
			"asking dockerd for its version (/version) did not finish within 1s: dockerd may be stuck (containerd or its storage); check `journalctl -u docker.service`",
			"Nothing was written and dockerd was not restarted"}},
		{hang: "observe", unlocked: true, want: []string{
			"reading what the running dockerd does did not finish within 1s: dockerd may be stuck",
			"Nothing was written and dockerd was not restarted"}},
		{hang: "first job", rolled: true, unlocked: true, want: []string{
			`the restart job of docker.service ended with "": systemd's restart job of docker.service did not finish within 2s: look at ` + "`systemctl status docker.service`",
			"previous daemon.json is back in place", "dockerd was restarted with it and is up"}},
	}
	for _, c := range cases {
		t.Run(c.hang, func(t *testing.T) {
			h := newFakeHost(plainFile, &Settings{})
			h.hang, h.forever = c.hang, make(chan struct{})
			defer close(h.forever)
			done := make(chan error, 1)
			go func() {
				_, err := Apply(context.Background(), h, Request{Path: testPath, Set: ip6tablesOn(), Restart: policy()})
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("Apply did not return within a minute: not bounded")
			}
			if err == nil {
				t.Fatal("apply succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if IsRolledBack(err) != c.rolled {
				t.Errorf("rolled back = %v, want %v (%T)", !c.rolled, c.rolled, err)
			}
			if !c.rolled && h.writes != 0 {
				t.Errorf("daemon.json was written before a step that hung")
			}
			if string(h.file) != plainFile {
				t.Errorf("file after the apply = %q, want the original", h.file)
			}
			if c.unlocked && h.log[len(h.log)-1] != "unlock" {
				t.Errorf("the lock was not released: %v", h.log)
			}
		})
	}
}

// diskHost is fakeHost with daemon.json on disk: WriteFile, ReplaceFile.
type diskHost struct {
	*fakeHost
	dir string
}

func (d diskHost) ReadConfig(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	return b, err == nil, err
}
func (d diskHost) WriteConfig(path string, data []byte) (string, error) {
	d.writes++
	d.file = append([]byte(nil), data...)
	return WriteFile(path, data)
}
func (d diskHost) RestoreConfig(path string, data []byte) error {
	d.file = append([]byte(nil), data...)
	return ReplaceFile(path, data)
}

// A refused file rolled back leaves the backup as the last good file: the
// one put back, not the one dockerd refused.
func TestApplyRollbackKeepsLastGoodBackup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(path, []byte(plainFile), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newFakeHost(plainFile, &Settings{})
	h.refuseKey = KeyIP6Tables
	_, err := Apply(context.Background(), diskHost{h, filepath.Dir(path)}, Request{Path: path, Set: ip6tablesOn(), Restart: policy()})
	if !IsRolledBack(err) || !strings.Contains(err.Error(), "previous daemon.json is back in place") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != plainFile {
		t.Fatalf("daemon.json after the rollback = %q", b)
	}
	if b, _ := os.ReadFile(path + BackupSuffix); string(b) != plainFile {
		t.Fatalf("the backup holds %q after the rollback, want the last good file %q", b, plainFile)
	}
}

// Requests the provider cannot carry out as meant are refused before anything
// is read or written, saying what to give instead.
func TestRequestCheckRefuses(t *testing.T) {
	for _, c := range []struct {
		req  Request
		want string
	}{
		{Request{Path: "daemon.json", Restart: policy()}, `Invalid daemon.json Path: "daemon.json" is a relative path: dockerd reads daemon.json by an absolute path (default /etc/docker/daemon.json)`},
		{Request{Path: "", Restart: policy()}, "the path of daemon.json is empty"},
		{Request{Path: testPath, Restart: RestartPolicy{Method: MethodSystemd, Unit: "docker.service", Timeout: time.Nanosecond}},
			"Invalid Restart Timeout: restart timeout 1ns is too short: dockerd needs seconds to restart, and every wait of the apply derives from this value; use at least 1s (the default is 1m30s)"},
		{Request{Path: testPath, Restart: RestartPolicy{Method: MethodSystemd, Unit: "docker.service", Timeout: 500 * time.Millisecond}}, "restart timeout 500ms is too short"},
		{Request{Path: testPath, Restart: RestartPolicy{Method: MethodSystemd, Unit: "docker.service", Timeout: 2 * time.Hour}}, "restart timeout 2h0m0s is longer than 1h0m0s"},
	} {
		h := newFakeHost(plainFile, &Settings{})
		c.req.Set = ip6tablesOn()
		_, aerr := Apply(context.Background(), h, c.req)
		_, perr := Plan(context.Background(), h, c.req)
		for _, err := range []error{aerr, perr} {
			var refused *RefusedError
			if !errors.As(err, &refused) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%+v: err = %v, want a refusal with %q", c.req, err, c.want)
			}
		}
		if len(h.log) != 0 || h.writes != 0 {
			t.Errorf("%+v: the host was used: %v", c.req, h.log)
		}
	}
}

func TestBoundsFor(t *testing.T) {
	b := BoundsFor(0)
	if b.Call != 30*time.Second || b.Lock != 90*time.Second || b.Job != 90*time.Second || b.Grace != 2*time.Second {
		t.Fatalf("default bounds %+v", b)
	}
	if b.Total != b.Forward+b.Rollback+2*b.Grace || b.Rollback < b.Job+b.Ready {
		t.Fatalf("the cap leaves the rollback no room: %+v", b)
	}
	if s := BoundsFor(5 * time.Second); s.Call != 5*time.Second || s.Forward != 5*time.Second*7 {
		t.Fatalf("bounds for 5s: %+v", s)
	}
}
