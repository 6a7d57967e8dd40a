package nspawn

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The command's working directory is bound in at its own path, also under
// /tmp, where nspawn mounts a tmpfs of its own.
func TestNspawnArgsBindWorkingDirectory(t *testing.T) {
	args := NspawnArgs("/var/tmp/s", "/var/tmp/s/root", nil, false, "/tmp/ci/checkout/", "/")
	boot := slices.Index(args, "--boot")
	if i := slices.Index(args, "--bind=/tmp/ci/checkout"); i < 0 || i > boot {
		t.Fatalf("working directory not bound before --boot: %q", args)
	}
	if slices.Contains(args, "--bind=/") {
		t.Fatalf("/ bound over the container's root: %q", args)
	}
}

func TestNspawnArgs(t *testing.T) {
	for _, engine29 := range []bool{false, true} {
		args := NspawnArgs("/var/tmp/s", "/var/tmp/s/root", []string{"postgresql.service", "ssh.service"}, engine29)
		for _, want := range []string{
			"--directory=/var/tmp/s/root", "--volatile=overlay", "--register=no", "--keep-unit",
			"--private-network", "--capability=all",
			"--bind=/var/tmp/s/var-lib-docker:/var/lib/docker",
			"--bind=/var/tmp/s/var-lib-containerd:/var/lib/containerd",
			"--bind=/var/tmp/s/etc-docker:/etc/docker",
		} {
			if !slices.Contains(args, want) {
				t.Errorf("engine29=%v: %s missing from %q", engine29, want, args)
			}
		}
		dropIn := "--bind-ro=/var/tmp/s/docker.service.d:/etc/systemd/system/docker.service.d"
		if slices.Contains(args, dropIn) != engine29 {
			t.Errorf("engine29=%v: drop-in bind present=%v", engine29, !engine29)
		}
		// The kernel command line comes after --boot --.
		i := slices.Index(args, "--boot")
		if i < 0 || args[i+1] != "--" || !slices.Equal(args[i+2:], []string{"systemd.mask=postgresql.service", "systemd.mask=ssh.service"}) {
			t.Errorf("engine29=%v: boot arguments %q", engine29, args)
		}
	}
}

func TestMaskedUnits(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{
		"multi-user.target.wants/docker.service", "multi-user.target.wants/containerd.service",
		"multi-user.target.wants/postgresql.service", "multi-user.target.wants/ssh.service",
		"sockets.target.wants/docker.socket", "timers.target.wants/apt-daily.timer",
		"sysinit.target.wants/systemd-timesyncd.service",
	} {
		p := filepath.Join(root, "etc/systemd/system", f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/lib/systemd/system/"+filepath.Base(f), p); err != nil {
			t.Fatal(err)
		}
	}
	got := MaskedUnits(root)
	want := []string{"apt-daily.timer", "console-getty.service", "getty@tty1.service", "postgresql.service", "ssh.service", "systemd-modules-load.service", "systemd-timesyncd.service"}
	if !slices.Equal(got, want) {
		t.Fatalf("MaskedUnits = %q, want %q", got, want)
	}
}

func TestDropIn(t *testing.T) {
	if d := DropIn(Config{Engine: "20"}); d != nil {
		t.Fatalf("engine 20 runs Debian's unit unchanged, got a drop-in:\n%s", d)
	}
	d := string(DropIn(Config{Engine: "29", Engine29Bin: "/cache/bin"}))
	// ExecStart= first clears Debian's; -H fd:// keeps socket activation,
	// $DOCKER_OPTS Debian's /etc/default/docker.
	if !strings.Contains(d, "\nExecStart=\nExecStart=/cache/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\n") {
		t.Fatalf("engine 29 drop-in:\n%s", d)
	}
	if !strings.Contains(d, "Environment=PATH=/cache/bin:") {
		t.Fatalf("engine 29 drop-in does not put the engine's binaries first on PATH:\n%s", d)
	}
}

func TestCommandEnv(t *testing.T) {
	env := CommandEnv([]string{
		"HOME=/root", "PATH=/usr/local/go/bin:/usr/bin", "DOCKER_HOST=tcp://elsewhere:2376", "DOCKER_CONTEXT=remote",
		"DBUS_SYSTEM_BUS_ADDRESS=unix:path=/elsewhere", "DOCKERIPV6_SANDBOX_SYSTEMD=fake", "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1",
	}, Config{Engine: "29", Engine29Bin: "/cache/bin"})
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := got[k]; dup {
			t.Errorf("%s set twice", k)
		}
		got[k] = v
	}
	want := map[string]string{
		"HOME": "/root", "PATH": "/usr/local/go/bin:/usr/bin",
		"DOCKER_HOST":                "unix:///run/docker.sock",
		"DBUS_SYSTEM_BUS_ADDRESS":    "unix:path=/run/dbus/system_bus_socket",
		"DOCKERIPV6_SANDBOX":         "1",
		"DOCKERIPV6_SANDBOX_SYSTEMD": "real",
		"DOCKERIPV6_SANDBOX_ENGINE":  "29",
		"DOCKERIPV6_SANDBOX_DOCKERD": "/cache/bin/dockerd",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
	for _, k := range []string{"DOCKER_CONTEXT", "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s leaked into the container", k)
		}
	}
}

func TestInDir(t *testing.T) {
	got := inDir("/work/x y", []string{"go", "test", "./..."})
	want := []string{"/bin/sh", "-c", `cd "$0" && exec "$@"`, "/work/x y", "go", "test", "./..."}
	if !slices.Equal(got, want) {
		t.Fatalf("inDir = %q", got)
	}
}

// The scratch directory's root/ is a bind mount of the whole root file
// system while the container runs: teardown must never remove what is
// below it. Here root/ holds a file (as it would if the unmount had not
// happened): removeScratch fails and the file survives.
func TestRemoveScratchNeverEmptiesRoot(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "root", "etc", "precious")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "var-lib-docker", "overlay2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := removeScratch(dir); err == nil {
		t.Fatal("removeScratch succeeded with a non-empty root/")
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("removeScratch removed what was below root/: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "var-lib-docker")); err != nil {
		t.Fatalf("removeScratch removed scratch data though root/ was not empty: %v", err)
	}
	// Once root/ is empty, everything goes.
	if err := os.RemoveAll(filepath.Join(dir, "root", "etc")); err != nil {
		t.Fatal(err)
	}
	if err := removeScratch(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("scratch directory still there: %v", err)
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/var/tmp/a\040b`); got != "/var/tmp/a b" {
		t.Fatalf("unescapeMount = %q", got)
	}
}

func TestToolBinds(t *testing.T) {
	if b := ToolBinds(Config{}, nil); b != nil {
		t.Fatalf("this machine's own root needs no binds, got %q", b)
	}
	dir := t.TempDir()
	mod, cache := filepath.Join(dir, "mod"), filepath.Join(dir, "cache")
	if err := os.Mkdir(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	// GOCACHE does not exist: not bound (nspawn would refuse the boot).
	got := ToolBinds(Config{Root: "/r"}, []string{"GOMODCACHE=" + mod, "GOCACHE=" + cache, "HOME=/nowhere"})
	want := []string{"--bind-ro=/usr/local", "--bind=" + mod}
	if !slices.Equal(got, want) {
		t.Fatalf("ToolBinds = %q, want %q", got, want)
	}
	if err := os.MkdirAll(filepath.Join(dir, "home", "go", "pkg", "mod"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "home", ".cache", "go-build"), 0o755); err != nil {
		t.Fatal(err)
	}
	got = ToolBinds(Config{Root: "/r"}, []string{"HOME=" + filepath.Join(dir, "home")})
	want = []string{"--bind-ro=/usr/local", "--bind=" + filepath.Join(dir, "home", "go", "pkg", "mod"), "--bind=" + filepath.Join(dir, "home", ".cache", "go-build")}
	if !slices.Equal(got, want) {
		t.Fatalf("ToolBinds with defaults under HOME = %q, want %q", got, want)
	}
}

func TestRootEngine(t *testing.T) {
	root := t.TempDir()
	if _, err := RootEngine(root); err == nil || !strings.Contains(err.Error(), "is not a Debian root tree") {
		t.Fatalf("no dpkg status: %v", err)
	}
	status := filepath.Join(root, "var/lib/dpkg/status")
	if err := os.MkdirAll(filepath.Dir(status), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if err := os.WriteFile(status, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Package: docker-cli\nVersion: 26.1.5+dfsg1-9+b9\n\nPackage: dbus\nVersion: 1.16.2-2\n")
	if _, err := RootEngine(root); err == nil || !strings.Contains(err.Error(), "has no docker.io package installed") {
		t.Fatalf("no docker.io: %v", err)
	}
	write("Package: dbus\nVersion: 1.16.2-2\n\nPackage: docker.io\nStatus: install ok installed\nVersion: 26.1.5+dfsg1-9+b9\n")
	if e, err := RootEngine(root); err != nil || e != "26" {
		t.Fatalf("RootEngine = %q, %v; want 26", e, err)
	}
	write("Package: docker.io\nVersion: 1:x.y\n")
	if _, err := RootEngine(root); err == nil || !strings.Contains(err.Error(), `docker.io version "x.y"`) {
		t.Fatalf("bad version: %v", err)
	}
}
