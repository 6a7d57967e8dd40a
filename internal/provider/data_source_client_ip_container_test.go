package provider

// dockeripv6_client_ip in container mode, through real terraform, against
// stand-in mail containers on the sandbox's dockerd: the probe binary in
// server mode, logging the peer its own accept() returned. Each test compares
// the provider's observed addresses with what the stand-in logged.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
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
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// ctrStandIn describes a stand-in mail container.
type ctrStandIn struct {
	ports    []int            // container ports it listens on (and exposes)
	bindings map[int][]string // container port -> host IPs to publish on ("" = Docker's default)
	network  string           // "" = the default bridge; "host" = host network
	extra    []string         // networks connected before start
	cmd      []string         // replaces the server arguments (a relay)
	env      []string
	mainCF   string // copied in as /etc/postfix/main.cf before start
	noStart  bool
}

func ctrFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func ctrName(kind string) string {
	return "acc-ctr-" + kind + "-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
}

// ctrStart runs the stand-in and waits until it listens; it is removed when the test ends.
func ctrStart(t *testing.T, cli *client.Client, name string, s ctrStandIn) string {
	t.Helper()
	ctx := testCtx(t)
	args := s.cmd
	if args == nil {
		args = []string{probe.ServerArg}
		for _, p := range s.ports {
			args = append(args, ":"+strconv.Itoa(p))
		}
		args = append(args, "exit-after=15m")
	}
	cfg := &container.Config{Image: hostProbeImage(t, cli), Entrypoint: append([]string{probe.BinaryPath}, args...),
		ExposedPorts: nat.PortSet{}, Labels: map[string]string{probe.LabelKey: "0"}, Env: s.env}
	hc := &container.HostConfig{NetworkMode: container.NetworkMode(s.network), PortBindings: nat.PortMap{}}
	for _, p := range s.ports {
		cp := nat.Port(fmt.Sprintf("%d/tcp", p))
		cfg.ExposedPorts[cp] = struct{}{}
		for _, ip := range s.bindings[p] {
			hc.PortBindings[cp] = append(hc.PortBindings[cp], nat.PortBinding{HostIP: ip, HostPort: strconv.Itoa(p)})
		}
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
	if s.mainCF != "" {
		if err := cli.CopyToContainer(ctx, c.ID, "/", ctrMainCFTar(t, s.mainCF), container.CopyToContainerOptions{}); err != nil {
			t.Fatalf("copy main.cf into %s: %v", name, err)
		}
	}
	for _, nw := range s.extra {
		if err := cli.NetworkConnect(ctx, nw, c.ID, nil); err != nil {
			t.Fatalf("connect %s to %s: %v", name, nw, err)
		}
	}
	if s.noStart {
		return c.ID
	}
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start stand-in %s: %v", name, err)
	}
	want := max(1, len(s.ports))
	if s.cmd != nil {
		want = 1
	}
	ctrWaitLog(t, cli, c.ID, func(lines []string) bool {
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

func ctrMainCFTar(t *testing.T, content string) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"etc/", "etc/postfix/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "etc/postfix/main.cf", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

func ctrLogLines(cli *client.Client, id string) ([]string, error) {
	rc, err := cli.ContainerLogs(context.Background(), id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		return nil, err
	}
	var lines []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, nil
}

func ctrWaitLog(t *testing.T, cli *client.Client, id string, done func([]string) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		lines, err := ctrLogLines(cli, id)
		if err != nil {
			t.Fatal(err)
		}
		if done(lines) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: waited 60s; its log: %q", id, lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ctrRow is one row of measurements, from the state's flatmap.
type ctrRow map[string]string

// ctrRows reads the data source's rows and top-level attributes.
func ctrRows(s *terraform.State, ds string) ([]ctrRow, map[string]string, error) {
	r := s.RootModule().Resources["data.dockeripv6_client_ip."+ds]
	if r == nil || r.Primary == nil {
		return nil, nil, fmt.Errorf("no data.dockeripv6_client_ip.%s in state", ds)
	}
	a := r.Primary.Attributes
	n, _ := strconv.Atoi(a["measurements.#"])
	rows := make([]ctrRow, n)
	for i := range rows {
		rows[i] = ctrRow{}
		prefix := fmt.Sprintf("measurements.%d.", i)
		for k, v := range a {
			if f, ok := strings.CutPrefix(k, prefix); ok {
				rows[i][f] = v
			}
		}
		if _, ok := rows[i]["trusted"]; !ok {
			rows[i]["trusted"] = "null"
		}
	}
	return rows, a, nil
}

// ctrWant is what one row of a port and family must show.
type ctrWant struct {
	port     int
	family   string
	verdict  string
	path     string
	observed func() string // nil: not checked (preserved rows: the client's own address)
	trusted  string        // "true", "false", "null"; "" not checked
	detail   string        // a text the row's detail contains
	front    string        // the front proxy named
}

var ctrRank = map[string]int{probe.VerdictMasqueraded: 0, probe.VerdictUnreachable: 1, probe.VerdictRefused: 2, probe.VerdictPreserved: 3}

// ctrCheck checks the rows against wants, the summary against the worst row,
// and the observed addresses against what the stand-in's accept() returned
// (the last ones it logged: each read takes a fresh client address).
func ctrCheck(t *testing.T, cli *client.Client, ds, id string, wants ...ctrWant) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rows, top, err := ctrRows(s, ds)
		if err != nil {
			return err
		}
		var seen []string
		for _, r := range rows {
			t.Logf("%s: %5s %s %-26s %-6s %-11s seen %-24s client %s front=%q trusted=%s", ds, r["port"], r["family"], r["host_address"],
				r["path"], r["verdict"], r["observed_address"], r["client_address"], r["front_proxy"], r["trusted"])
			if r["observed_address"] != "" {
				seen = append(seen, r["observed_address"])
			}
		}
		t.Logf("%s: %s: %s", ds, top["verdict"], top["detail"])
		if top["container_id"] != id {
			return fmt.Errorf("container_id %q, want %q", top["container_id"], id)
		}
		for _, w := range wants {
			var found []ctrRow
			for _, r := range rows {
				if r["port"] == strconv.Itoa(w.port) && r["family"] == w.family {
					found = append(found, r)
				}
			}
			if len(found) != 1 {
				return fmt.Errorf("rows of port %d %s: %v, want one", w.port, w.family, found)
			}
			r := found[0]
			if r["verdict"] != w.verdict || r["path"] != w.path {
				return fmt.Errorf("port %d %s: %s via %s, want %s via %s; %s", w.port, w.family, r["verdict"], r["path"], w.verdict, w.path, r["detail"])
			}
			if w.verdict == probe.VerdictPreserved && r["observed_address"] != r["client_address"] {
				return fmt.Errorf("port %d %s: preserved but seen as %s, client %s", w.port, w.family, r["observed_address"], r["client_address"])
			}
			if w.verdict == probe.VerdictRefused && r["observed_address"] != "" {
				return fmt.Errorf("port %d %s: refused but seen as %s", w.port, w.family, r["observed_address"])
			}
			if w.observed != nil && r["observed_address"] != w.observed() {
				return fmt.Errorf("port %d %s: seen as %s, want %s", w.port, w.family, r["observed_address"], w.observed())
			}
			if w.trusted != "" && r["trusted"] != w.trusted {
				return fmt.Errorf("port %d %s: trusted = %s, want %s", w.port, w.family, r["trusted"], w.trusted)
			}
			if !strings.Contains(r["detail"], w.detail) {
				return fmt.Errorf("port %d %s: detail %q lacks %q", w.port, w.family, r["detail"], w.detail)
			}
			if r["front_proxy"] != w.front || (w.front != "" && !strings.Contains(r["detail"], w.front)) {
				return fmt.Errorf("port %d %s: front_proxy %q (detail %q), want %q", w.port, w.family, r["front_proxy"], r["detail"], w.front)
			}
		}
		// The summary is the worst row's (a trusted masqueraded row first).
		worst := rows[0]
		rank := func(r ctrRow) int {
			if r["verdict"] == probe.VerdictMasqueraded && r["trusted"] == "true" {
				return -1
			}
			return ctrRank[r["verdict"]]
		}
		for _, r := range rows[1:] {
			if rank(r) < rank(worst) {
				worst = r
			}
		}
		if top["verdict"] != worst["verdict"] || top["observed_address"] != worst["observed_address"] ||
			top["preserved"] != strconv.FormatBool(worst["verdict"] == probe.VerdictPreserved) ||
			!strings.HasPrefix(top["detail"], "Port "+worst["port"]+"/tcp") {
			return fmt.Errorf("summary %s/%s/%s %q is not the worst row's %v", top["verdict"], top["observed_address"], top["preserved"], top["detail"], worst)
		}
		// What the server's own accept() returned, last.
		slices.Sort(seen)
		var logged []string
		deadline := time.Now().Add(30 * time.Second)
		for {
			lines, err := ctrLogLines(cli, id)
			if err != nil {
				return err
			}
			var acc []string
			for _, l := range lines {
				if a, ok := strings.CutPrefix(l, probe.AcceptedLine); ok {
					acc = append(acc, a)
				}
			}
			if len(acc) >= len(seen) {
				logged = slices.Clone(acc[len(acc)-len(seen):])
				slices.Sort(logged)
				if slices.Equal(logged, seen) {
					return nil
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the server's accept() returned %v last; the provider observed %v", logged, seen)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func ctrConfig(ds, body string) string {
	return fmt.Sprintf("data \"dockeripv6_client_ip\" %q {\n%s\n  timeout = \"60s\"\n}\n", ds, body)
}

func ctrTest(t *testing.T, cfg string, checks ...resource.TestCheckFunc) {
	t.Helper()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps:                    []resource.TestStep{{Config: cfg, Check: resource.ComposeTestCheckFunc(checks...)}},
	})
}

func ctrGateway(t *testing.T, cli *client.Client, nw string, v6 bool) func() string {
	return func() string {
		n, err := cli.NetworkInspect(context.Background(), nw, network.InspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range n.IPAM.Config {
			if ip := net.ParseIP(c.Gateway); ip != nil && (ip.To4() == nil) == v6 {
				return c.Gateway
			}
		}
		t.Fatalf("network %s has no gateway of that family: %+v", nw, n.IPAM.Config)
		return ""
	}
}

func ctrSubnet(t *testing.T, cli *client.Client, nw string) string {
	n, err := cli.NetworkInspect(context.Background(), nw, network.InspectOptions{})
	if err != nil || len(n.IPAM.Config) == 0 {
		t.Fatalf("network %s: %v %+v", nw, err, n.IPAM)
	}
	return n.IPAM.Config[0].Subnet
}

func ctrULANetwork(t *testing.T, cli *client.Client, internal bool) string {
	t.Helper()
	name := ctrName("net")
	yes := true
	sub := fmt.Sprintf("fd%02x:%04x:%04x:1::/64", time.Now().UnixNano()%256, time.Now().UnixNano()%65536, (time.Now().UnixNano()/7)%65536)
	if _, err := cli.NetworkCreate(context.Background(), name, network.CreateOptions{Driver: "bridge", EnableIPv6: &yes, Internal: internal,
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: sub}}}}); err != nil {
		t.Fatalf("create network %s (%s): %v", name, sub, err)
	}
	t.Cleanup(func() {
		if err := cli.NetworkRemove(context.Background(), name); err != nil {
			t.Errorf("remove network %s: %v", name, err)
		}
	})
	return name
}

var ctrWildcard = []string{""}

// Docker's defaults: IPv6 via docker-proxy (the bridge's IPv4 gateway),
// IPv4 via the kernel's NAT; nothing says what the server trusts: null.
func TestAccClientIPContainer_dockerDefaults(t *testing.T) {
	cli := dockerClient(t)
	ctx := testCtx(t)
	p1, p2 := ctrFreePort(t), ctrFreePort(t)
	name := ctrName("mail")
	id := ctrStart(t, cli, name, ctrStandIn{ports: []int{p1, p2}, bindings: map[int][]string{p1: ctrWildcard, p2: ctrWildcard}})
	gw := ctrGateway(t, cli, "bridge", false)
	var wants []ctrWant
	for _, p := range []int{p1, p2} {
		wants = append(wants,
			ctrWant{port: p, family: "ipv6", verdict: "masqueraded", path: "proxy", observed: gw, trusted: "null"},
			ctrWant{port: p, family: "ipv4", verdict: "preserved", path: "dnat", trusted: "null"})
	}
	ctrTest(t, ctrConfig("mail", fmt.Sprintf("  container = %q\n  family = \"both\"", name)),
		ctrCheck(t, cli, "mail", id, wants...),
		resource.TestCheckResourceAttr("data.dockeripv6_client_ip.mail", "measurements.#", "4"),
		resource.TestCheckResourceAttr("data.dockeripv6_client_ip.mail", "trusted_prefixes.#", "0"),
		noProbeLeftovers(ctx, cli))
}

// An IPv4 network and an internal IPv6 network: IPv6 is mapped on the IPv4
// network, docker-proxy relays it: masqueraded as the IPv4 gateway.
func TestAccClientIPContainer_internalIPv6Network(t *testing.T) {
	cli := dockerClient(t)
	internal := ctrULANetwork(t, cli, true)
	p := ctrFreePort(t)
	name := ctrName("mail")
	id := ctrStart(t, cli, name, ctrStandIn{ports: []int{p}, bindings: map[int][]string{p: ctrWildcard}, extra: []string{internal}})
	ctrTest(t, ctrConfig("mail", fmt.Sprintf("  container = %q", name)),
		ctrCheck(t, cli, "mail", id, ctrWant{port: p, family: "ipv6", verdict: "masqueraded", path: "proxy", observed: ctrGateway(t, cli, "bridge", false)}))
}

// -p 0.0.0.0:P:P: nothing listens for IPv6, refused; IPv4 keeps its address.
func TestAccClientIPContainer_ipv4OnlyBinding(t *testing.T) {
	cli := dockerClient(t)
	p := ctrFreePort(t)
	name := ctrName("mail")
	id := ctrStart(t, cli, name, ctrStandIn{ports: []int{p}, bindings: map[int][]string{p: {"0.0.0.0"}}})
	ctrTest(t, ctrConfig("mail", fmt.Sprintf("  container = %q\n  family = \"both\"", name)),
		ctrCheck(t, cli, "mail", id,
			ctrWant{port: p, family: "ipv6", verdict: "refused", path: "none"},
			ctrWant{port: p, family: "ipv4", verdict: "preserved", path: "dnat"}))
}

// The firewall's refuse posture on the mail port itself, in the same
// configuration: IPv6 refused, IPv4 untouched.
func TestAccClientIPContainer_firewallRefuse(t *testing.T) {
	sandbox.RequireExclusive(t) // changes the sandbox's nftables ruleset
	cli := dockerClient(t)
	p := ctrFreePort(t)
	name := ctrName("mail")
	id := ctrStart(t, cli, name, ctrStandIn{ports: []int{p}, bindings: map[int][]string{p: ctrWildcard}})
	ctrTest(t, fmt.Sprintf(`
resource "dockeripv6_firewall" "mail" {
  ipv6_clients = "refuse"
  ports        = [%d]
}
`, p)+ctrConfig("mail", fmt.Sprintf("  container = %q\n  family = \"both\"\n  depends_on = [dockeripv6_firewall.mail]", name)),
		ctrCheck(t, cli, "mail", id,
			ctrWant{port: p, family: "ipv6", verdict: "refused", path: "none"},
			ctrWant{port: p, family: "ipv4", verdict: "preserved", path: "dnat"}))
}

// network_mode host: clients are seen as themselves.
func TestAccClientIPContainer_hostNetwork(t *testing.T) {
	cli := dockerClient(t)
	p := ctrFreePort(t)
	name := ctrName("mail")
	id := ctrStart(t, cli, name, ctrStandIn{ports: []int{p}, network: "host"})
	ctrTest(t, ctrConfig("mail", fmt.Sprintf("  container = %q\n  family = \"both\"", name)),
		ctrCheck(t, cli, "mail", id,
			ctrWant{port: p, family: "ipv6", verdict: "preserved", path: "host"},
			ctrWant{port: p, family: "ipv4", verdict: "preserved", path: "host"}))
}

// A routed IPv6 network: clients reach the container's own address and are
// seen as themselves. Routed needs Docker 27+ (engine 29); Docker 20.10
// stores the option without implementing it, so there the row must not be routed.
func TestAccClientIPContainer_routed(t *testing.T) {
	cli := dockerClient(t)
	v, err := cli.ServerVersion(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	major, _ := strconv.Atoi(strings.SplitN(v.Version, ".", 2)[0])
	name := ctrName("routed")
	yes := true
	sub := fmt.Sprintf("fd%02x:%04x:%04x:2::/64", time.Now().UnixNano()%256, time.Now().UnixNano()%65536, (time.Now().UnixNano()/11)%65536)
	if _, err := cli.NetworkCreate(testCtx(t), name, network.CreateOptions{Driver: "bridge", EnableIPv6: &yes,
		Options: map[string]string{"com.docker.network.bridge.gateway_mode_ipv6": "routed"},
		IPAM:    &network.IPAM{Config: []network.IPAMConfig{{Subnet: sub}}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cli.NetworkRemove(context.Background(), name); err != nil {
			t.Errorf("remove network %s: %v", name, err)
		}
	})
	p := ctrFreePort(t)
	mail := ctrName("mail")
	id := ctrStart(t, cli, mail, ctrStandIn{ports: []int{p}, bindings: map[int][]string{p: ctrWildcard}, network: name})
	c, err := cli.ContainerInspect(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	own := c.NetworkSettings.Networks[name].GlobalIPv6Address
	ds := "data.dockeripv6_client_ip.mail"
	if major < 27 {
		t.Logf("routed needs engine 29 (Docker 27+); on Docker %s only checked that the row is not routed", v.Version)
		ctrTest(t, ctrConfig("mail", fmt.Sprintf("  container = %q", mail)), func(s *terraform.State) error {
			rows, _, err := ctrRows(s, "mail")
			if err != nil {
				return err
			}
			for _, r := range rows {
				if r["path"] == "routed" || r["host_address"] == own {
					return fmt.Errorf("Docker %s has no routed mode, yet a row is %s to %s", v.Version, r["path"], r["host_address"])
				}
			}
			return nil
		})
		return
	}
	ctrTest(t, ctrConfig("mail", fmt.Sprintf("  container = %q", mail)),
		ctrCheck(t, cli, "mail", id, ctrWant{port: p, family: "ipv6", verdict: "preserved", path: "routed"}),
		resource.TestCheckResourceAttr(ds, "measurements.0.host_address", own))
}

// A front proxy container publishes the port and relays to the mail
// container: the row names it.
func TestAccClientIPContainer_frontProxy(t *testing.T) {
	cli := dockerClient(t)
	nw := ctrULANetwork(t, cli, false)
	p := ctrFreePort(t)
	mail := ctrName("mail")
	id := ctrStart(t, cli, mail, ctrStandIn{ports: []int{p}, network: nw})
	c, err := cli.ContainerInspect(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	mailIP := c.NetworkSettings.Networks[nw].IPAddress
	proxy := ctrName("traefik")
	pid := ctrStart(t, cli, proxy, ctrStandIn{ports: []int{p}, bindings: map[int][]string{p: ctrWildcard}, network: nw,
		cmd: []string{probe.RelayArg, ":" + strconv.Itoa(p), net.JoinHostPort(mailIP, strconv.Itoa(p))}})
	pi, err := cli.ContainerInspect(testCtx(t), pid)
	if err != nil {
		t.Fatal(err)
	}
	proxyIP := func() string { return pi.NetworkSettings.Networks[nw].IPAddress }
	ctrTest(t, ctrConfig("mail", fmt.Sprintf("  container = %q\n  ports = [%d]\n  family = \"both\"", mail, p)),
		ctrCheck(t, cli, "mail", id,
			ctrWant{port: p, family: "ipv6", verdict: "masqueraded", path: "proxy", front: proxy, observed: proxyIP},
			ctrWant{port: p, family: "ipv4", verdict: "masqueraded", path: "proxy", front: proxy, observed: proxyIP}))
}

// What the server trusts: PERMIT_DOCKER=connected-networks and a main.cf
// mynetworks with the bridge's subnet trust the masqueraded gateway
// (true, the detail says remote clients may relay) and not the preserved
// IPv4 client (false). PERMIT_DOCKER=network trusts 172.16.0.0/12, which
// the sandbox's 198.18.0.0/24 bridge is not in: false, its prefix listed.
func TestAccClientIPContainer_trusted(t *testing.T) {
	cli := dockerClient(t)
	subnet := ctrSubnet(t, cli, "bridge")
	gw := ctrGateway(t, cli, "bridge", false)
	cases := []struct {
		ds       string
		s        ctrStandIn
		trusted6 string
		prefix   string
	}{
		{"connected", ctrStandIn{env: []string{"PERMIT_DOCKER=connected-networks"}}, "true", subnet + " (PERMIT_DOCKER=connected-networks)"},
		{"maincf", ctrStandIn{mainCF: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 [::1]/128 " + subnet + "\n"}, "true", subnet + " (main.cf mynetworks)"},
		{"network", ctrStandIn{env: []string{"PERMIT_DOCKER=network"}}, "false", "172.16.0.0/12 (PERMIT_DOCKER=network)"},
	}
	cfg := ""
	var checks []resource.TestCheckFunc
	for _, c := range cases {
		p := ctrFreePort(t)
		c.s.ports, c.s.bindings = []int{p}, map[int][]string{p: ctrWildcard}
		name := ctrName(c.ds)
		id := ctrStart(t, cli, name, c.s)
		cfg += ctrConfig(c.ds, fmt.Sprintf("  container = %q\n  family = \"both\"", name))
		detail := ""
		if c.trusted6 == "true" {
			detail = "may relay mail through it without authentication"
		}
		checks = append(checks,
			ctrCheck(t, cli, c.ds, id,
				ctrWant{port: p, family: "ipv6", verdict: "masqueraded", path: "proxy", observed: gw, trusted: c.trusted6, detail: detail},
				ctrWant{port: p, family: "ipv4", verdict: "preserved", path: "dnat", trusted: "false"}),
			resource.TestCheckTypeSetElemAttr("data.dockeripv6_client_ip."+c.ds, "trusted_prefixes.*", c.prefix))
		if detail != "" {
			checks = append(checks, resource.TestMatchResourceAttr("data.dockeripv6_client_ip."+c.ds, "detail", errorLike(detail)))
		}
	}
	ctrTest(t, cfg, checks...)
}

// Bad input: each message names the container.
func TestAccClientIPContainer_badInput(t *testing.T) {
	cli := dockerClient(t)
	stopped := ctrName("stopped")
	ctrStart(t, cli, stopped, ctrStandIn{ports: []int{25}, noStart: true})
	udp := ctrName("udp")
	q := ctrFreePort(t)
	ctrStart(t, cli, udp, ctrStandIn{ports: []int{q}}) // exposed, published on no host port
	planFails(t, func(body string) string { return ctrConfig("bad", body) }, []badInput{
		{`  container = "no-such-mail-dockeripv6"`, `no container "no-such-mail-dockeripv6" on this Docker host`},
		{fmt.Sprintf("  container = %q", stopped), fmt.Sprintf(`container %q is not running (created)`, stopped)},
		{fmt.Sprintf("  container = %q", udp), fmt.Sprintf(`container %q publishes no TCP port`, udp)},
		{"  container = \"mail\"\n  network = \"bridge\"", `container = "mail" measures that running container's own published ports; network starts a probe container`},
		{"  container = \"mail\"\n  host_port = 2525", `container = "mail" measures that running container's own published ports; host_port is the port a probe container publishes`},
	})
	// A port in ports the container does not publish: a warning naming it.
	p := ctrFreePort(t)
	mail := ctrName("mail")
	ctrStart(t, cli, mail, ctrStandIn{ports: []int{p}, bindings: map[int][]string{p: ctrWildcard}})
	missing := ctrFreePort(t)
	w := newTFWorkdir(t, ctrConfig("mail", fmt.Sprintf("  container = %q\n  ports = [%d, %d]", mail, p, missing)))
	out := folded(w.run("plan", "-input=false"))
	if want := fmt.Sprintf(`Container "%s" does not publish port %d/tcp`, mail, missing); !strings.Contains(out, "Warning: Port Not Measured") || !strings.Contains(out, want) {
		t.Fatalf("plan: want the Port Not Measured warning %q, got:\n%s", want, out)
	}
}
