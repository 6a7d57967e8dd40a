package sandbox_test

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

var benchmarkRange = netip.MustParsePrefix("198.18.0.0/15")

// fakeTB records Fatal instead of stopping the test.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper()              {}
func (f *fakeTB) Fatal(args ...any)    { f.fatal = fmt.Sprint(args...) }
func (f *fakeTB) Skip(args ...any)     { panic("Require must never skip") }
func (f *fakeTB) SkipNow()             { panic("Require must never skip") }
func (f *fakeTB) Skipf(string, ...any) { panic("Require must never skip") }

// Runs anywhere.
func TestRequireFailsOutsideTheSandbox(t *testing.T) {
	t.Setenv(sandbox.EnvSandbox, "")
	for name, require := range map[string]func(testing.TB){"Require": sandbox.Require, "RequireExclusive": sandbox.RequireExclusive} {
		f := &fakeTB{TB: t}
		require(f)
		if !strings.Contains(f.fatal, "not inside the sandbox: run through `make test`") {
			t.Errorf("%s outside the sandbox: Fatal(%q)", name, f.fatal)
		}
	}
}

func TestNetworkIsIsolated(t *testing.T) {
	sandbox.Require(t)
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		n := l.Attrs().Name
		names = append(names, n)
		if n != "lo" && n != "docker0" && !strings.HasPrefix(n, "veth") && !strings.HasPrefix(n, "br-") {
			t.Errorf("interface %q in the sandbox: only lo, docker0 and Docker's own belong here", n)
		}
	}
	if !strings.Contains(strings.Join(names, " "), "docker0") {
		t.Errorf("no docker0 among %v", names)
	}
	// The fresh sysfs shows the same namespace.
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	var sysNames []string
	for _, e := range entries {
		sysNames = append(sysNames, e.Name())
	}
	if strings.Join(sysNames, " ") != strings.Join(sortedCopy(names), " ") {
		t.Errorf("/sys/class/net has %v, netlink has %v", sysNames, names)
	}
	// No route out.
	routes, err := netlink.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			t.Errorf("default route in the sandbox: %v", r)
		}
	}
	// docker0 takes its address from the benchmark range.
	d0, err := net.InterfaceByName("docker0")
	if err != nil {
		t.Fatal(err)
	}
	addrs, _ := d0.Addrs()
	found := false
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			found = true
			if !benchmarkRange.Contains(p.Addr()) {
				t.Errorf("docker0 has %s, outside %s", p, benchmarkRange)
			}
		}
	}
	if !found {
		t.Errorf("docker0 has no IPv4 address: %v", addrs)
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestPrivateMountsAndPID1(t *testing.T) {
	sandbox.Require(t)
	for _, dir := range []string{"/etc/docker", "/var/lib/docker", "/run"} {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		if st.Type != unix.TMPFS_MAGIC {
			t.Errorf("%s is not a tmpfs (type %#x)", dir, st.Type)
		}
	}
	cmdline, err := os.ReadFile("/proc/1/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(cmdline), "dockeripv6-sandbox[pid1]") {
		t.Errorf("PID 1 is %q, want the sandbox (fresh PID namespace and /proc)", cmdline)
	}
	for _, f := range []string{sandbox.DockerSocket, sandbox.BusSocket, sandbox.DockerdLog(), sandbox.DaemonJSONPath()} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	if os.Getenv("DOCKER_HOST") != sandbox.DockerHost || os.Getenv("DBUS_SYSTEM_BUS_ADDRESS") != sandbox.BusAddress {
		t.Errorf("DOCKER_HOST=%q DBUS_SYSTEM_BUS_ADDRESS=%q", os.Getenv("DOCKER_HOST"), os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"))
	}
	if e := sandbox.Engine(); e != "20" && e != "29" {
		t.Errorf("Engine() = %q", e)
	}
	// cgroups survived the fresh sysfs.
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		if _, err2 := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err2 != nil {
			t.Errorf("no cgroup tree under /sys/fs/cgroup: %v / %v", err, err2)
		}
	}
}

func TestDaemonJSONUsesTheBenchmarkRange(t *testing.T) {
	sandbox.Require(t)
	b, err := os.ReadFile(sandbox.DaemonJSONPath())
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Bip   string `json:"bip"`
		Pools []struct {
			Base string `json:"base"`
			Size int    `json:"size"`
		} `json:"default-address-pools"`
		Runtimes       map[string]struct{ Path string } `json:"runtimes"`
		DefaultRuntime string                           `json:"default-runtime"`
		ProxyPath      string                           `json:"userland-proxy-path"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	bip, err := netip.ParsePrefix(cfg.Bip)
	if err != nil || !benchmarkRange.Contains(bip.Addr()) {
		t.Errorf("bip %q not in %s", cfg.Bip, benchmarkRange)
	}
	if len(cfg.Pools) == 0 {
		t.Error("no default-address-pools")
	}
	for _, p := range cfg.Pools {
		base, err := netip.ParsePrefix(p.Base)
		if err != nil || !benchmarkRange.Contains(base.Addr()) || base.Bits() < benchmarkRange.Bits() {
			t.Errorf("pool %q not inside %s", p.Base, benchmarkRange)
		}
	}
	if sandbox.Engine() == "29" {
		if cfg.DefaultRuntime != "runc12" || cfg.Runtimes["runc12"].Path == "" || cfg.ProxyPath == "" {
			t.Errorf("engine 29 daemon.json lacks runtime/proxy: %s", b)
		}
		for _, p := range []string{cfg.Runtimes["runc12"].Path, cfg.ProxyPath} {
			if _, err := os.Stat(p); err != nil {
				t.Error(err)
			}
		}
	}
}

// staticTestBinary returns this test binary if it is statically linked (it
// is, with CGO_ENABLED=0), so it can serve as a container's only file.
func staticTestBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("test binary is dynamically linked: run with CGO_ENABLED=0")
		}
	}
	return exe
}

// A container runs on the sandbox's engine, on the benchmark range, from an
// image made locally (no registry).
func TestContainerRuns(t *testing.T) {
	sandbox.Require(t)
	exe := staticTestBinary(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: "probe", Mode: 0o755, Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
	tw.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	imp := exec.CommandContext(ctx, "docker", "import", "-", "dockeripv6-sandbox-test:1")
	imp.Stdin = &buf
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "-e", "SANDBOX_TEST_IN_CONTAINER=1",
		"dockeripv6-sandbox-test:1", "/probe").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	got := strings.TrimSpace(string(out))
	addr, err := netip.ParseAddr(strings.TrimPrefix(got, "container-ipv4="))
	if err != nil || !strings.HasPrefix(got, "container-ipv4=") || !benchmarkRange.Contains(addr) {
		t.Fatalf("container said %q, want container-ipv4=<address in %s>", got, benchmarkRange)
	}
	_ = exec.Command("docker", "rmi", "dockeripv6-sandbox-test:1").Run()
}

// helperTB is the testing.TB of the lock helper process.
type helperTB struct {
	testing.TB
	cleanups []func()
}

func (h *helperTB) Name() string            { return "TestLockHelperProcess" }
func (h *helperTB) Helper()                 {}
func (h *helperTB) Cleanup(f func())        { h.cleanups = append(h.cleanups, f) }
func (h *helperTB) Logf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (h *helperTB) Fatal(a ...any)          { fmt.Fprintln(os.Stderr, a...); os.Exit(3) }
func (h *helperTB) Fatalf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, f+"\n", a...)
	os.Exit(3)
}

// A test in another process that holds RequireExclusive keeps Require
// waiting until it ends.
func TestLockExcludesAcrossProcesses(t *testing.T) {
	if !sandbox.Inside() {
		sandbox.Require(t) // fails
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SANDBOX_LOCK_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 7)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	start := time.Now()
	sandbox.Require(t)
	waited := time.Since(start)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if waited < 700*time.Millisecond {
		t.Fatalf("Require got the lock after %s while another process held it exclusively for 1s", waited)
	}
	t.Logf("Require waited %s for the other process's exclusive hold", waited.Round(time.Millisecond))
}

// TestMain doubles as the container's program in TestContainerRuns and as
// the lock helper of TestLockExcludesAcrossProcesses.
func TestMain(m *testing.M) {
	if os.Getenv("SANDBOX_LOCK_HELPER") == "1" {
		h := &helperTB{}
		sandbox.RequireExclusive(h)
		fmt.Println("locked")
		time.Sleep(time.Second)
		for i := len(h.cleanups) - 1; i >= 0; i-- {
			h.cleanups[i]()
		}
		os.Exit(0)
	}
	if os.Getenv("SANDBOX_TEST_IN_CONTAINER") == "1" {
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
				fmt.Printf("container-ipv4=%s\n", p.Addr())
				os.Exit(0)
			}
		}
		fmt.Println("no IPv4 address")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestJournalctlStandIn(t *testing.T) {
	sandbox.Require(t)
	out, err := exec.Command("journalctl", "-u", "docker.service", "-n", "3", "--no-pager", "-o", "cat").Output()
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(sandbox.DockerdLog())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
	want := strings.Join(lines[len(lines)-3:], "\n") + "\n"
	if string(out) != want {
		t.Fatalf("journalctl -n 3 printed\n%q\nwant the log's last 3 lines\n%q", out, want)
	}
	if !strings.Contains(string(log), "API listen on "+sandbox.DockerSocket) {
		t.Errorf("dockerd log lacks dockerd's own output")
	}
	out, _ = exec.Command("journalctl", "-u", "nope.service", "-n", "3", "--no-pager", "-o", "cat").Output()
	if strings.TrimSpace(string(out)) != "-- No entries --" {
		t.Errorf("journalctl for another unit: %q", out)
	}
}

// PID 1 reaps orphans: a re-parented, exited process does not stay a zombie.
func TestOrphansAreReaped(t *testing.T) {
	sandbox.Require(t)
	out, err := exec.Command("sh", "-c", "sleep 0.2 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return // reaped
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphan %d not reaped: %s", pid, stat)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSetFakeUnit(t *testing.T) {
	sandbox.RequireExclusive(t)
	if err := sandbox.SetFakeUnit("docker.service", "inactive"); err == nil {
		t.Fatal("faking docker.service: no error")
	}
	if err := sandbox.SetFakeUnit("firewalld.service", "active"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sandbox.SetFakeUnit("firewalld.service", "") })
	b, err := os.ReadFile(sandbox.FakeUnitsFile())
	if err != nil || !strings.Contains(string(b), "firewalld.service active") {
		t.Fatalf("fake units file: %q %v", b, err)
	}
}
