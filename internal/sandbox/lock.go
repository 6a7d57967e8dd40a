package sandbox

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The sandbox has one dockerd for all test binaries, and `go test ./...`
// runs packages in parallel. Require holds a shared lock on that daemon for
// the test; RequireExclusive holds it alone, so a test that restarts dockerd
// or rewrites daemon.json never pulls the daemon from under a test in
// another package. Across processes this is flock(2) on two files in the
// sandbox's /run: a turnstile, which a waiting exclusive holder keeps so that
// new shared holders queue behind it instead of starving it, and the lock.
// Within a process, a sync.RWMutex does the same; subtests of a test that
// holds the lock are covered by it.
const (
	lockFile      = StateDir + "/daemon.lock"
	turnstileFile = StateDir + "/daemon.turnstile"
)

var daemonLock struct {
	inProc sync.RWMutex // between tests of this process

	mu      sync.Mutex      // guards the fields below
	shared  int             // tests of this process holding it shared
	holders map[string]bool // test name -> exclusive?
	lock    *os.File
	turn    *os.File
}

func flock(f *os.File, how int) error {
	for {
		if err := unix.Flock(int(f.Fd()), how); err != unix.EINTR {
			return err
		}
	}
}

func openLockFiles() error {
	daemonLock.mu.Lock()
	defer daemonLock.mu.Unlock()
	if daemonLock.lock != nil {
		return nil
	}
	l, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	tf, err := os.OpenFile(turnstileFile, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		l.Close()
		return err
	}
	daemonLock.lock, daemonLock.turn = l, tf
	return nil
}

// covered reports whether an ancestor test holds the lock, and whether
// exclusively.
func covered(name string) (held, exclusive bool, holder string) {
	daemonLock.mu.Lock()
	defer daemonLock.mu.Unlock()
	for h, ex := range daemonLock.holders {
		if name == h || strings.HasPrefix(name, h+"/") {
			return true, ex, h
		}
	}
	return false, false, ""
}

// waitNote logs while a test waits long for the lock.
func waitNote(t testing.TB, what string) (stop func()) {
	done := make(chan struct{})
	go func() {
		start := time.Now()
		for {
			select {
			case <-done:
				return
			case <-time.After(30 * time.Second):
				t.Logf("still waiting for the sandbox daemon lock (%s) after %s", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done) }
}

func lockShared(t testing.TB) {
	t.Helper()
	if held, _, _ := covered(t.Name()); held {
		return
	}
	if err := openLockFiles(); err != nil {
		t.Fatalf("sandbox daemon lock: %v", err)
		return
	}
	stop := waitNote(t, "shared")
	daemonLock.inProc.RLock()
	daemonLock.mu.Lock()
	var err error
	if daemonLock.shared == 0 {
		if err = flock(daemonLock.turn, unix.LOCK_EX); err == nil {
			_ = flock(daemonLock.turn, unix.LOCK_UN)
			err = flock(daemonLock.lock, unix.LOCK_SH)
		}
	}
	if err == nil {
		daemonLock.shared++
		if daemonLock.holders == nil {
			daemonLock.holders = map[string]bool{}
		}
		daemonLock.holders[t.Name()] = false
	}
	daemonLock.mu.Unlock()
	stop()
	if err != nil {
		daemonLock.inProc.RUnlock()
		t.Fatalf("sandbox daemon lock: %v", err)
		return
	}
	t.Cleanup(func() {
		daemonLock.mu.Lock()
		delete(daemonLock.holders, t.Name())
		daemonLock.shared--
		if daemonLock.shared == 0 {
			_ = flock(daemonLock.lock, unix.LOCK_UN)
		}
		daemonLock.mu.Unlock()
		daemonLock.inProc.RUnlock()
	})
}

func lockExclusive(t testing.TB) {
	t.Helper()
	if held, ex, holder := covered(t.Name()); held {
		if ex {
			return
		}
		t.Fatalf("sandbox.RequireExclusive in %s, whose parent test %s holds sandbox.Require: call RequireExclusive in the parent instead", t.Name(), holder)
		return
	}
	if err := openLockFiles(); err != nil {
		t.Fatalf("sandbox daemon lock: %v", err)
		return
	}
	stop := waitNote(t, "exclusive")
	daemonLock.inProc.Lock()
	daemonLock.mu.Lock()
	err := flock(daemonLock.turn, unix.LOCK_EX)
	if err == nil {
		err = flock(daemonLock.lock, unix.LOCK_EX)
		_ = flock(daemonLock.turn, unix.LOCK_UN)
	}
	if err == nil {
		if daemonLock.holders == nil {
			daemonLock.holders = map[string]bool{}
		}
		daemonLock.holders[t.Name()] = true
	}
	daemonLock.mu.Unlock()
	stop()
	if err != nil {
		daemonLock.inProc.Unlock()
		t.Fatalf("sandbox daemon lock: %v", err)
		return
	}
	t.Cleanup(func() {
		daemonLock.mu.Lock()
		delete(daemonLock.holders, t.Name())
		_ = flock(daemonLock.lock, unix.LOCK_UN)
		daemonLock.mu.Unlock()
		daemonLock.inProc.Unlock()
	})
}
