package daemonconfig

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// DefaultRestartTimeout is restart.timeout when the configuration gives none.
const DefaultRestartTimeout = 90 * time.Second

// The restart timeouts a Request may ask for.
const (
	MinRestartTimeout = time.Second
	MaxRestartTimeout = time.Hour
)

// maxCall caps one call, however long the restart timeout is.
const maxCall = 30 * time.Second

// Bounds are how long each step of the daemon.json transaction may take. They
// all derive from the restart timeout T (restart.timeout), here and nowhere else:
//
//	Call     = min(T, 30s)  one Docker API or D-Bus call: reading the running
//	                        dockerd (DockerVersion, Observe), dockerd --validate,
//	                        connecting to systemd, each systemd request, the journal,
//	                        reading daemon.json
//	Lock     = T            waiting for another apply to release daemon.json's lock
//	Job      = T            systemd's restart job
//	Ready    = T            the Docker API after the restart
//	Forward  = Lock + Job + Ready + 4*Call
//	                        from Apply's start to the end of its verification:
//	                        the cap on everything before a rollback
//	Rollback = Job + Ready + 4*Call
//	                        putting the previous file back, restarting dockerd
//	                        with it and reading its journal
//	Total    = Forward + Rollback + 2*Grace
//	                        the most one Apply takes on the host, whatever the
//	                        caller's context says (a workstation may send no
//	                        deadline, and the agent does not let a lost
//	                        connection cancel the transaction)
//	Grace    = min(Call, 2s) how long after its bound a step that does not heed
//	                        its context is waited for before it is abandoned
//
// Plan takes at most 2*Call + Grace (daemon.json and Observe). A step cut off
// by its bound fails with an error that names the step, the bound and what to
// look at (TimeoutError, or the host's own error when it says as much).
type Bounds struct {
	Call, Lock, Job, Ready, Forward, Rollback, Total, Grace time.Duration
}

// BoundsFor derives the bounds from a restart timeout (0: DefaultRestartTimeout).
func BoundsFor(timeout time.Duration) Bounds {
	t := timeout
	if t <= 0 {
		t = DefaultRestartTimeout
	}
	b := Bounds{Call: min(t, maxCall), Lock: t, Job: t, Ready: t}
	b.Grace = min(b.Call, 2*time.Second)
	b.Forward = b.Lock + b.Job + b.Ready + 4*b.Call
	b.Rollback = b.Job + b.Ready + 4*b.Call
	b.Total = b.Forward + b.Rollback + 2*b.Grace
	return b
}

// CheckPath refuses a daemon.json path the provider cannot mean: dockerd
// reads an absolute path (--config-file, /etc/docker/daemon.json by default),
// while a relative one would be taken from the provider's (or the agent's)
// working directory.
func CheckPath(path string) error {
	switch {
	case path == "":
		return errors.New("the path of daemon.json is empty: give an absolute path such as /etc/docker/daemon.json")
	case !filepath.IsAbs(path):
		return fmt.Errorf("%q is a relative path: dockerd reads daemon.json by an absolute path (default /etc/docker/daemon.json), while a relative one would be taken from the directory the provider happens to run in; give the absolute path", path)
	}
	return nil
}

// CheckRestartTimeout refuses a restart timeout outside 1s to 1h: below a
// second no dockerd restarts (and every bound of the transaction derives from
// it, see Bounds); above an hour a stuck restart would hold daemon.json's lock
// for longer than anyone waits.
func CheckRestartTimeout(d time.Duration) error {
	switch {
	case d < MinRestartTimeout:
		return fmt.Errorf("restart timeout %s is too short: dockerd needs seconds to restart, and every wait of the apply derives from this value; use at least %s (the default is %s)", d, MinRestartTimeout, DefaultRestartTimeout)
	case d > MaxRestartTimeout:
		return fmt.Errorf("restart timeout %s is longer than %s: a restart that hangs would hold daemon.json's lock for all that time; use at most %s (the default is %s)", d, MaxRestartTimeout, MaxRestartTimeout, DefaultRestartTimeout)
	}
	return nil
}

// Check refuses a request that cannot be carried out as meant (see CheckPath
// and CheckRestartTimeout); Apply and Plan call it first.
func (r Request) Check() error {
	if err := CheckPath(r.Path); err != nil {
		return &RefusedError{Summary: "Invalid daemon.json Path", Detail: err.Error() + " (nothing was written)"}
	}
	if r.Restart.Method != MethodNone || r.Restart.Timeout != 0 {
		if err := CheckRestartTimeout(r.Restart.Timeout); err != nil {
			return &RefusedError{Summary: "Invalid Restart Timeout", Detail: err.Error() + " (nothing was written)"}
		}
	}
	return nil
}

// TimeoutError is a step of the transaction cut off by its bound.
type TimeoutError struct {
	// Step is what was being done ("reading the running dockerd's settings").
	Step string
	// After is the step's bound.
	After time.Duration
	// Hint says what to look at.
	Hint string
	// Err is what the step returned, nil when it was abandoned.
	Err error
}

func (e *TimeoutError) Error() string {
	s := fmt.Sprintf("%s did not finish within %s", e.Step, roundBound(e.After))
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

// Unwrap is context.DeadlineExceeded, so that errors.Is tells a timeout.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// Bound is the step's bound (see selfTimed).
func (e *TimeoutError) Bound() time.Duration { return e.After }

// selfTimed is an error that already says what did not answer and within
// how long (dockerapi.StuckError, TimeoutError).
type selfTimed interface{ Bound() time.Duration }

// isTimeout tells whether err says a step ran out of time (as opposed to a
// daemon that is down, which answers at once with an error).
func isTimeout(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// roundBound prints a bound without spurious precision.
func roundBound(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}

// stepSpec names one bounded step: what it does, its bound, what to check when
// it hangs, and what to do with a result that comes after it was abandoned.
type stepSpec[T any] struct {
	what, hint string
	bound      time.Duration
	grace      time.Duration
	// raw: f's own errors say enough (it has a timeout of its own); only an
	// abandoned step becomes a TimeoutError.
	raw bool
	// late releases a result that arrived after the step was abandoned (an
	// unlock, a connection to close); nil: drop it.
	late func(T)
}

// run calls f with a context that ends after the bound, and returns by the
// bound plus grace even when f does not heed its context. A timeout that the
// host did not describe itself becomes a *TimeoutError.
func (s stepSpec[T]) run(ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	fctx, cancel := context.WithTimeout(ctx, s.bound)
	defer cancel()
	// fctx ends by itself with the bound (as a deadline, which f reports as
	// a timeout); wait does not cancel it first.
	return s.wait(ctx, func() {}, false, func() (T, error) { return f(fctx) })
}

// runKeeping is run for a step whose result lives on after it (a systemd
// connection, which closes when its context ends): f's context derives from
// base and is left alive when f succeeds in time; the bound still counts from
// now, and ctx ending also ends the wait.
func (s stepSpec[T]) runKeeping(ctx, base context.Context, f func(context.Context) (T, error)) (T, error) {
	fctx, cancel := context.WithCancel(base)
	v, err := s.wait(ctx, cancel, true, func() (T, error) { return f(fctx) })
	if err != nil {
		cancel()
	}
	return v, err
}

func (s stepSpec[T]) wait(ctx context.Context, cancel context.CancelFunc, keep bool, f func() (T, error)) (T, error) {
	type out struct {
		v   T
		err error
	}
	start := time.Now()
	done := make(chan out, 1)
	go func() {
		v, err := f()
		done <- out{v, err}
	}()
	timer := time.NewTimer(s.bound)
	defer timer.Stop()
	select {
	case o := <-done:
		return o.v, s.describe(o.err)
	case <-ctx.Done():
	case <-timer.C:
	}
	// The bound (or ctx) ran out: f's context ends; wait a little for it.
	cancel()
	grace := time.NewTimer(s.grace)
	defer grace.Stop()
	var zero T
	select {
	case o := <-done:
		switch {
		case o.err != nil:
			return zero, s.describe(o.err)
		case !keep:
			return o.v, nil // it made it after all
		}
		s.release(o.v) // its context is gone, and so is what it made
	case <-grace.C:
		go func() {
			if o := <-done; o.err == nil {
				s.release(o.v)
			}
		}()
	}
	if ctx.Err() != nil && !isTimeout(ctx.Err()) {
		return zero, fmt.Errorf("%s: %w", s.what, ctx.Err())
	}
	return zero, &TimeoutError{Step: s.what, After: min(s.bound, time.Since(start)), Hint: s.hint}
}

func (s stepSpec[T]) release(v T) {
	if s.late != nil {
		s.late(v)
	}
}

// describe turns a bare timeout into a TimeoutError; an error that says
// itself what timed out (or is no timeout) is kept.
func (s stepSpec[T]) describe(err error) error {
	if err == nil || s.raw || !isTimeout(err) {
		return err
	}
	var st selfTimed
	if errors.As(err, &st) {
		return err
	}
	return &TimeoutError{Step: s.what, After: s.bound, Hint: s.hint, Err: err}
}

// Within runs f bounded by d as the transaction bounds its own steps: f's
// context ends after d, Within returns soon after even when f does not heed
// it, and a timeout f did not describe itself is a *TimeoutError naming what
// and hint. For the reads outside the transaction (refresh, host facts).
func Within[T any](ctx context.Context, d time.Duration, what, hint string, f func(context.Context) (T, error)) (T, error) {
	return stepSpec[T]{what: what, hint: hint, bound: d, grace: min(d, 2*time.Second)}.run(ctx, f)
}

// FileHint and DockerHint say what to look at when reading daemon.json, or
// asking dockerd, does not answer.
const FileHint = fileHint

// DockerHint is dockerHint for unit ("" for docker.service).
func DockerHint(unit string) string { return dockerHint(unit) }
