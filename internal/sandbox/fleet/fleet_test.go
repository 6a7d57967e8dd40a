package fleet

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

func TestMain(m *testing.M) {
	MaybeRunHost()
	os.Exit(m.Run())
}

// TestFleet starts two hosts and checks what each has: sshd listening on its
// ULA address only, its own PID namespace, private /etc with the fleet users,
// nothing of them left after Close.
func TestFleet(t *testing.T) {
	f := New(t, 2)
	if len(f.Hosts) != 2 {
		t.Fatalf("%d hosts", len(f.Hosts))
	}
	for _, h := range f.Hosts {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(h.Addr.String(), "22"), 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		banner := make([]byte, 8)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(banner); err != nil || !strings.HasPrefix(string(banner), "SSH-2.0") {
			t.Errorf("%s: banner %q %v", h.Name, banner, err)
		}
		c.Close()
		ps, err := h.Processes()
		if err != nil {
			t.Fatal(err)
		}
		var comms []string
		for _, p := range ps {
			comms = append(comms, p.Comm)
		}
		if !strings.Contains(strings.Join(comms, " "), "sshd") {
			t.Errorf("%s: processes %v, no sshd", h.Name, comms)
		}
		passwd, err := os.ReadFile(h.Path("/etc/passwd"))
		if err != nil || !strings.Contains(string(passwd), UserSudo+":x:64002") {
			t.Errorf("%s: /etc/passwd lacks %s (%v)", h.Name, UserSudo, err)
		}
		for _, ns := range []string{"net", "mnt", "pid", "uts"} {
			mine, _ := os.Readlink("/proc/self/ns/" + ns)
			its, err := os.Readlink("/proc/" + itoa(h.PID()) + "/ns/" + ns)
			if err != nil || its == mine {
				t.Errorf("%s: %s namespace %q is the workstation's (%v)", h.Name, ns, its, err)
			}
		}
	}
	// The machine's own /etc is untouched.
	if b, _ := os.ReadFile("/etc/passwd"); strings.Contains(string(b), UserSudo) {
		t.Fatal("the fleet user is in the machine's /etc/passwd")
	}
	// sshd restarts after a kill.
	h := f.Hosts[0]
	if err := h.KillSSHD(); err != nil {
		t.Fatal(err)
	}
	if err := h.StartSSHD(context.Background()); err != nil {
		t.Fatal(err)
	}
	pids := []int{f.Hosts[0].PID(), f.Hosts[1].PID()}
	link := f.Hosts[0].Link
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if _, err := os.Stat("/proc/" + itoa(pid)); err == nil {
			t.Errorf("PID 1 %d still there after Close", pid)
		}
	}
	// The kernel frees a network namespace (and its veths) asynchronously.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := net.InterfaceByName(link); err != nil {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%s still there 10s after Close", link)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestFleetDocker starts three hosts and checks each one's Docker side: its
// own dockerd (the sandbox's engine) with its own IPv4 and no IPv6, reached
// by root and by sudo over SSH at the default socket and bus paths, the
// journalctl stand-in, nftables in its own netns; a restart through D-Bus
// on one host leaves the others alone; the workstation command sees no
// socket and no bus but reaches the hosts; Close stops each dockerd cleanly.
func TestFleetDocker(t *testing.T) {
	f := New(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	wantVersion := map[string]string{"20": "20.10.", "29": "29."}[sandbox.Engine()]
	if wantVersion == "" {
		t.Fatalf("engine %q", sandbox.Engine())
	}
	slices := map[string]bool{}
	for _, h := range f.Hosts {
		if !netip.MustParsePrefix(IPv4Range).Contains(h.IPv4.Addr()) || slices[h.IPv4.String()] {
			t.Errorf("%s: IPv4 slice %s outside %s or not its own", h.Name, h.IPv4, IPv4Range)
		}
		slices[h.IPv4.String()] = true
		if !h.IPv4.Contains(h.BIP.Addr()) || !h.IPv4.Contains(h.Pool.Addr()) || h.BIP.Masked().Overlaps(h.Pool) {
			t.Errorf("%s: bip %s, pool %s, slice %s", h.Name, h.BIP, h.Pool, h.IPv4)
		}

		info, err := h.Exec(ctx, "docker", "info")
		if err != nil {
			t.Fatal(err)
		}
		pool := "Base: " + h.Pool.String() + ", Size: " + itoa(PoolSize)
		if !strings.Contains(info, "Server Version: "+wantVersion) || !strings.Contains(info, pool) {
			t.Errorf("%s: docker info lacks %q or %q:\n%s", h.Name, "Server Version: "+wantVersion, pool, info)
		}
		subnet, err := h.Exec(ctx, "docker", "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Subnet}}")
		if err != nil || strings.TrimSpace(subnet) != h.BIP.Masked().String() {
			t.Errorf("%s: bridge subnet %q, want %s (%v)", h.Name, subnet, h.BIP.Masked(), err)
		}

		b, err := os.ReadFile(h.DaemonJSON())
		if err != nil {
			t.Fatal(err)
		}
		var dj map[string]any
		if err := json.Unmarshal(b, &dj); err != nil {
			t.Fatal(err)
		}
		if dj["bip"] != h.BIP.String() || dj["ipv6"] != nil || dj["fixed-cidr-v6"] != nil {
			t.Errorf("%s: daemon.json %s", h.Name, b)
		}
		if cat, err := h.Exec(ctx, "cat", "/etc/docker/daemon.json"); err != nil || cat != string(b) {
			t.Errorf("%s: cat /etc/docker/daemon.json on the host: %q, %v; want %s", h.Name, cat, err, b)
		}
		if err := sandbox.PingDocker(ctx, h.DockerSocket()); err != nil {
			t.Errorf("%s: ping through %s: %v", h.Name, h.DockerHost(), err)
		}

		// nftables in the host's own netns: Docker's iptables-nft tables.
		if out, err := h.Exec(ctx, "nft", "list", "tables"); err != nil || !strings.Contains(out, "table ip nat") {
			t.Errorf("%s: nft list tables: %q %v", h.Name, out, err)
		}
	}
	// The workstation's (the sandbox's) dockerd is another one.
	if b, _ := os.ReadFile(sandbox.DaemonJSONPath()); strings.Contains(string(b), "198.19.") {
		t.Errorf("the sandbox's daemon.json has a host's IPv4: %s", b)
	}

	// Over SSH, without any environment: root and sudo -n find the socket
	// and the bus at their default paths, and journalctl the log.
	h1 := f.Hosts[0]
	for _, tc := range []struct{ user, cmd, want string }{
		{UserRoot, "docker version --format '{{.Server.Version}}'", wantVersion},
		{UserSudo, "sudo -n docker version --format '{{.Server.Version}}'", wantVersion},
		{UserSudo, "sudo -n busctl --system call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager GetUnit s docker.service",
			`o "/org/freedesktop/systemd1/unit/docker_2eservice"`},
		{UserSudo, "sudo -n dbus-send --system --print-reply --dest=org.freedesktop.systemd1 /org/freedesktop/systemd1/unit/docker_2eservice " +
			"org.freedesktop.DBus.Properties.Get string:org.freedesktop.systemd1.Unit string:ActiveState", `string "active"`},
		{UserSudo, "sudo -n journalctl -u docker.service -n 200 --no-pager -o cat", "Started docker.service"},
		{UserSudo, "sudo -n nft list tables", "table ip filter"},
	} {
		out, err := sshRun(f, h1, tc.user, tc.cmd)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("%s@%s: %s: %q (%v), want %q", tc.user, h1.Name, tc.cmd, out, err, tc.want)
		}
	}

	// A restart through D-Bus on mail1 restarts its dockerd only.
	before := map[string]int{}
	for _, h := range f.Hosts {
		before[h.Name] = dockerdPID(t, h)
	}
	if out, err := sshRun(f, h1, UserSudo, "sudo -n busctl --system call org.freedesktop.systemd1 /org/freedesktop/systemd1 "+
		"org.freedesktop.systemd1.Manager RestartUnit ss docker.service replace"); err != nil {
		t.Fatalf("RestartUnit: %q %v", out, err)
	}
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		pid := dockerdPID(t, h1)
		if pid != 0 && pid != before[h1.Name] && sandbox.PingDocker(ctx, h1.DockerSocket()) == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%s: dockerd not restarted 90s after RestartUnit (pid %d, was %d)", h1.Name, pid, before[h1.Name])
		}
	}
	for _, h := range f.Hosts[1:] {
		if pid := dockerdPID(t, h); pid != before[h.Name] {
			t.Errorf("%s: dockerd %d became %d when %s restarted", h.Name, before[h.Name], pid, h1.Name)
		}
		if err := sandbox.PingDocker(ctx, h.DockerSocket()); err != nil {
			t.Errorf("%s: %v", h.Name, err)
		}
	}

	// The workstation: no socket, no bus, no variables; the hosts over SSH.
	ws := WorkstationCommand(ctx, "sh", "-c", `ls -A /run; ls -A /var/run; echo "DOCKER_HOST=$DOCKER_HOST DBUS=$DBUS_SYSTEM_BUS_ADDRESS"`)
	if out, err := ws.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "DOCKER_HOST= DBUS=" {
		t.Errorf("workstation: %q %v", out, err)
	}
	if out, err := WorkstationCommand(ctx, "docker", "version").CombinedOutput(); err == nil || !strings.Contains(string(out), "docker.sock") {
		t.Errorf("workstation: docker version: %v\n%s", err, out)
	}
	kh, err := f.KnownHosts()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range f.Hosts {
		out, err := WorkstationCommand(ctx, "ssh", "-i", filepath.Join(f.Dir, "id_"+UserSudo), "-o", "BatchMode=yes",
			"-o", "UserKnownHostsFile="+kh, "-o", "StrictHostKeyChecking=yes", UserSudo+"@"+h.Addr.String(),
			"sudo -n docker version --format '{{.Server.Version}}'").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), wantVersion) {
			t.Errorf("workstation: ssh %s: %q %v", h.Name, out, err)
		}
	}
	// The sandbox's own socket is still there for the test itself.
	if _, err := os.Stat(sandbox.DockerSocket); err != nil {
		t.Errorf("the workstation command's mounts leaked: %v", err)
	}

	// Close stops each dockerd through its manager: the logs (kept open
	// across Close) end with the stop.
	var logs []*os.File
	for _, h := range f.Hosts {
		l, err := os.Open(h.DockerdLog())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		logs = append(logs, l)
	}
	begin := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("fleet: %d hosts closed in %s", len(f.Hosts), time.Since(begin).Round(time.Millisecond))
	for i, l := range logs {
		b, _ := io.ReadAll(l)
		if why := cleanStop(string(b)); why != "" {
			t.Errorf("%s: dockerd log does not end with a clean stop (%s):\n%s", f.Hosts[i].Name, why, b[max(0, len(b)-2000):])
		}
	}
}

// cleanStop says why the manager's lines of a dockerd log after its last
// start are not a clean stop, or "": the manager began the stop (SIGTERM),
// dockerd's main process exited after that, the manager did not need
// SIGKILL, and it logged the unit stopped. What dockerd itself (or its
// containerd) writes while it shuts down may come in between and after:
// on a busy machine containerd's reconnect lines follow "Daemon shutdown
// complete", and they say nothing about how the stop went.
func cleanStop(log string) string {
	start := strings.LastIndex(log, "Started docker.service")
	if start < 0 {
		return "no start"
	}
	after := log[start:]
	stopping := strings.Index(after, "Stopping docker.service")
	exited := strings.LastIndex(after, "docker.service: Main process exited")
	stopped := strings.LastIndex(after, "Stopped docker.service")
	switch {
	case stopping < 0:
		return "the manager never began a stop"
	case exited < stopping:
		return "dockerd did not exit after the stop began"
	case strings.Contains(after[stopping:], "Failed with result 'timeout'"):
		return "dockerd ignored SIGTERM and was killed"
	case stopped < exited:
		return "the manager did not log the unit stopped"
	}
	return ""
}

// dockerdPID is Host.DockerdPID, failing the test on an error.
func dockerdPID(t *testing.T, h *Host) int {
	t.Helper()
	pid, err := h.DockerdPID()
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// sshRun runs cmd on h as user over SSH and returns its output.
func sshRun(f *Fleet, h *Host, user, cmd string) (string, error) {
	signer, err := ssh.ParsePrivateKey([]byte(f.Keys[user]))
	if err != nil {
		return "", err
	}
	hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.HostKey))
	if err != nil {
		return "", err
	}
	c, err := ssh.Dial("tcp", net.JoinHostPort(h.Addr.String(), strconv.Itoa(h.Port)), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hk), HostKeyAlgorithms: []string{hk.Type()}, Timeout: 10 * time.Second,
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}

// TestHostIPv4 checks the hosts' IPv4 slices: 16 distinct /21s inside
// IPv4Range, bridge and pool apart inside each, none in a private or
// public range; link 17 reuses link 1's.
func TestHostIPv4(t *testing.T) {
	r := netip.MustParsePrefix(IPv4Range)
	forbidden := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("198.18.0.0/17"), // the sandbox's own dockerd
	}
	seen := map[netip.Prefix]int{}
	for k := 1; k <= 16; k++ {
		slice, bip, pool := hostIPv4(k)
		if !r.Contains(slice.Addr()) || slice.Bits() != 21 || slice.Masked() != slice {
			t.Errorf("link %d: slice %s", k, slice)
		}
		if prev, dup := seen[slice]; dup {
			t.Errorf("links %d and %d share %s", prev, k, slice)
		}
		seen[slice] = k
		if !slice.Contains(bip.Addr()) || bip.Addr().As4()[3] != 1 || bip.Bits() != 24 ||
			!slice.Contains(pool.Addr()) || pool.Bits() != 22 || pool.Masked() != pool || bip.Masked().Overlaps(pool) {
			t.Errorf("link %d: bip %s pool %s in %s", k, bip, pool, slice)
		}
		for _, f := range forbidden {
			if f.Overlaps(slice) {
				t.Errorf("link %d: %s overlaps %s", k, slice, f)
			}
		}
	}
	s1, _, _ := hostIPv4(1)
	s17, _, _ := hostIPv4(17)
	if s1 != s17 {
		t.Errorf("link 17 has %s, link 1 %s: want the same", s17, s1)
	}
}

func TestWorkstationEnv(t *testing.T) {
	got := WorkstationEnv([]string{"HOME=/root", "DOCKER_HOST=unix:///run/docker.sock", "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket",
		"DOCKER_CONTEXT=x", "PATH=" + sandbox.BinDir + ":/usr/local/go/bin:/usr/bin", sandbox.EnvSandbox + "=1", "TMPDIR=/tmp/x"})
	want := []string{"HOME=/root", "PATH=/usr/local/go/bin:/usr/bin", sandbox.EnvSandbox + "=1", "TMPDIR=/tmp/x"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("WorkstationEnv = %q, want %q", got, want)
	}
}

func TestCleanStop(t *testing.T) {
	const (
		started = "Started docker.service - Docker.\n"
		stop    = "Stopping docker.service - Docker...\n"
		shut    = "level=info msg=\"Daemon shutdown complete\"\n"
		exited  = "docker.service: Main process exited, code=exited, status=0/SUCCESS\n"
		stopped = "Stopped docker.service - Docker.\n"
		late    = "level=warning msg=\"containerd: reconnecting\"\n"
	)
	for _, tt := range []struct{ log, want string }{
		{started + stop + shut + exited + stopped, ""},
		{started + stop + shut + late + exited + late + stopped + late, ""},
		{started + shut, "the manager never began a stop"},
		{started + exited + stop + stopped, "dockerd did not exit after the stop began"},
		{started + stop + "docker.service: Main process exited, code=killed, status=9/KILL\ndocker.service: Failed with result 'timeout'.\n" + stopped, "dockerd ignored SIGTERM and was killed"},
		{started + stop + exited, "the manager did not log the unit stopped"},
		{stop + exited + stopped + started, "the manager never began a stop"},
	} {
		if got := cleanStop(tt.log); got != tt.want {
			t.Errorf("cleanStop(%q) = %q, want %q", tt.log, got, tt.want)
		}
	}
}
