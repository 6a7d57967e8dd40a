//go:build systemdtier

package systemdtier

import (
	"bytes"
	"testing"
)

// g. The rollback paths that are not a failed start.

// g1. The restart goes through systemd, but the Docker API the provider
// watches (its docker_host) never answers: the old file goes back, and the
// error says why. The timeout leaves the restart job itself time enough
// (engine 29 on a loaded machine starts in several seconds), so that what
// runs out is the wait for the API.
func TestRealSystemd_rollbackDockerAPINotAnswering(t *testing.T) {
	orig := setup(t)
	before := show(t, "docker.service")
	w := newWorkdir(t, config(`  docker_host = "unix:///run/dockeripv6-nobody-listens.sock"`,
		"  live_restore = true\n  restart {\n    timeout = \"15s\"\n  }"))
	r := w.apply()
	t.Logf("the provider said:\n%s", r.out)
	if r.code == 0 {
		t.Fatalf("the apply succeeded though the Docker API it watches never answered:\n%s", r)
	}
	mustMatch(t, r,
		`Rolled Back`,
		`the Docker API did not answer within 15s`,
		`unix:///run/dockeripv6-nobody-listens.sock`,
		`previous daemon.json is back in place`,
	)
	if got := readDaemonJSON(t); !bytes.Equal(got, orig) {
		t.Fatalf("daemon.json is not the old file:\n--- want\n%s\n--- got\n%s", orig, got)
	}
	// systemd did restart it (twice); the real dockerd runs the old file.
	requireStartedSince(t, before, "after the rollback")
	if dockerInfo(t).LiveRestoreEnabled {
		t.Fatal("dockerd runs live-restore: the new file")
	}
}

// g2. systemd cannot be reached (the provider's DBUS_SYSTEM_BUS_ADDRESS points
// at a socket nobody listens on): the old file stays or goes back, dockerd is
// never restarted, and the error says so.
func TestRealSystemd_rollbackSystemdUnreachable(t *testing.T) {
	orig := setup(t)
	before := show(t, "docker.service")
	w := newWorkdir(t, config("", "  live_restore = true"))
	r := w.apply("DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dockeripv6-nobody-listens/bus")
	t.Logf("the provider said:\n%s", r.out)
	if r.code == 0 {
		t.Fatalf("the apply succeeded though systemd could not be reached:\n%s", r)
	}
	// Either the file was written and put back (a rollback), or the provider
	// found out before writing; either way the error names systemd and says
	// that the old file is what is there.
	mustMatch(t, r,
		`systemd could not be reached|cannot reach systemd`,
		`unix:path=/run/dockeripv6-nobody-listens/bus`,
		`previous daemon.json is back in place|nothing was written`,
	)
	if got := readDaemonJSON(t); !bytes.Equal(got, orig) {
		t.Fatalf("daemon.json is not the old file:\n--- want\n%s\n--- got\n%s", orig, got)
	}
	requireNotRestarted(t, before, "after the failed apply")
	if dockerInfo(t).LiveRestoreEnabled {
		t.Fatal("dockerd runs live-restore: the new file")
	}
}
