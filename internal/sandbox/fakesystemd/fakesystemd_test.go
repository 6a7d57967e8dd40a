package fakesystemd

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
)

func TestUnitPathMatchesGoSystemd(t *testing.T) {
	for _, name := range []string{"docker.service", "ufw.service", "foo-bar@1.service", "1abc.service", "a_b.socket"} {
		want := "/org/freedesktop/systemd1/unit/" + sd.PathBusEscape(name)
		if got := string(UnitPath(name)); got != want {
			t.Errorf("UnitPath(%q) = %s, want %s", name, got, want)
		}
		if back := busUnescape(busEscape(name)); back != name {
			t.Errorf("unescape(escape(%q)) = %q", name, back)
		}
	}
	if got := UnitPath("docker.service"); got != "/org/freedesktop/systemd1/unit/docker_2eservice" {
		t.Errorf("docker.service path %s", got)
	}
}

func testManager(t *testing.T, svc Service) *Manager {
	t.Helper()
	return &Manager{
		opts:      Options{Services: map[string]Service{"docker.service": svc}, FakeUnitsFile: filepath.Join(t.TempDir(), "fake-units")},
		unitLocks: map[string]*sync.Mutex{},
		jobs:      map[string]jobRef{},
	}
}

// The property types must be systemd's, or go-systemd callers (and the
// provider's ExecStart parsing) break.
func TestPropertySignatures(t *testing.T) {
	svc := NewProcessService(ProcessConfig{
		Unit: "docker.service", Description: "Docker", Path: "/usr/sbin/dockerd",
		Args: []string{"--config-file", "/etc/docker/daemon.json"},
	})
	m := testManager(t, svc)
	all, derr := m.UnitPropertiesFor("docker.service", "")
	if derr != nil {
		t.Fatal(derr)
	}
	want := map[string]string{
		"Id": "s", "Names": "as", "Description": "s", "LoadState": "s", "ActiveState": "s", "SubState": "s",
		"ActiveEnterTimestamp": "t", "ActiveEnterTimestampMonotonic": "t", "InactiveEnterTimestamp": "t",
		"StateChangeTimestamp": "t", "Job": "(uo)", "LoadError": "(ss)", "CanStart": "b",
		"MainPID": "u", "ExecMainPID": "u", "ExecMainStatus": "i", "ExecMainCode": "i", "NRestarts": "u",
		"Result": "s", "Type": "s", "ExecStart": "a(sasbttttuii)", "ExecMainStartTimestamp": "t",
		"Environment": "as", "EnvironmentFiles": "a(sb)", "ExecStartEx": "a(sasasttttuii)",
	}
	for name, sig := range want {
		v, ok := all[name]
		if !ok {
			t.Errorf("property %s missing", name)
			continue
		}
		if got := v.Signature().String(); got != sig {
			t.Errorf("%s has signature %s, want %s", name, got, sig)
		}
	}
	if all["LoadState"].Value() != "loaded" || all["ActiveState"].Value() != "inactive" || all["SubState"].Value() != "dead" {
		t.Errorf("new service state %v/%v/%v", all["LoadState"], all["ActiveState"], all["SubState"])
	}

	// ExecStart decodes into systemd's struct layout (the client's type).
	var cmds []systemd.ExecCommand
	if err := dbus.Store([]any{overTheWire(t, all["ExecStart"])}, &cmds); err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 1 || cmds[0].Path != "/usr/sbin/dockerd" ||
		strings.Join(cmds[0].Argv, " ") != "/usr/sbin/dockerd --config-file /etc/docker/daemon.json" {
		t.Fatalf("ExecStart = %+v", cmds)
	}

	// A missing unit is not-found, without Service properties for non-services.
	nf, derr := m.UnitPropertiesFor("nope.service", UnitInterface)
	if derr != nil || nf["LoadState"].Value() != "not-found" || nf["ActiveState"].Value() != "inactive" {
		t.Fatalf("nope.service: %v %v", nf, derr)
	}
	if _, derr := m.UnitPropertiesFor("nope.socket", ServiceInterface); derr == nil {
		t.Fatal("Service interface on a socket unit: no error")
	}
}

// overTheWire encodes v in a D-Bus message and decodes it again, as a client
// receives it.
func overTheWire(t *testing.T, v dbus.Variant) any {
	t.Helper()
	msg := &dbus.Message{
		Type: dbus.TypeSignal,
		Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath:      dbus.MakeVariant(dbus.ObjectPath("/x")),
			dbus.FieldInterface: dbus.MakeVariant("x.y"),
			dbus.FieldMember:    dbus.MakeVariant("Z"),
			dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf(v)),
		},
		Body: []any{v},
	}
	var buf bytes.Buffer
	if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
		t.Fatal(err)
	}
	out, err := dbus.DecodeMessage(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out.Body[0].(dbus.Variant).Value()
}

func TestParseFakeUnits(t *testing.T) {
	units, err := ParseFakeUnits([]byte("# comment\nufw.service active exited\n\nfirewalld.service inactive # off\n"))
	if err != nil {
		t.Fatal(err)
	}
	if units["ufw.service"] != (FakeUnit{"active", "exited"}) || units["firewalld.service"] != (FakeUnit{"inactive", ""}) || len(units) != 2 {
		t.Fatalf("units = %v", units)
	}
	for _, bad := range []string{"ufw active", "ufw.service", "ufw.service a b c"} {
		if _, err := ParseFakeUnits([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	file := filepath.Join(t.TempDir(), "units")
	if err := SetFakeUnit(file, "ufw.service", "active"); err != nil {
		t.Fatal(err)
	}
	if err := SetFakeUnit(file, "firewalld.service", "failed"); err != nil {
		t.Fatal(err)
	}
	if err := SetFakeUnit(file, "ufw.service", ""); err != nil {
		t.Fatal(err)
	}
	units, err = ReadFakeUnits(file)
	if err != nil || len(units) != 1 || units["firewalld.service"].ActiveState != "failed" {
		t.Fatalf("after set/remove: %v, %v", units, err)
	}
}

// startBus runs a throw-away dbus-daemon on a socket in a temp dir.
func startBus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
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
		if _, err := os.Stat(sock); err == nil {
			return "unix:path=" + sock
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("dbus-daemon did not create its socket")
	return ""
}

func connect(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
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
	return conn
}

// End to end over a real bus: the production client (internal/systemd)
// and go-systemd against the manager, with a shell script as the service.
// Runs anywhere dbus-daemon is installed; needs no sandbox.
func TestManagerOverBus(t *testing.T) {
	addr := startBus(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	dir := t.TempDir()
	readyFile, failFile, logFile := filepath.Join(dir, "ready"), filepath.Join(dir, "fail"), filepath.Join(dir, "log")
	fakeUnits := filepath.Join(dir, "fake-units")

	var svc *ProcessService
	// Args are a unit's ExecStart words, expanded as systemd does: $$$$ is the shell's $$.
	script := `echo "demo starting"; if [ -f ` + failFile + ` ]; then echo "demo: bad config" >&2; exit 3; fi; trap "echo demo reloaded" HUP; echo $$$$ > ` + readyFile + `.tmp; mv ` + readyFile + `.tmp ` + readyFile + `; while :; do sleep 0.1; done`
	svc = NewProcessService(ProcessConfig{
		Unit: "demo.service", Description: "Demo", Path: "/bin/sh", Args: []string{"-c", script},
		Env: []string{"PATH=/usr/bin:/bin"}, LogPath: logFile,
		StartTimeout: 10 * time.Second, StopTimeout: 5 * time.Second,
		Ready: func(ctx context.Context) error {
			for {
				b, _ := os.ReadFile(readyFile)
				if pid := svc.Status().MainPID; pid != 0 && strings.TrimSpace(string(b)) == strconv.Itoa(int(pid)) {
					return nil
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
		},
	})
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })

	// A bus without systemd on it gets its own error.
	_, err := systemd.UnitState(context.Background(), "demo.service")
	if err == nil || !strings.Contains(err.Error(), "systemd is not running on the D-Bus system bus at "+addr) {
		t.Fatalf("UnitState on a bus without systemd: %v", err)
	}

	m, err := Export(connect(t, addr), Options{Services: map[string]Service{"demo.service": svc}, FakeUnitsFile: fakeUnits})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := systemd.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Restart of an inactive service starts it.
	if r, err := c.Restart(ctx, "demo.service", 20*time.Second); err != nil || r != "done" {
		t.Fatalf("restart: %q %v", r, err)
	}
	st, err := c.UnitState(ctx, "demo.service")
	if err != nil || st.ActiveState != "active" || st.SubState != "running" || st.MainPID == 0 {
		t.Fatalf("state %+v %v", st, err)
	}
	first := st.MainPID
	path, argv, err := c.ExecStart(ctx, "demo.service")
	if err != nil || path != "/bin/sh" || len(argv) != 3 || argv[1] != "-c" {
		t.Fatalf("ExecStart %q %q %v", path, argv, err)
	}

	// A start-up failure fails the job and the unit, with the exit status.
	if err := os.WriteFile(failFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := c.Restart(ctx, "demo.service", 20*time.Second)
	if r != "failed" || err == nil || !strings.Contains(err.Error(), "exited with status 3") {
		t.Fatalf("restart with failing service: %q %v", r, err)
	}
	st, _ = c.UnitState(ctx, "demo.service")
	if st.ActiveState != "failed" || st.MainPID != 0 {
		t.Fatalf("after failure %+v", st)
	}
	log, _ := os.ReadFile(logFile)
	for _, want := range []string{"demo: bad config", "Main process exited, code=exited, status=3", "Failed with result 'exit-code'", "Failed to start demo.service"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}

	// And it comes back.
	os.Remove(failFile)
	if r, err := c.Restart(ctx, "demo.service", 20*time.Second); err != nil || r != "done" {
		t.Fatalf("restart after fix: %q %v", r, err)
	}
	st, _ = c.UnitState(ctx, "demo.service")
	if st.ActiveState != "active" || st.MainPID == 0 || st.MainPID == first {
		t.Fatalf("after recovery %+v (first PID %d)", st, first)
	}

	// go-systemd's other calls.
	gs, err := sd.NewConnection(func() (*dbus.Conn, error) {
		conn, err := dbus.Dial(addr)
		if err == nil {
			err = conn.Auth(nil)
		}
		if err == nil {
			err = conn.Hello()
		}
		return conn, err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer gs.Close()
	if err := gs.Subscribe(); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	units, err := gs.ListUnitsContext(ctx)
	if err != nil || len(units) != 1 || units[0].Name != "demo.service" || units[0].ActiveState != "active" {
		t.Fatalf("ListUnits %+v %v", units, err)
	}
	if _, err := gs.GetUnitPathPropertiesContext(ctx, UnitPath("demo.service")); err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 1)
	if _, err := gs.ReloadOrRestartUnitContext(ctx, "demo.service", "replace", ch); err != nil || <-ch != "done" {
		t.Fatalf("ReloadOrRestart: %v", err)
	}
	if st, _ := c.UnitState(ctx, "demo.service"); st.ActiveState != "active" {
		t.Fatalf("after reload: %+v", st)
	}
	if _, err := gs.TryRestartUnitContext(ctx, "demo.service", "replace", ch); err != nil || <-ch != "done" {
		t.Fatalf("TryRestart: %v", err)
	}
	if _, err := gs.StopUnitContext(ctx, "demo.service", "replace", ch); err != nil || <-ch != "done" {
		t.Fatalf("Stop: %v", err)
	}
	st, _ = c.UnitState(ctx, "demo.service")
	if st.ActiveState != "inactive" || st.SubState != "dead" || st.MainPID != 0 {
		t.Fatalf("after stop %+v", st)
	}
	if _, err := gs.StartUnitContext(ctx, "demo.service", "replace", ch); err != nil || <-ch != "done" {
		t.Fatalf("Start: %v", err)
	}
	if _, err := gs.GetUnitPropertyContext(ctx, "nope.service", "ActiveState"); err != nil {
		t.Fatalf("GetUnitProperty on a missing unit: %v", err)
	}
	if v, err := gs.GetManagerProperty("Version"); err != nil || !strings.Contains(v, "dockeripv6-sandbox") {
		t.Fatalf("Manager Version = %q, %v", v, err)
	}
	if _, err := gs.StartUnitContext(ctx, "nope.service", "replace", nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("StartUnit(nope.service) = %v", err)
	}

	// Fake units.
	if err := SetFakeUnit(fakeUnits, "ufw.service", "active"); err != nil {
		t.Fatal(err)
	}
	got, err := c.ActiveUnits(ctx, "ufw.service", "firewalld.service", "demo.service")
	if err != nil || got["ufw.service"] != "active" || got["firewalld.service"] != "inactive" || got["demo.service"] != "active" {
		t.Fatalf("ActiveUnits %v %v", got, err)
	}
	if _, err := gs.StopUnitContext(ctx, "ufw.service", "replace", ch); err != nil || <-ch != "done" {
		t.Fatalf("stop ufw: %v", err)
	}
	if got, _ := c.ActiveUnits(ctx, "ufw.service"); got["ufw.service"] != "inactive" {
		t.Fatalf("ufw after stop: %v", got)
	}
}

// A service that ignores SIGTERM is killed after StopTimeout and the unit
// fails with result "timeout"; one that never gets ready fails its start.
func TestProcessServiceTimeouts(t *testing.T) {
	never := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	ready := func(ctx context.Context) error { return nil }
	stubborn := NewProcessService(ProcessConfig{
		Unit: "stubborn.service", Path: "/bin/sh", Args: []string{"-c", "trap '' TERM; while :; do sleep 0.1; done"},
		Ready: ready, StopTimeout: 300 * time.Millisecond,
	})
	if err := stubborn.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the shell install its trap
	start := time.Now()
	if err := stubborn.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := stubborn.Status()
	if st.ActiveState != "failed" || st.Result != "timeout" || st.ExecMainCode != CLDKilled || st.ExecMainStatus != 9 {
		t.Fatalf("after stop of a SIGTERM-ignoring process: %+v", st)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("stop took %s", d)
	}

	slow := NewProcessService(ProcessConfig{
		Unit: "slow.service", Path: "/bin/sleep", Args: []string{"1000"},
		Ready: never, StartTimeout: 300 * time.Millisecond, StopTimeout: time.Second,
	})
	err := slow.Start(context.Background())
	st = slow.Status()
	if err == nil || st.ActiveState != "failed" || st.Result != "timeout" || st.MainPID != 0 {
		t.Fatalf("start that never gets ready: %v, %+v", err, st)
	}
}

// The unit's Environment= and EnvironmentFile= settings are served over the
// bus, the client expands ExecStart with them as systemd does, and the
// stand-in starts the process with the same expanded argv; a required file
// that is missing fails the start, as in systemd.
func TestManagerEnvironmentOverBus(t *testing.T) {
	addr := startBus(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	dir := t.TempDir()
	argsFile, optsFile, required := filepath.Join(dir, "args"), filepath.Join(dir, "default"), filepath.Join(dir, "required")
	if err := os.WriteFile(optsFile, []byte("# like /etc/default/docker\nDEMO_OPTS=\"--one 1  --two\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(required, []byte("NAME=from-file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `printf '%s\n' "$@" > ` + argsFile + `.tmp; mv ` + argsFile + `.tmp ` + argsFile + `; while :; do sleep 0.1; done`
	svc := NewProcessService(ProcessConfig{
		Unit: "demo.service", Description: "Demo", Path: "/bin/sh",
		Args:            []string{"-c", script, "demo", "$DEMO_OPTS", "--name=${NAME}", "$UNSET", "$$"},
		UnitEnvironment: []string{"NAME=from-environment"},
		EnvironmentFiles: []systemd.EnvironmentFile{
			{Path: optsFile, IgnoreErrors: true}, {Path: filepath.Join(dir, "absent"), IgnoreErrors: true}, {Path: required},
		},
		Env: []string{"PATH=/usr/bin:/bin"}, LogPath: filepath.Join(dir, "log"),
		StartTimeout: 10 * time.Second, StopTimeout: 5 * time.Second,
		Ready: func(ctx context.Context) error {
			for {
				if _, err := os.Stat(argsFile); err == nil {
					return nil
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
		},
	})
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	m, err := Export(connect(t, addr), Options{Services: map[string]Service{"demo.service": svc}, FakeUnitsFile: filepath.Join(dir, "fake-units")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := systemd.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	env, files, err := c.Environment(ctx, "demo.service")
	if err != nil || strings.Join(env, ",") != "NAME=from-environment" || len(files) != 3 || files[0] != (systemd.EnvironmentFile{Path: optsFile, IgnoreErrors: true}) || files[2].IgnoreErrors {
		t.Fatalf("Environment = %q, %+v, %v", env, files, err)
	}
	want := []string{"/bin/sh", "-c", script, "demo", "--one", "1", "--two", "--name=from-file", "$"}
	_, argv, err := c.Command(ctx, "demo.service", os.ReadFile)
	if err != nil || strings.Join(argv, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("Command = %q, %v; want %q", argv, err, want)
	}
	if r, err := c.Restart(ctx, "demo.service", 20*time.Second); err != nil || r != "done" {
		t.Fatalf("restart: %q %v", r, err)
	}
	got, err := os.ReadFile(argsFile)
	if err != nil || string(got) != strings.Join(want[4:], "\n")+"\n" {
		t.Fatalf("the process got %q (%v), want %q", got, err, want[4:])
	}

	// The required file gone: the client cannot expand, and the start fails.
	if err := os.Remove(required); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Command(ctx, "demo.service", os.ReadFile)
	if err == nil || err.Error() != "systemd: cannot expand the ExecStart of demo.service as systemd would: EnvironmentFile="+required+": open "+required+": no such file or directory" {
		t.Fatalf("Command without the required file: %v", err)
	}
	r, err := c.Restart(ctx, "demo.service", 20*time.Second)
	if r != "failed" || err == nil || !strings.Contains(err.Error(), "service result resources") {
		t.Fatalf("restart without the required file: %q %v", r, err)
	}
}

// ExecStart=:/path ... (ExecStartEx flag no-env-expand): systemd runs the
// words as they are, and so does Command.
func TestManagerNoEnvExpandOverBus(t *testing.T) {
	addr := startBus(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	dir := t.TempDir()
	svc := NewProcessService(ProcessConfig{
		Unit: "demo.service", Description: "Demo", Path: "/bin/echo",
		Args: []string{"$DEMO_OPTS", "${NAME}"}, UnitEnvironment: []string{"DEMO_OPTS=--x", "NAME=n"},
		EnvironmentFiles: []systemd.EnvironmentFile{{Path: filepath.Join(dir, "absent")}}, NoEnvExpand: true,
	})
	m, err := Export(connect(t, addr), Options{Services: map[string]Service{"demo.service": svc}, FakeUnitsFile: filepath.Join(dir, "fake-units")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := systemd.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, argv, err := c.Command(ctx, "demo.service", os.ReadFile)
	if err != nil || strings.Join(argv, " ") != "/bin/echo $DEMO_OPTS ${NAME}" {
		t.Fatalf("Command with the : prefix = %q, %v; want the words as they are", argv, err)
	}
	if got, err := svc.expandedArgs(); err != nil || strings.Join(got, " ") != "$DEMO_OPTS ${NAME}" {
		t.Fatalf("the stand-in would start %q, %v", got, err)
	}
}
