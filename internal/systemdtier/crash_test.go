//go:build systemdtier

package systemdtier

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// e. Crash points. With DOCKERIPV6_CRASH_AT set, the provider (running as
// terraform's plugin) SIGKILLs terraform and then itself at that point:
//
//	after-write      daemon.json written, the restart job not yet asked for
//	during-restart   the restart job queued in systemd, not waited for
//	during-rollback  the rollback put the old file back and queued its restart, not waited for
//
// Afterwards, without it: the daemon.json lock is free, `terraform plan
// -detailed-exitcode` tells the truth (a file/daemon mismatch is a change,
// never an empty plan), and `terraform apply` converges (daemon verified,
// the next plan empty).
const EnvCrashAt = "DOCKERIPV6_CRASH_AT"

// requireCrashed asserts that terraform was SIGKILLed by the provider and
// that no provider process is left.
func requireCrashed(t *testing.T, r tfResult, point string) {
	t.Helper()
	if r.signal != syscall.SIGKILL {
		t.Fatalf("with %s=%s terraform was not killed (the provider must SIGKILL terraform and itself at that point; is the fault injection in this build?):\n%s", EnvCrashAt, point, r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := providerProcesses()
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("provider processes still running 10s after terraform was killed: %v", pids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// providerProcesses lists the running terraform-provider-dockeripv6
// processes (zombies included: the kernel's comm, "terraform-provi", stays
// until the process is reaped), as "PID STATE".
func providerProcesses() []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i || s[i+1:j] != "terraform-provi" {
			continue
		}
		state := strings.Fields(s[j+1:])
		if len(state) > 0 {
			out = append(out, e.Name()+" "+state[0])
		}
	}
	return out
}

// planTellsTruth runs plan -detailed-exitcode: an error fails the test, and
// so does an empty plan while daemon.json and the running dockerd disagree.
func planTellsTruth(t *testing.T, w *workdir, fileLiveRestore bool) tfResult {
	t.Helper()
	daemon := dockerInfo(t).LiveRestoreEnabled
	p := w.plan()
	switch {
	case p.code == 1:
		t.Fatalf("plan after the crash failed:\n%s", p)
	case p.code == 0 && daemon != fileLiveRestore:
		t.Fatalf("empty plan while daemon.json says live-restore=%v and dockerd runs live-restore=%v:\n%s", fileLiveRestore, daemon, p)
	}
	return p
}

// crashOnUpdate applies live_restore = false, then live_restore = true with
// the crash point set; it returns the workdir and docker.service's properties
// before the crashed apply.
func crashOnUpdate(t *testing.T, point string) (*workdir, map[string]string) {
	t.Helper()
	w := newWorkdir(t, config("", "  live_restore = false"))
	mustSucceed(t, w.apply())
	before := show(t, "docker.service")
	w.write(config("", "  live_restore = true"))
	r := w.apply(EnvCrashAt + "=" + point)
	requireCrashed(t, r, point)
	lockFree(t)
	return w, before
}

func converge(t *testing.T, w *workdir, before map[string]string) {
	t.Helper()
	r := w.apply()
	mustSucceed(t, r)
	requireStartedSince(t, before, "after the converging apply")
	if s := fileSettings(t); s.LiveRestore == nil || !*s.LiveRestore {
		t.Fatalf("daemon.json does not hold live-restore after the converging apply: %s", readDaemonJSON(t))
	}
	if !dockerInfo(t).LiveRestoreEnabled {
		t.Fatal("dockerd does not run live-restore after the converging apply")
	}
	mustEmptyPlan(t, w)
}

func TestRealSystemd_crashAfterWrite(t *testing.T) {
	setup(t)
	w, before := crashOnUpdate(t, "after-write")
	if s := fileSettings(t); s.LiveRestore == nil || !*s.LiveRestore {
		t.Fatalf("after-write: daemon.json does not hold the new value: %s", readDaemonJSON(t))
	}
	// Nobody asked systemd for a restart.
	requireNotRestarted(t, before, "after the crash")
	p := planTellsTruth(t, w, true)
	if p.code != 2 {
		t.Fatalf("the file says live-restore, dockerd does not: the plan must be a change:\n%s", p)
	}
	mustMatch(t, p, `restart_pending\s+=\s+true\s+->\s+false`)
	converge(t, w, before)
}

func TestRealSystemd_crashDuringRestart(t *testing.T) {
	setup(t)
	w, before := crashOnUpdate(t, "during-restart")
	// The job the provider queued is systemd's now: it finishes it.
	waitNoJob(t, 2*time.Minute)
	requireStartedSince(t, before, "after systemd finished the restart the killed provider asked for")
	planTellsTruth(t, w, true)
	converge(t, w, before)
}

func TestRealSystemd_crashDuringRollback(t *testing.T) {
	orig := setup(t)
	w := newWorkdir(t, config("", "  live_restore = false"))
	mustSucceed(t, w.apply())
	applied := readDaemonJSON(t)
	stray := withStrayGateway(applied)
	writeDaemonJSON(t, stray)
	restartDocker(t) // harmless while IPv6 is off
	resetFailed(t)
	before := show(t, "docker.service")

	w.write(config("", "  live_restore = false\n"+ipv6Body))
	r := w.apply(EnvCrashAt + "=during-rollback")
	requireCrashed(t, r, "during-rollback")
	lockFree(t)
	if got := readDaemonJSON(t); !bytes.Equal(got, stray) {
		t.Fatalf("during-rollback: the old file is not back:\n--- want\n%s\n--- got\n%s", stray, got)
	}
	// systemd finishes the rollback's restart job: dockerd runs the old file.
	waitNoJob(t, 2*time.Minute)
	requireStartedSince(t, before, "after systemd finished the rollback restart the killed provider asked for")
	if bridgeIPv6(t) {
		t.Fatal("after the rollback the default bridge has IPv6: dockerd runs the new file")
	}
	// Neither the file nor dockerd has IPv6; the configuration asks for it.
	p := w.plan()
	if p.code != 2 {
		t.Fatalf("the configuration asks for IPv6, file and dockerd have none: the plan must be a change:\n%s", p)
	}
	// The operator removes what dockerd refused (the apply that would have
	// said so was killed), and the next apply converges.
	writeDaemonJSON(t, applied)
	_ = orig
	r = w.apply()
	mustSucceed(t, r)
	if !bridgeIPv6(t) {
		t.Fatal("after the converging apply the default bridge has no IPv6")
	}
	requireUp(t, "after the converging apply")
	mustEmptyPlan(t, w)
}
