package daemonconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/faults"
)

// Host is what the daemon.json transaction needs from the machine dockerd runs
// on. internal/host implements it for this machine; tests use a fake.
type Host interface {
	// LockConfig takes the daemon.json lock (see Lock) until unlock is called;
	// when ctx ends first, the error names the holder.
	LockConfig(ctx context.Context, path string) (unlock func(), err error)
	// ReadConfig reads daemon.json; a missing file is (nil, false, nil).
	ReadConfig(path string) (data []byte, exists bool, err error)
	// WriteConfig replaces daemon.json atomically, keeping a backup (see WriteFile).
	WriteConfig(path string, data []byte) (backup string, err error)
	// RestoreConfig puts earlier bytes back atomically (the rollback), leaving
	// the backup as it is: it keeps the last good file (see ReplaceFile).
	RestoreConfig(path string, data []byte) error
	// RemoveConfig removes daemon.json (the rollback of a file that did not exist).
	RemoveConfig(path string) error

	// DockerVersion is the running daemon's release.
	DockerVersion(ctx context.Context) (DockerVersion, error)
	// Observe reads what the running dockerd shows of the owned settings. An
	// error means the daemon could not be asked (it is down, or not answering).
	Observe(ctx context.Context, unit string) (RunningState, error)
	// WaitReady waits until the Docker API answers or ctx ends.
	WaitReady(ctx context.Context) error
	// ValidateConfig runs `dockerd --validate` (Docker 23.0+) on candidate with
	// the unit's own flags: ok false with dockerd's output when it refuses the
	// file; an error when the check could not run at all.
	ValidateConfig(ctx context.Context, unit string, v DockerVersion, candidate []byte) (ok bool, output string, err error)

	// Systemd connects to systemd's manager.
	Systemd(ctx context.Context) (Systemd, error)
	// Journal is what the unit logged about its last failure ("" when unknown).
	Journal(ctx context.Context, unit string) string
}

// Systemd is the part of systemd's manager the transaction uses.
type Systemd interface {
	// UnitState reads a unit's ActiveState ("active", "failed", ...) and its
	// last Result ("success", "exit-code", "start-limit-hit", ...).
	UnitState(ctx context.Context, unit string) (active, result string, err error)
	// TriggeredBy lists the units that activate unit (docker.socket).
	TriggeredBy(ctx context.Context, unit string) ([]string, error)
	// ResetFailed is `systemctl reset-failed`: failed state and start limit.
	ResetFailed(ctx context.Context, units ...string) error
	// RestartJob queues a restart (which also starts a stopped unit).
	RestartJob(ctx context.Context, unit string) (Job, error)
	Close()
}

// Job is a queued systemd job.
type Job interface {
	// Wait waits at most timeout for the job's result; not "done" is an error.
	Wait(ctx context.Context, timeout time.Duration) (string, error)
}

// Restart methods.
const (
	// MethodSystemd restarts the unit over D-Bus, waits for it and verifies.
	MethodSystemd = "systemd"
	// MethodNone only writes the file; the running daemon is left as it is.
	MethodNone = "none"
)

// RestartPolicy says how an apply makes dockerd read the file.
type RestartPolicy struct {
	Method  string        // MethodSystemd or MethodNone
	Unit    string        // e.g. docker.service
	Timeout time.Duration // for the restart job, then again for the API
}

// Request is one apply (or destroy) of the owned keys.
type Request struct {
	Path string
	// Set are the owned keys and their values (nil fields: not owned).
	Set Settings
	// Release lists keys owned until now and no longer: each goes back to its
	// value in Before.
	Release []string
	// Before holds each owned key's raw value from before it was taken (nil:
	// the key was absent). Apply adds the keys it takes and returns the map.
	Before map[string]json.RawMessage
	// Destroy puts every key of Before back and owns nothing afterwards.
	Destroy bool
	// Pending: the last apply left restart_pending (the file was written
	// without a restart), so a restart is due even if nothing observable differs.
	Pending bool
	Restart RestartPolicy
}

// Result is what an apply did and found.
type Result struct {
	// Before is Request.Before with the keys taken now (empty after Destroy).
	Before map[string]json.RawMessage
	// Wrote: daemon.json was replaced; Backup is where the previous bytes are.
	Wrote  bool
	Backup string
	// Restarted: dockerd was restarted and verified; Why says what made it due.
	Restarted bool
	Why       []string
	// Pending (method none): daemon.json asks for something dockerd does not do.
	Pending bool
	// Version of the daemon after the apply (zero when not known).
	Version DockerVersion
	// Notes are things an operator wants to know (a start limit reset, ...).
	Notes    []string
	Downtime time.Duration
}

// RefusedError: the candidate file was refused before anything was written.
type RefusedError struct {
	Summary, Detail string
}

func (e *RefusedError) Error() string { return e.Summary + ": " + e.Detail }

// RolledBackError: the apply failed after the write (or after deciding to
// restart) and the previous state was put back as far as it could be.
type RolledBackError struct {
	// Failure is what went wrong, e.g. "the restart job of docker.service ended with "failed"".
	Failure string
	// Restored says what became of daemon.json.
	Restored string
	// Up says whether dockerd is running afterwards.
	Up string
	// DaemonUp: dockerd answered after the rollback.
	DaemonUp bool
	// Said is what the unit logged (journal), "" when nothing was found.
	Said string
	// Notes as in Result (start limit resets on the way).
	Notes []string
}

func (e *RolledBackError) Error() string {
	s := fmt.Sprintf("Applying daemon.json failed: %s.\n\n%s, and %s.", e.Failure, capitalize(e.Restored), e.Up)
	if len(e.Notes) > 0 {
		s += "\n\n" + strings.Join(e.Notes, "\n")
	}
	if e.Said != "" {
		s += "\n\ndockerd said:\n" + e.Said
	}
	return s
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Preview is what an apply of a request would do, as far as can be told
// without writing: for plan-time warnings.
type Preview struct {
	// Changed: the merged file differs from daemon.json on disk.
	Changed bool
	// Candidate is the merged file's settings.
	Candidate Settings
	// Restart: an apply with MethodSystemd restarts dockerd; Why says why.
	Restart bool
	Why     []string
	// ObserveErr is set when the running daemon could not be asked.
	ObserveErr error
}

// Plan previews req (read only: no lock, no write). It takes at most 2*Call
// of the request's Bounds: a dockerd that does not answer in time is an error
// (an apply would refuse it), one that is down is a reason to restart.
func Plan(ctx context.Context, h Host, req Request) (Preview, error) {
	if err := req.Check(); err != nil {
		return Preview{}, err
	}
	tx := &transaction{h: h, req: req, b: BoundsFor(req.Restart.Timeout)}
	original, _, err := tx.readConfig(ctx)
	if err != nil {
		return Preview{}, err
	}
	candidate, _, err := merged(original, req)
	if err != nil {
		return Preview{}, err
	}
	s, err := Parse(candidate)
	if err != nil {
		return Preview{}, err
	}
	p := Preview{Changed: !bytes.Equal(original, candidate), Candidate: s}
	running, obsErr := tx.observe(ctx, "reading what the running dockerd does")
	if isTimeout(obsErr) {
		return p, withAdvice(obsErr, "An apply refuses to change daemon.json while dockerd does not answer.")
	}
	p.ObserveErr = obsErr
	p.Why = restartReasons(p.Changed, req.Pending, s, running, obsErr)
	p.Restart = len(p.Why) > 0
	return p, nil
}

// merged is the file req asks for, and the Before map that goes with it.
func merged(original []byte, req Request) ([]byte, map[string]json.RawMessage, error) {
	before := maps.Clone(req.Before)
	if before == nil {
		before = map[string]json.RawMessage{}
	}
	if req.Destroy {
		out, err := Restore(original, before)
		return out, map[string]json.RawMessage{}, err
	}
	var taken []string
	for _, k := range req.Set.Keys() {
		if _, ok := before[k]; !ok {
			taken = append(taken, k)
		}
	}
	snap, err := Snapshot(original, taken...)
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(before, snap)
	base := original
	if len(req.Release) > 0 {
		back := map[string]json.RawMessage{}
		for _, k := range req.Release {
			if slices.Contains(req.Set.Keys(), k) {
				continue
			}
			back[k] = before[k]
			delete(before, k)
		}
		if base, err = Restore(original, back); err != nil {
			return nil, nil, err
		}
	}
	out, err := Merge(base, req.Set)
	return out, before, err
}

// restartReasons says why dockerd must be restarted for the file to be what
// it runs with; none means the running daemon already matches.
func restartReasons(changed, pending bool, file Settings, running RunningState, obsErr error) []string {
	var why []string
	if changed {
		why = append(why, "daemon.json changes")
	}
	if obsErr != nil {
		return append(why, "dockerd is not answering ("+obsErr.Error()+")")
	}
	if keys := PendingKeys(file, running); len(keys) > 0 {
		why = append(why, "the running dockerd does not have the file's "+strings.Join(keys, ", ")+" yet")
	} else if pending && !changed {
		why = append(why, "daemon.json was written earlier without a restart (restart_pending)")
	}
	return why
}

// Apply merges req into daemon.json and makes the running dockerd use it:
// validate, write atomically with a backup, restart through systemd (after
// clearing a failed state or start limit), wait, verify. It verifies on every
// path, including "the file already holds the values": a dockerd that runs
// other settings, or none at all, is restarted. On a failure after the write
// the previous file is put back and dockerd restarted again; the error is a
// *RolledBackError. A file refused before the write gives a *RefusedError.
//
// Every step has a bound derived from req.Restart.Timeout (see Bounds), and
// Apply as a whole ends within Bounds.Total even when ctx has no deadline:
// the steps before a rollback share Bounds.Forward, the rollback has its own
// Bounds.Rollback. A dockerd that accepts requests and does not answer them
// (it answers /_ping, but /version or /info hangs) is neither written for nor
// restarted: Apply says which request hung and gives up.
func Apply(ctx context.Context, h Host, req Request) (Result, error) {
	if err := req.Check(); err != nil {
		return Result{}, err
	}
	b := BoundsFor(req.Restart.Timeout)
	// The systemd connection lives for the whole transaction, rollback included.
	txCtx, txCancel := context.WithTimeout(context.WithoutCancel(ctx), b.Total)
	defer txCancel()
	fctx, cancel := context.WithTimeout(ctx, b.Forward)
	defer cancel()
	tx := &transaction{h: h, req: req, b: b, txCtx: txCtx}

	unlock, err := tx.lock(fctx)
	if err != nil {
		return Result{}, fmt.Errorf("cannot lock daemon.json: %w", err)
	}
	defer unlock()

	original, existed, err := tx.readConfig(fctx)
	if err != nil {
		return Result{}, err
	}
	tx.original, tx.existed = original, existed
	candidate, before, err := merged(original, req)
	if err != nil {
		return Result{}, &RefusedError{Summary: "Malformed daemon.json",
			Detail: fmt.Sprintf("%s: %v. The provider never writes a file it cannot parse; fix it by hand first.", req.Path, err)}
	}
	res := Result{Before: before}
	fileSettings, err := Parse(candidate)
	if err != nil {
		return res, &RefusedError{Summary: "Cannot Parse Merged daemon.json", Detail: err.Error()}
	}
	changed := !bytes.Equal(original, candidate)
	tx.changed = changed
	version, verr := callStep[DockerVersion](b, "asking dockerd for its version (/version)", dockerHint(req.Restart.Unit)).
		run(fctx, h.DockerVersion)
	if isTimeout(verr) {
		return res, notAnswering(verr)
	}
	if verr == nil {
		res.Version = version
		var msgs []string
		for _, d := range (Validator{}).Validate(fileSettings, version) {
			if d.Severity == SeverityError {
				msgs = append(msgs, d.Summary+": "+d.Detail)
			}
		}
		if len(msgs) > 0 {
			return res, &RefusedError{Summary: "daemon.json Refused For Docker " + version.String(),
				Detail: strings.Join(msgs, "\n") + " (checked at apply; nothing was written)"}
		}
		if changed && version.AtLeast(23, 0) {
			type verdict struct {
				ok  bool
				out string
			}
			// A check that cannot run (or hangs) does not stop the apply:
			// the restart and the verification still judge the file.
			v, err := callStep[verdict](b, "`dockerd --validate`", "").run(fctx, func(ctx context.Context) (verdict, error) {
				ok, out, err := h.ValidateConfig(ctx, req.Restart.Unit, version, candidate)
				return verdict{ok, out}, err
			})
			if err == nil && !v.ok {
				return res, &RefusedError{Summary: "dockerd Refuses The New daemon.json",
					Detail: "`dockerd --validate` rejected the merged file, so nothing was written: " + v.out}
			}
		}
	}

	running, obsErr := tx.observe(fctx, "reading what the running dockerd does")
	if isTimeout(obsErr) {
		return res, notAnswering(obsErr)
	}
	if err := fctx.Err(); err != nil {
		return res, fmt.Errorf("the apply was cancelled before daemon.json was written (%w); nothing was changed", err)
	}
	if req.Restart.Method == MethodNone {
		if changed {
			if res.Backup, err = h.WriteConfig(req.Path, candidate); err != nil {
				return res, fmt.Errorf("cannot write daemon.json: %w", err)
			}
			res.Wrote = true
		}
		res.Pending = len(restartReasons(changed, req.Pending, fileSettings, running, obsErr)) > 0
		return res, nil
	}
	res.Why = restartReasons(changed, req.Pending, fileSettings, running, obsErr)
	if len(res.Why) == 0 {
		return res, nil // the file holds the values and dockerd runs with them
	}

	if changed {
		if res.Backup, err = h.WriteConfig(req.Path, candidate); err != nil {
			return res, fmt.Errorf("cannot write daemon.json: %w", err)
		}
		tx.backup = res.Backup
		res.Wrote = true
		faults.At(faults.AfterWrite)
	}
	sd, err := callStep[Systemd](b, "connecting to systemd over D-Bus", systemdHint).
		withLate(func(s Systemd) { s.Close() }).runKeeping(fctx, txCtx, h.Systemd)
	if err != nil {
		return res, tx.rollback(ctx, nil, "systemd could not be reached: "+err.Error())
	}
	defer sd.Close()
	tx.sd = sd

	start := time.Now()
	failure, jobDone := tx.restart(fctx, faults.DuringRestart)
	tx.startFailed = failure != "" && !jobDone
	res.Downtime = time.Since(start)
	if failure == "" {
		v, keys, err := tx.verify(fctx, fileSettings)
		switch {
		case err != nil:
			failure = "the restarted daemon could not be inspected: " + err.Error()
		case len(keys) > 0:
			failure = fmt.Sprintf("dockerd restarted but does not show the new value of %s", strings.Join(keys, ", "))
		default:
			res.Version = v
		}
	}
	res.Notes = tx.notes
	if failure != "" {
		return res, tx.rollback(ctx, sd, failure)
	}
	res.Restarted = true
	return res, nil
}

// notAnswering is the error of an apply that met a dockerd that accepts
// requests and does not answer them.
func notAnswering(err error) error {
	return withAdvice(err, "Nothing was written and dockerd was not restarted: a daemon that does not answer can be neither checked before a change nor verified after it. Apply again once it answers (`docker info` returns), or after restarting it by hand.")
}

// adviceError is an error followed by a paragraph of advice.
type adviceError struct {
	err    error
	advice string
}

func withAdvice(err error, advice string) error { return &adviceError{err, advice} }
func (e *adviceError) Error() string            { return e.err.Error() + ".\n\n" + e.advice }
func (e *adviceError) Unwrap() error            { return e.err }

// Hints of the bounded steps: what to look at when one hangs.
const (
	systemdHint = "systemd or the D-Bus system bus is not answering; check that `systemctl status` answers and look at `journalctl -b -u dbus`"
	fileHint    = "the file system that holds daemon.json may be stuck (a hung network mount?)"
)

func dockerHint(unit string) string {
	return "dockerd may be stuck (containerd or its storage); check `journalctl -u " + unitOr(unit) + "` and `systemctl status containerd`"
}

func unitOr(unit string) string {
	if unit == "" {
		return "docker.service"
	}
	return unit
}

// callStep is a step bounded by b.Call.
func callStep[T any](b Bounds, what, hint string) stepSpec[T] {
	return stepSpec[T]{what: what, hint: hint, bound: b.Call, grace: b.Grace}
}

func (s stepSpec[T]) withLate(f func(T)) stepSpec[T] { s.late = f; return s }

func (s stepSpec[T]) withRaw() stepSpec[T] { s.raw = true; return s }

func (s stepSpec[T]) withBound(d time.Duration) stepSpec[T] { s.bound = d; return s }

// transaction carries one apply's state for its restart and rollback.
type transaction struct {
	h     Host
	sd    Systemd
	req   Request
	b     Bounds
	txCtx context.Context
	// original is daemon.json before the apply (existed: there was one),
	// backup where WriteConfig kept it.
	original []byte
	existed  bool
	backup   string
	changed  bool
	notes    []string
	// startFailed: systemd's restart job failed, so the journal says why.
	startFailed bool
}

// lock takes daemon.json's lock, waiting at most Bounds.Lock for another apply.
func (tx *transaction) lock(ctx context.Context) (func(), error) {
	return stepSpec[func()]{what: "waiting for daemon.json's lock", bound: tx.b.Lock, grace: tx.b.Grace,
		hint: "another apply holds it", late: func(unlock func()) { unlock() }}.
		run(ctx, func(ctx context.Context) (func(), error) { return tx.h.LockConfig(ctx, tx.req.Path) })
}

type fileRead struct {
	data   []byte
	exists bool
}

// readConfig reads daemon.json within Bounds.Call.
func (tx *transaction) readConfig(ctx context.Context) ([]byte, bool, error) {
	r, err := callStep[fileRead](tx.b, "reading "+tx.req.Path, fileHint).run(ctx, func(context.Context) (fileRead, error) {
		data, exists, err := tx.h.ReadConfig(tx.req.Path)
		return fileRead{data, exists}, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("cannot read daemon.json: %w", err)
	}
	return r.data, r.exists, nil
}

// observe is Host.Observe within Bounds.Call.
func (tx *transaction) observe(ctx context.Context, what string) (RunningState, error) {
	unit := tx.req.Restart.Unit
	return callStep[RunningState](tx.b, what, dockerHint(unit)).run(ctx, func(ctx context.Context) (RunningState, error) {
		return tx.h.Observe(ctx, unit)
	})
}

// restart clears a failed state or start limit of the unit and the sockets
// that activate it, restarts the unit and waits for the API; "" on success,
// else what failed, and whether systemd's job itself succeeded (only the API
// stayed silent). point is the crash point between queueing and waiting.
func (tx *transaction) restart(ctx context.Context, point string) (failure string, jobDone bool) {
	unit, b := tx.req.Restart.Unit, tx.b
	tx.resetFailed(ctx)
	job, err := callStep[Job](b, "asking systemd to restart "+unit, systemdHint).run(ctx, func(ctx context.Context) (Job, error) {
		return tx.sd.RestartJob(ctx, unit)
	})
	if err != nil {
		return fmt.Sprintf("the restart of %s could not be asked for: %v", unit, err), false
	}
	faults.At(point)
	result, err := callStep[string](b, "systemd's restart job of "+unit, "look at `systemctl status "+unit+"` and `journalctl -u "+unit+"`").
		withBound(b.Job+b.Grace).withRaw().run(ctx, func(ctx context.Context) (string, error) { return job.Wait(ctx, b.Job) })
	if err != nil {
		return fmt.Sprintf("the restart job of %s ended with %q: %v", unit, result, err), false
	}
	if _, err := callStep[struct{}](b, "waiting for the Docker API", dockerHint(unit)).withBound(b.Ready+b.Grace).withRaw().run(ctx, func(ctx context.Context) (struct{}, error) {
		wctx, cancel := context.WithTimeout(ctx, b.Ready)
		defer cancel()
		return struct{}{}, tx.h.WaitReady(wctx)
	}); err != nil {
		return fmt.Sprintf("%s restarted but the Docker API did not answer within %s: %v", unit, roundBound(b.Ready), err), true
	}
	return "", true
}

// resetFailed is `systemctl reset-failed UNIT SOCKETS...`, noting any unit
// that systemd held failed (after start-limit-hit it refuses every start, and
// socket activation cannot bring dockerd back either).
func (tx *transaction) resetFailed(ctx context.Context) {
	unit, b := tx.req.Restart.Unit, tx.b
	units := []string{unit}
	socks, err := callStep[[]string](b, "asking systemd which units start "+unit, systemdHint).run(ctx, func(ctx context.Context) ([]string, error) {
		return tx.sd.TriggeredBy(ctx, unit)
	})
	if err == nil {
		units = append(units, socks...)
	}
	type state struct{ active, result string }
	for _, u := range units {
		st, err := callStep[state](b, "reading the state of "+u, systemdHint).run(ctx, func(ctx context.Context) (state, error) {
			a, r, err := tx.sd.UnitState(ctx, u)
			return state{a, r}, err
		})
		if err == nil && st.active == "failed" {
			tx.notes = append(tx.notes, fmt.Sprintf("systemd held %s failed (result %s); its failed state and start limit were reset (systemctl reset-failed) before restarting.", u, st.result))
		}
	}
	if _, err := callStep[struct{}](b, "systemctl reset-failed", systemdHint).run(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, tx.sd.ResetFailed(ctx, units...)
	}); err != nil {
		tx.notes = append(tx.notes, fmt.Sprintf("Resetting the failed state of %s did not work: %v.", strings.Join(units, ", "), err))
	}
}

// verify observes the restarted daemon: its version and the owned keys it
// does not show yet.
func (tx *transaction) verify(ctx context.Context, file Settings) (DockerVersion, []string, error) {
	running, err := tx.observe(ctx, "reading what the restarted dockerd does")
	if err != nil {
		return DockerVersion{}, nil, err
	}
	return running.Version, PendingKeys(file, running), nil
}

// journal is Host.Journal within Bounds.Call ("" when it does not answer).
func (tx *transaction) journal(ctx context.Context) string {
	s, _ := callStep[string](tx.b, "journalctl", "").run(ctx, func(ctx context.Context) (string, error) {
		return tx.h.Journal(ctx, tx.req.Restart.Unit), nil
	})
	return s
}

// rollback puts the previous file back (when it was changed), restarts dockerd
// with it (sd nil: systemd unreachable) and says what became of both. It
// runs within Bounds.Rollback of its own, whatever is left of ctx.
func (tx *transaction) rollback(ctx context.Context, sd Systemd, failure string) error {
	unit := tx.req.Restart.Unit
	e := &RolledBackError{Failure: failure, Restored: "daemon.json was not changed"}
	// The caller's context may be what ran out; the rollback gets its own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tx.b.Rollback)
	defer cancel()
	if tx.startFailed {
		e.Said = tx.journal(rctx)
	}
	if tx.changed {
		var err error
		if tx.existed {
			// The backup keeps the last good file: this one, not the refused one.
			err = tx.h.RestoreConfig(tx.req.Path, tx.original)
		} else {
			err = tx.h.RemoveConfig(tx.req.Path)
		}
		backup := tx.backup
		if backup == "" {
			backup = tx.req.Path + BackupSuffix
		}
		if err != nil {
			e.Restored = fmt.Sprintf("putting the previous daemon.json back FAILED (%v); the backup is %s", err, backup)
		} else if tx.existed {
			e.Restored = "the previous daemon.json is back in place"
		} else {
			e.Restored = "daemon.json did not exist before and was removed again"
		}
	}
	switch {
	case sd == nil || !tx.changed:
		if sd == nil {
			e.Up = "dockerd could not be restarted (systemd unreachable)"
		} else {
			e.Up = "with the file unchanged there was nothing to restart it with"
		}
		wctx, wcancel := context.WithTimeout(rctx, min(3*time.Second, tx.b.Ready))
		defer wcancel()
		_, err := callStep[struct{}](tx.b, "waiting for the Docker API", "").withRaw().run(wctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, tx.h.WaitReady(ctx)
		})
		if err == nil {
			e.Up += "; dockerd is running"
			e.DaemonUp = true
		} else {
			e.Up += ": dockerd is DOWN"
		}
		e.Notes = tx.notes
	default:
		tx.notes = nil
		if f, jobDone := tx.restart(rctx, faults.DuringRollback); jobDone && f != "" {
			e.Up = "systemd restarted " + unit + " with it, but the Docker API still does not answer where the provider looks (see above)"
		} else if f != "" {
			e.Up = "restarting dockerd with the previous file failed too (" + f + "): dockerd is DOWN"
			if s := tx.journal(rctx); s != "" && !strings.Contains(e.Said, s) {
				e.Said = strings.TrimSpace(e.Said + "\n" + s)
			}
		} else {
			e.Up = "dockerd was restarted with it and is up"
			e.DaemonUp = true
		}
		e.Notes = tx.notes
	}
	return e
}
