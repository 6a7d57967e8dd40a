package local

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox/fakesystemd"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
)

// startManager runs a private bus (dbus-daemon) with the stand-in manager
// serving svc as docker.service, and points the systemd client at it.
func startManager(t *testing.T, svc fakesystemd.Service) {
	t.Helper()
	dir := t.TempDir()
	sock, conf := filepath.Join(dir, "bus"), filepath.Join(dir, "bus.conf")
	err := os.WriteFile(conf, []byte(`<busconfig><listen>unix:path=`+sock+`</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--nofork", "--nopidfile", "--nosyslog", "--config-file="+conf)
	if err := cmd.Start(); err != nil {
		t.Fatalf("dbus-daemon (Debian package dbus-daemon) is needed: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err = os.Stat(sock); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	addr := "unix:path=" + sock
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	conn, err := dbus.Dial(addr)
	if err == nil {
		err = conn.Auth(nil)
	}
	if err == nil {
		err = conn.Hello()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	m, err := fakesystemd.Export(conn, fakesystemd.Options{Services: map[string]fakesystemd.Service{"docker.service": svc}, FakeUnitsFile: filepath.Join(dir, "fake-units")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
}

// Debian's docker.service shape: the flags come from $DOCKER_OPTS in an
// EnvironmentFile, read here where dockerd runs. A required file that is
// missing means the check could not run (an error), never a refusal.
func TestValidateConfigExpandsTheUnitsEnvironment(t *testing.T) {
	dir := t.TempDir()
	opts := filepath.Join(dir, "docker")
	if err := os.WriteFile(opts, []byte("# /etc/default/docker\nDOCKER_OPTS=\"--log-level=warn --dns 198.18.0.53\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	required := filepath.Join(dir, "required")
	svc := fakesystemd.NewProcessService(fakesystemd.ProcessConfig{
		Unit: "docker.service", Description: "Docker", Path: "/usr/sbin/dockerd",
		Args:             []string{"-H", "fd://", "--containerd=/run/containerd/containerd.sock", "$DOCKER_OPTS"},
		EnvironmentFiles: []systemd.EnvironmentFile{{Path: opts, IgnoreErrors: true}, {Path: required}},
	})
	startManager(t, svc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l := &Host{}
	v := daemonconfig.DockerVersion{Major: 26, Minor: 1}

	ok, out, err := l.ValidateConfig(ctx, "docker.service", v, []byte("{}"))
	want := "dockerd --validate did not run: systemd: cannot expand the ExecStart of docker.service as systemd would: EnvironmentFile=" + required + ": open " + required + ": no such file or directory"
	if ok || out != "" || err == nil || err.Error() != want {
		t.Fatalf("ValidateConfig with a required file missing = %v, %q, %v; want the error %q", ok, out, err, want)
	}

	if err := os.WriteFile(required, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bin, flags, err := l.DaemonFlags(ctx, "docker.service")
	wantFlags := []string{"-H", "fd://", "--containerd=/run/containerd/containerd.sock", "--log-level=warn", "--dns", "198.18.0.53"}
	if err != nil || bin != "/usr/sbin/dockerd" || !slices.Equal(flags, wantFlags) {
		t.Fatalf("DaemonFlags = %q %q %v; want /usr/sbin/dockerd %q", bin, flags, err, wantFlags)
	}
}
