package probe_test

// MeasureContainer against stand-in mail servers on the sandbox's real
// dockerd: the probe binary in server mode, published like a mail server,
// logging the peer address its own accept() returned. Every test compares
// what the measurement observed with what the server logged.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall/nft"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// freeTCPPort is a TCP port that was free on both families a moment ago.
func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// standIn describes a stand-in mail container.
type standIn struct {
	ports    []int              // container ports it listens on
	bindings map[int][]string   // container port -> host IPs to publish on ("" = Docker's default); nil = publish none
	network  string             // "" = the default bridge; "host" = host network
	extra    []string           // networks connected before start
	cmd      []string           // replaces the server arguments (a relay)
	hostPort func(port int) int // host port of a container port; default the same number
	mutate   func(*container.HostConfig)
}

func probeImage(t testing.TB, cli client.APIClient) string {
	t.Helper()
	exe, _ := os.Executable()
	tag, err := probe.EnsureImage(context.Background(), cli, exe)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// startStandIn runs the stand-in and waits until every port listens. Its
// label io.dockeripv6.probe=0 (over the image's =1) keeps the probe's own
// cleanup away from it.
func startStandIn(t testing.TB, cli client.APIClient, name string, s standIn) string {
	t.Helper()
	ctx := context.Background()
	args := s.cmd
	if args == nil {
		args = []string{probe.ServerArg}
		for _, p := range s.ports {
			args = append(args, ":"+strconv.Itoa(p))
		}
		args = append(args, "exit-after=15m")
	}
	cfg := &container.Config{
		Image:        probeImage(t, cli),
		Entrypoint:   append([]string{probe.BinaryPath}, args...),
		ExposedPorts: nat.PortSet{},
		Labels:       map[string]string{probe.LabelKey: "0"},
	}
	hc := &container.HostConfig{NetworkMode: container.NetworkMode(s.network), PortBindings: nat.PortMap{}}
	for _, p := range s.ports {
		cp := nat.Port(fmt.Sprintf("%d/tcp", p))
		cfg.ExposedPorts[cp] = struct{}{}
		for _, ip := range s.bindings[p] {
			hp := p
			if s.hostPort != nil {
				hp = s.hostPort(p)
			}
			hc.PortBindings[cp] = append(hc.PortBindings[cp], nat.PortBinding{HostIP: ip, HostPort: strconv.Itoa(hp)})
		}
	}
	if s.mutate != nil {
		s.mutate(hc)
	}
	c, err := cli.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	if err != nil {
		t.Fatalf("create stand-in %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove stand-in %s: %v", name, err)
		}
	})
	for _, nw := range s.extra {
		if err := cli.NetworkConnect(ctx, nw, c.ID, nil); err != nil {
			t.Fatalf("connect %s to %s: %v", name, nw, err)
		}
	}
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start stand-in %s: %v", name, err)
	}
	want := max(1, len(s.ports))
	if s.cmd != nil {
		want = 1
	}
	waitLog(t, cli, c.ID, func(lines []string) bool {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, "dockeripv6-probe: listening") {
				n++
			}
		}
		return n >= want
	})
	return c.ID
}

func logLines(t testing.TB, cli client.APIClient, id string) []string {
	t.Helper()
	rc, err := cli.ContainerLogs(context.Background(), id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("logs of %s: %v", id, err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		t.Fatalf("logs of %s: %v", id, err)
	}
	var lines []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func waitLog(t testing.TB, cli client.APIClient, id string, done func([]string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		lines := logLines(t, cli, id)
		if done(lines) {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: waited 60s; its log: %q", id, lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// accepted is what the stand-in's accept() returned, in order.
func accepted(lines []string) []string {
	var out []string
	for _, l := range lines {
		if a, ok := strings.CutPrefix(l, probe.AcceptedLine); ok {
			out = append(out, a)
		}
	}
	return out
}

// measure runs MeasureContainer, logs the table, checks the summary against
// the rows and the observed addresses against what the server logged.
func measure(t *testing.T, cli client.APIClient, id string, o probe.ContainerOptions) probe.ContainerResult {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = testTimeout
	}
	o.Container = id
	before := len(accepted(logLines(t, cli, id)))
	res, err := probe.MeasureContainer(context.Background(), cli, o)
	if err != nil {
		t.Fatalf("MeasureContainer(%+v): %v", o, err)
	}
	t.Logf("container %s: %s (observed %s) in %s; %s", res.Container, res.Verdict, res.ObservedAddress, res.Elapsed.Round(time.Millisecond), res.Detail)
	var want []string
	for _, r := range res.Ports {
		t.Logf("  %5d %s %-28s %-6s %-11s seen %-24s client %s front=%q binding=%q %s",
			r.Port, r.Family, r.HostAddress, r.Path, r.Verdict, r.ObservedAddress, r.ClientAddress, r.FrontProxy, r.Binding, r.Elapsed.Round(time.Microsecond))
		if r.ObservedAddress != "" {
			want = append(want, r.ObservedAddress)
		}
		if r.Trusted != nil {
			t.Errorf("port %d: trusted is %v; the probe leaves it unknown (nil)", r.Port, *r.Trusted)
		}
	}
	for _, w := range res.Warnings {
		t.Logf("  warning: %s", w)
	}
	assertSummary(t, res)
	lines := waitLog(t, cli, id, func(l []string) bool { return len(accepted(l))-before >= len(want) })
	got := accepted(lines)[before:]
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the server's accept() returned %v; the measurement observed %v", got, want)
	}
	assertNoLeftovers(t, cli)
	return res
}

func assertSummary(t *testing.T, res probe.ContainerResult) {
	t.Helper()
	rank := map[string]int{probe.VerdictMasqueraded: 0, probe.VerdictUnreachable: 1, probe.VerdictRefused: 2, probe.VerdictPreserved: 3}
	if len(res.Ports) == 0 {
		t.Fatal("no rows")
	}
	worst := res.Ports[0]
	for _, r := range res.Ports[1:] {
		if rank[r.Verdict] < rank[worst.Verdict] {
			worst = r
		}
	}
	if res.Verdict != worst.Verdict || res.ObservedAddress != worst.ObservedAddress || res.Preserved != (worst.Verdict == probe.VerdictPreserved) {
		t.Errorf("summary %s/%s/%v is not the worst row's (%+v)", res.Verdict, res.ObservedAddress, res.Preserved, worst)
	}
	if !strings.HasPrefix(res.Detail, fmt.Sprintf("Port %d/tcp", worst.Port)) {
		t.Errorf("detail %q does not name port %d", res.Detail, worst.Port)
	}
}

// row finds the one row of a port and family on the client's host-side
// address (not a specific binding).
func row(t *testing.T, res probe.ContainerResult, port int, fam string) probe.PortResult {
	t.Helper()
	var found []probe.PortResult
	for _, r := range res.Ports {
		if r.Port == port && r.Family == fam {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("rows of port %d %s: %+v, want one", port, fam, found)
	}
	return found[0]
}

func wantRow(t *testing.T, r probe.PortResult, verdict, path string) {
	t.Helper()
	if r.Verdict != verdict || r.Path != path {
		t.Errorf("port %d %s on %s: %s via %s (seen %s), want %s via %s; %s", r.Port, r.Family, r.HostAddress, r.Verdict, r.Path, r.ObservedAddress, verdict, path, r.Detail)
	}
	if verdict == probe.VerdictPreserved && r.ObservedAddress != r.ClientAddress {
		t.Errorf("port %d %s: preserved but seen as %s, client %s", r.Port, r.Family, r.ObservedAddress, r.ClientAddress)
	}
}

func testName(kind string) string {
	return "dockeripv6-test-" + kind + "-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
}

// wildcard publishes a port like "25:25" in a compose file.
var wildcard = []string{""}

// Docker's defaults: the default bridge (IPv4 only), userland-proxy on. IPv6
// clients reach the container through docker-proxy, seen as the bridge's
// IPv4 gateway; IPv4 clients through the kernel's NAT, seen as themselves.
func TestContainerDockerDefaults(t *testing.T) {
	cli := dockerClient(t)
	p1, p2 := freeTCPPort(t), freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p1, p2}, bindings: map[int][]string{p1: wildcard, p2: wildcard}})
	res := measure(t, cli, id, probe.ContainerOptions{Family: probe.FamilyBoth})
	gw := gatewayOf(t, cli, "bridge", false)
	for _, p := range []int{p1, p2} {
		r6 := row(t, res, p, probe.FamilyIPv6)
		wantRow(t, r6, probe.VerdictMasqueraded, probe.PathProxy)
		if r6.ObservedAddress != gw {
			t.Errorf("port %d IPv6 seen as %s, want the bridge gateway %s", p, r6.ObservedAddress, gw)
		}
		wantRow(t, row(t, res, p, probe.FamilyIPv4), probe.VerdictPreserved, probe.PathDNAT)
	}
	if res.Verdict != probe.VerdictMasqueraded || res.Preserved {
		t.Errorf("overall %s (preserved %v), want masqueraded", res.Verdict, res.Preserved)
	}
	if a := netip.MustParseAddr(row(t, res, p1, probe.FamilyIPv6).ClientAddress); a.As16()[0] != 0xfd {
		t.Errorf("client address %s is not a ULA", a)
	}
	// A fresh client address each run: a ban of the last one decides nothing.
	again := measure(t, cli, id, probe.ContainerOptions{Ports: []int{p1}})
	if a, b := row(t, res, p1, probe.FamilyIPv6).ClientAddress, row(t, again, p1, probe.FamilyIPv6).ClientAddress; a == b {
		t.Errorf("two runs used the same client address %s", a)
	}
	if len(again.Ports) != 1 {
		t.Errorf("ports = [%d], family ipv6: %d rows, want 1", p1, len(again.Ports))
	}
}

// A ULA network with ip6tables: the kernel's NAT keeps the IPv6 client's address.
func TestContainerULANetworkIP6Tables(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	if serverMajor(t, cli) < 27 {
		withDaemonConfig(t, map[string]any{"ip6tables": true, "experimental": true})
	}
	nw := createULANetwork(t, cli)
	p := freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p}, bindings: map[int][]string{p: wildcard}, network: nw})
	res := measure(t, cli, id, probe.ContainerOptions{Family: probe.FamilyBoth})
	wantRow(t, row(t, res, p, probe.FamilyIPv6), probe.VerdictPreserved, probe.PathDNAT)
	wantRow(t, row(t, res, p, probe.FamilyIPv4), probe.VerdictPreserved, probe.PathDNAT)
	if !res.Preserved {
		t.Errorf("overall %s, want preserved", res.Verdict)
	}
}

// ip6tables off on an IPv6 network: docker-proxy relays to the container's
// IPv6 address and it sees the network's IPv6 gateway.
func TestContainerIP6TablesOff(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	withDaemonConfig(t, map[string]any{"ip6tables": false})
	nw := createULANetwork(t, cli)
	p := freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p}, bindings: map[int][]string{p: wildcard}, network: nw})
	res := measure(t, cli, id, probe.ContainerOptions{})
	r := row(t, res, p, probe.FamilyIPv6)
	wantRow(t, r, probe.VerdictMasqueraded, probe.PathProxy)
	if gw := containerGateway(t, cli, id, nw, true); r.ObservedAddress != gw {
		t.Errorf("seen as %s, want the network's IPv6 gateway %s", r.ObservedAddress, gw)
	}
}

// containerGateway is the container's gateway on a network, of one family.
func containerGateway(t *testing.T, cli client.APIClient, id, nw string, v6 bool) string {
	t.Helper()
	c, err := cli.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	ep := c.NetworkSettings.Networks[nw]
	if ep == nil {
		t.Fatalf("container %s is not on %s", id, nw)
	}
	if v6 {
		if ep.IPv6Gateway != "" {
			return ep.IPv6Gateway
		}
		return gatewayOf(t, cli, nw, true)
	}
	return ep.Gateway
}

// An IPv4 network and an internal IPv6 network: Docker maps IPv6 on the IPv4
// network (the internal one has no gateway), so docker-proxy relays IPv6 to
// the IPv4 address although the container "has IPv6".
func TestContainerInternalIPv6Network(t *testing.T) {
	cli := dockerClient(t)
	internal := testName("internal6")
	yes := true
	if _, err := cli.NetworkCreate(context.Background(), internal, network.CreateOptions{
		Driver: "bridge", EnableIPv6: &yes, Internal: true,
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: randomULA64().String()}}},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the container is gone (cleanups run last-in first-out)
		if err := cli.NetworkRemove(context.Background(), internal); err != nil {
			t.Errorf("remove network %s: %v", internal, err)
		}
	})
	p := freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p}, bindings: map[int][]string{p: wildcard}, extra: []string{internal}})
	c, _ := cli.ContainerInspect(context.Background(), id)
	if ep := c.NetworkSettings.Networks[internal]; ep == nil || ep.GlobalIPv6Address == "" {
		t.Fatalf("the container has no IPv6 address on %s: %+v", internal, ep)
	}
	res := measure(t, cli, id, probe.ContainerOptions{})
	r := row(t, res, p, probe.FamilyIPv6)
	wantRow(t, r, probe.VerdictMasqueraded, probe.PathProxy)
	if gw := gatewayOf(t, cli, "bridge", false); r.ObservedAddress != gw {
		t.Errorf("seen as %s, want the IPv4 network's gateway %s", r.ObservedAddress, gw)
	}
}

// -p 0.0.0.0:P:P publishes IPv4 only: nothing listens for IPv6.
func TestContainerIPv4OnlyBinding(t *testing.T) {
	cli := dockerClient(t)
	p := freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p}, bindings: map[int][]string{p: {"0.0.0.0"}}})
	res := measure(t, cli, id, probe.ContainerOptions{Family: probe.FamilyBoth})
	r6 := row(t, res, p, probe.FamilyIPv6)
	wantRow(t, r6, probe.VerdictRefused, probe.PathNone)
	if r6.Binding != "" {
		t.Errorf("IPv6 row binding %q: the port has no IPv6 binding", r6.Binding)
	}
	r4 := row(t, res, p, probe.FamilyIPv4)
	wantRow(t, r4, probe.VerdictPreserved, probe.PathDNAT)
	if r4.Binding != fmt.Sprintf("0.0.0.0:%d", p) {
		t.Errorf("IPv4 row binding %q", r4.Binding)
	}
	if res.Verdict != probe.VerdictRefused {
		t.Errorf("overall %s, want refused", res.Verdict)
	}
}

// A port bound to one specific host address is measured on that address.
func TestContainerSpecificHostAddress(t *testing.T) {
	cli := dockerClient(t)
	gw := gatewayOf(t, cli, "bridge", false) // an address of the host every sandbox has
	p := freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p}, bindings: map[int][]string{p: {gw}}})
	res := measure(t, cli, id, probe.ContainerOptions{Family: probe.FamilyIPv4})
	r := row(t, res, p, probe.FamilyIPv4)
	if r.HostAddress != gw || r.Binding != fmt.Sprintf("%s:%d", gw, p) {
		t.Errorf("row on %s (binding %q), want on %s", r.HostAddress, r.Binding, gw)
	}
	wantRow(t, r, probe.VerdictPreserved, probe.PathDNAT)
}

// The firewall's refuse posture on the mail ports themselves (no extra
// probe ports): IPv6 clients are refused, IPv4 is untouched.
func TestContainerFirewallRefuse(t *testing.T) {
	cli := dockerClient(t)
	p := freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p}, bindings: map[int][]string{p: wildcard}})
	fw, err := nft.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	posture, err := firewall.Posture{Table: "dockeripv6_container_test", IPv6Clients: firewall.IPv6Refuse, Ports: []uint16{uint16(p)}}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Apply(context.Background(), posture); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fw.Delete(context.Background(), posture.Table); err != nil {
			t.Errorf("delete table %s: %v", posture.Table, err)
		}
	})
	res := measure(t, cli, id, probe.ContainerOptions{Family: probe.FamilyBoth})
	wantRow(t, row(t, res, p, probe.FamilyIPv6), probe.VerdictRefused, probe.PathNone)
	wantRow(t, row(t, res, p, probe.FamilyIPv4), probe.VerdictPreserved, probe.PathDNAT)
}

// The refuse posture with reject_with = drop: IPv6 clients hang
// (unreachable); every port is measured within one timeout of each other.
func TestContainerFirewallDrop(t *testing.T) {
	cli := dockerClient(t)
	p1, p2 := freeTCPPort(t), freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p1, p2}, bindings: map[int][]string{p1: wildcard, p2: wildcard}})
	fw, err := nft.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	posture, err := firewall.Posture{Table: "dockeripv6_container_drop", IPv6Clients: firewall.IPv6Refuse, RejectWith: firewall.RejectDrop, Ports: []uint16{uint16(p1), uint16(p2)}}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Apply(context.Background(), posture); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fw.Delete(context.Background(), posture.Table); err != nil {
			t.Errorf("delete table %s: %v", posture.Table, err)
		}
	})
	res := measure(t, cli, id, probe.ContainerOptions{Family: probe.FamilyBoth, Timeout: 2 * time.Second})
	for _, p := range []int{p1, p2} {
		wantRow(t, row(t, res, p, probe.FamilyIPv6), probe.VerdictUnreachable, probe.PathNone)
		wantRow(t, row(t, res, p, probe.FamilyIPv4), probe.VerdictPreserved, probe.PathDNAT)
	}
	if res.Verdict != probe.VerdictUnreachable || !strings.Contains(res.Detail, "within 2s") {
		t.Errorf("overall %s: %s", res.Verdict, res.Detail)
	}
}

// userland-proxy off on the IPv4-only default bridge: nothing relays IPv6,
// and nothing listens on [::]: refused.
func TestContainerUserlandProxyOff(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	withDaemonConfig(t, map[string]any{"userland-proxy": false})
	p := freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p}, bindings: map[int][]string{p: wildcard}})
	res := measure(t, cli, id, probe.ContainerOptions{Family: probe.FamilyBoth, Timeout: 5 * time.Second})
	wantRow(t, row(t, res, p, probe.FamilyIPv6), probe.VerdictRefused, probe.PathNone)
	wantRow(t, row(t, res, p, probe.FamilyIPv4), probe.VerdictPreserved, probe.PathDNAT)
}

// network_mode host: the server listens on the host; clients are seen as themselves.
func TestContainerHostNetwork(t *testing.T) {
	cli := dockerClient(t)
	p := freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p}, network: "host"})
	res := measure(t, cli, id, probe.ContainerOptions{Family: probe.FamilyBoth}) // ports from the exposed ones
	wantRow(t, row(t, res, p, probe.FamilyIPv6), probe.VerdictPreserved, probe.PathHost)
	wantRow(t, row(t, res, p, probe.FamilyIPv4), probe.VerdictPreserved, probe.PathHost)
}

// A routed IPv6 network (Docker 27+): IPv6 clients connect to the
// container's own address and are seen as themselves. Docker 20.10 stores
// the option without implementing it: the rows are then the NAT network's.
func TestContainerRoutedIPv6(t *testing.T) {
	cli := dockerClient(t)
	name := testName("routed")
	yes := true
	sub := randomULA64()
	if _, err := cli.NetworkCreate(context.Background(), name, network.CreateOptions{
		Driver: "bridge", EnableIPv6: &yes,
		Options: map[string]string{"com.docker.network.bridge.gateway_mode_ipv6": "routed"},
		IPAM:    &network.IPAM{Config: []network.IPAMConfig{{Subnet: sub.String()}}},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the container is gone (cleanups run last-in first-out)
		if err := cli.NetworkRemove(context.Background(), name); err != nil {
			t.Errorf("remove network %s: %v", name, err)
		}
	})
	p := freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p}, bindings: map[int][]string{p: wildcard}, network: name})
	c, _ := cli.ContainerInspect(context.Background(), id)
	own := c.NetworkSettings.Networks[name].GlobalIPv6Address
	res := measure(t, cli, id, probe.ContainerOptions{})
	r := row(t, res, p, probe.FamilyIPv6)
	if serverMajor(t, cli) >= 27 {
		wantRow(t, r, probe.VerdictPreserved, probe.PathRouted)
		if r.HostAddress != own {
			t.Errorf("routed row connects to %s, want the container's own address %s", r.HostAddress, own)
		}
		return
	}
	if r.Path == probe.PathRouted || r.HostAddress == own {
		t.Errorf("Docker 20.10 has no routed mode, yet the row is %s to %s", r.Path, r.HostAddress)
	}
}

// A front proxy container publishes the port and relays to the mail
// container, which publishes nothing itself: the row names the proxy.
func TestContainerFrontProxy(t *testing.T) {
	cli := dockerClient(t)
	nw := createULANetwork(t, cli)
	p := freeTCPPort(t)
	mail := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p}, network: nw})
	c, _ := cli.ContainerInspect(context.Background(), mail)
	mailIP := c.NetworkSettings.Networks[nw].IPAddress
	proxyName := testName("traefik")
	startStandIn(t, cli, proxyName, standIn{
		ports: []int{p}, bindings: map[int][]string{p: wildcard}, network: nw,
		cmd: []string{probe.RelayArg, ":" + strconv.Itoa(p), net.JoinHostPort(mailIP, strconv.Itoa(p))},
	})
	res := measure(t, cli, mail, probe.ContainerOptions{Ports: []int{p}, Family: probe.FamilyBoth})
	for _, fam := range []string{probe.FamilyIPv6, probe.FamilyIPv4} {
		r := row(t, res, p, fam)
		wantRow(t, r, probe.VerdictMasqueraded, probe.PathProxy)
		if r.FrontProxy != proxyName || !strings.Contains(r.Detail, proxyName) {
			t.Errorf("%s: front proxy %q (detail %q), want %q named", fam, r.FrontProxy, r.Detail, proxyName)
		}
	}
}

// Bad input: each error or warning names the container.
func TestContainerBadInput(t *testing.T) {
	cli := dockerClient(t)
	ctx := context.Background()
	errCase := func(o probe.ContainerOptions, want ...string) {
		t.Helper()
		_, err := probe.MeasureContainer(ctx, cli, o)
		if err == nil {
			t.Errorf("%+v: no error", o)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q lacks %q", o, err, w)
			}
		}
		t.Logf("%+v: %v", o, err)
	}
	errCase(probe.ContainerOptions{Container: "no-such-mail-dockeripv6"}, `no container "no-such-mail-dockeripv6"`, "docker ps")
	errCase(probe.ContainerOptions{}, "no container given")
	errCase(probe.ContainerOptions{Container: "x", Family: "ipv5"}, `"ipv5"`)
	errCase(probe.ContainerOptions{Container: "x", Ports: []int{70000}}, "70000", `"x"`)

	stopped := testName("stopped")
	if _, err := cli.ContainerCreate(ctx, &container.Config{Image: probeImage(t, cli), Labels: map[string]string{probe.LabelKey: "0"}}, nil, nil, nil, stopped); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.ContainerRemove(context.Background(), stopped, container.RemoveOptions{Force: true}) })
	errCase(probe.ContainerOptions{Container: stopped}, fmt.Sprintf("container %q is not running (created)", stopped), "start it")

	p := freeTCPPort(t)
	udp := testName("udp")
	id := startStandIn(t, cli, udp, standIn{ports: []int{p}, mutate: func(hc *container.HostConfig) {
		hc.PortBindings = nat.PortMap{nat.Port(fmt.Sprintf("%d/udp", p)): {{HostPort: strconv.Itoa(p)}}}
	}})
	errCase(probe.ContainerOptions{Container: id}, fmt.Sprintf("container %q publishes no TCP port", udp))

	mail := testName("mail")
	q := freeTCPPort(t)
	mid := startStandIn(t, cli, mail, standIn{ports: []int{q}, bindings: map[int][]string{q: wildcard}})
	missing := freeTCPPort(t)
	errCase(probe.ContainerOptions{Container: mail, Ports: []int{missing}},
		fmt.Sprintf("container %q publishes none of the ports asked for (%d/tcp): it publishes %d/tcp", mail, missing, q))
	res := measure(t, cli, mid, probe.ContainerOptions{Ports: []int{q, missing}})
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], fmt.Sprintf("Container %q does not publish port %d/tcp", mail, missing)) {
		t.Errorf("warnings %q, want one naming %s and port %d", res.Warnings, mail, missing)
	}
	if len(res.Ports) != 1 || res.Ports[0].Port != q {
		t.Errorf("rows %+v, want port %d only", res.Ports, q)
	}
	assertNoLeftovers(t, cli)
}

// Measuring a container starts none, and leaves nothing behind.
func TestContainerStartsNoContainer(t *testing.T) {
	cli := dockerClient(t)
	p := freeTCPPort(t)
	id := startStandIn(t, cli, testName("mail"), standIn{ports: []int{p}, bindings: map[int][]string{p: wildcard}})
	count := func() int {
		l, err := cli.ContainerList(context.Background(), container.ListOptions{All: true})
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before, most := count(), 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			most = max(most, count())
		}
	}()
	measure(t, cli, id, probe.ContainerOptions{Family: probe.FamilyBoth})
	cancel()
	<-done
	if most > before {
		t.Errorf("%d containers during the measurement, %d before", most, before)
	}
}

// A probe container whose run was killed (nothing removes it) stops
// listening after its lifetime and is removed by the daemon.
func TestDockerProbeContainerEndsAfterItsLifetime(t *testing.T) {
	cli := dockerClient(t)
	ctx := context.Background()
	tag := probeImage(t, cli)
	nw, err := cli.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := probe.NamePrefix + "killed" + strconv.Itoa(os.Getpid())
	ctr, err := probe.StartProbe(ctx, cli, tag, nw.ID, name, freeTCPPort(t), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := cli.ContainerInspect(ctx, ctr.ID)
		if cerrdefs.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			_ = cli.ContainerRemove(ctx, ctr.ID, container.RemoveOptions{Force: true})
			t.Fatalf("probe container %s still there 60s after its 2s lifetime (%v)", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkMeasureContainer: the time to measure one published port (IPv6,
// default bridge), the simulated client's set-up included; ms/port is the
// per-row time, ms/op the whole call for two ports.
func BenchmarkMeasureContainer(b *testing.B) {
	cli := dockerClient(b)
	p1, p2 := freeTCPPort(b), freeTCPPort(b)
	id := startStandIn(b, cli, testName("bench"), standIn{ports: []int{p1, p2}, bindings: map[int][]string{p1: wildcard, p2: wildcard}})
	var rows int
	var perPort time.Duration
	for b.Loop() {
		res, err := probe.MeasureContainer(context.Background(), cli, probe.ContainerOptions{Container: id})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res.Ports {
			perPort += r.Elapsed
			rows++
		}
	}
	b.ReportMetric(float64(perPort.Microseconds())/1000/float64(rows), "ms/port")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/measurement")
}
