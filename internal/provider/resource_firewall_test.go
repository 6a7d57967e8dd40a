package provider

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host/local"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
)

// fwHostPort is the host port the test's mail stand-in publishes (container port 8080).
const fwHostPort = 2525

const fwAddr = "dockeripv6_firewall.mail"

// fwBed is a host as the firewall tests need it: a container running the probe
// server (it answers every connection with the address it saw) publishing
// fwHostPort, and a simulated remote client with an IPv4 and two IPv6 addresses,
// the second of which the configurations put in allow_ipv6_from.
type fwBed struct {
	t        *testing.T
	ctx      context.Context
	cli      *client.Client
	rc       *probe.RemoteClient
	allowed  netip.Addr // the client's second IPv6 address
	dnat     bool       // IPv6 reaches the container by DNAT (forward chain), else through docker-proxy (input chain)
	gateway4 string     // the container network's IPv4 gateway: what docker-proxy's connections come from
	path     string     // for the log: "docker-proxy (input)" or "DNAT (forward)"
}

// newFwBed builds the bed. With ipv6Network the container is on a user-defined
// network with a ULA subnet and the daemon NATs IPv6 (ip6tables; on Docker 20.10
// also experimental), so IPv6 clients reach it by DNAT; otherwise it is on the
// default IPv4-only bridge and docker-proxy answers IPv6 on the host.
func newFwBed(t *testing.T, ipv6Network bool) *fwBed {
	t.Helper()
	cli := dockerClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	b := &fwBed{t: t, ctx: ctx, cli: cli, dnat: ipv6Network, path: "docker-proxy (input chain)"}

	netName := probe.DefaultNetwork
	if ipv6Network {
		b.path = "DNAT (forward chain)"
		if sandbox.Engine() == "20" {
			// Docker 20.10 NATs IPv6 only with ip6tables, which needs experimental.
			withDaemonJSON(t, cli, func(orig []byte) []byte {
				out, err := daemonconfig.Merge(orig, daemonconfig.Settings{IP6Tables: daemonconfig.Bool(true), Experimental: daemonconfig.Bool(true)})
				if err != nil {
					t.Fatal(err)
				}
				return out
			})
		}
		netName = "acc-fw-ula"
		on := true
		_, err := cli.NetworkCreate(ctx, netName, network.CreateOptions{
			Driver: "bridge", EnableIPv6: &on,
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: "fd7e:3c1a:95d2:f1::/64"}}},
			Labels: map[string]string{"io.dockeripv6.test": "firewall"},
		})
		if err != nil {
			t.Fatalf("creating the IPv6 network: %v", err)
		}
		t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), netName) })
	}
	n, err := cli.NetworkInspect(ctx, netName, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range n.IPAM.Config {
		if a, err := netip.ParseAddr(c.Gateway); err == nil && a.Is4() {
			b.gateway4 = a.String()
		}
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	image, err := probe.EnsureImage(ctx, cli, exe)
	if err != nil {
		t.Fatalf("probe image: %v", err)
	}
	cport := nat.Port(fmt.Sprintf("%d/tcp", probe.ContainerPort))
	name := "acc-fw-mail-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	created, err := cli.ContainerCreate(ctx, &container.Config{
		Image:        image,
		Entrypoint:   []string{probe.BinaryPath, probe.ServerArg},
		ExposedPorts: nat.PortSet{cport: {}},
		Labels:       map[string]string{"io.dockeripv6.test": "firewall"},
	}, &container.HostConfig{
		NetworkMode:  container.NetworkMode(netName),
		PortBindings: nat.PortMap{cport: []nat.PortBinding{{HostPort: strconv.Itoa(fwHostPort)}}},
	}, nil, nil, name)
	if err != nil {
		t.Fatalf("creating the mail stand-in: %v", err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("starting the mail stand-in: %v", err)
	}
	if b.gateway4 == "" {
		t.Fatalf("network %s has no IPv4 gateway: %+v", netName, n.IPAM.Config)
	}

	b.rc, err = probe.NewRemoteClient(ctx)
	if err != nil {
		t.Fatalf("remote client: %v", err)
	}
	t.Cleanup(func() { _ = b.rc.Close() })
	// A second IPv6 address on the client, in the same /64 (the host routes it back on
	// the veth); nodad makes it usable at once.
	b.allowed = b.rc.ClientIPv6.Next()
	if err := b.rc.Do(func() error {
		link, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		return netlink.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: b.allowed.AsSlice(), Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD})
	}); err != nil {
		t.Fatalf("second client address: %v", err)
	}

	// Before any posture every path connects: the table is what makes a difference.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var errs []error
		for _, c := range []struct {
			family string
			from   netip.Addr
		}{{probe.FamilyIPv4, netip.Addr{}}, {probe.FamilyIPv6, netip.Addr{}}, {probe.FamilyIPv6, b.allowed}} {
			if _, err := b.remote(c.family, c.from, 3*time.Second); err != nil {
				errs = append(errs, fmt.Errorf("%s from %v: %w", c.family, c.from, err))
			}
		}
		if _, err := b.local(3 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("[::1]: %w", err))
		}
		if len(errs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mail stand-in is not reachable before any firewall table: %v", errors.Join(errs...))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return b
}

// remote connects from the remote client to the host's published port and
// returns the line the server wrote: the source address the container saw.
// The source is from when valid, else the client's first address of the family;
// it is always bound explicitly, since source address selection may pick either
// of the two IPv6 addresses.
func (b *fwBed) remote(family string, from netip.Addr, timeout time.Duration) (string, error) {
	target := b.rc.HostIPv6
	if !from.IsValid() {
		from = b.rc.ClientIPv6
	}
	if family == probe.FamilyIPv4 {
		target, from = b.rc.HostIPv4, b.rc.ClientIPv4
	}
	var conn net.Conn
	err := b.rc.Do(func() error {
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: from.AsSlice()}}
		var err error
		conn, err = d.DialContext(b.ctx, "tcp", netip.AddrPortFrom(target, fwHostPort).String())
		return err
	})
	if err != nil {
		return "", err
	}
	return readLine(conn, timeout)
}

// local connects to [::1] on the host, as a process on the mail host would.
func (b *fwBed) local(timeout time.Duration) (string, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(b.ctx, "tcp", fmt.Sprintf("[::1]:%d", fwHostPort))
	if err != nil {
		return "", err
	}
	return readLine(conn, timeout)
}

func readLine(conn net.Conn, timeout time.Duration) (string, error) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("connected, but reading the server's line: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// expectRefused: the connection ends at once with a TCP reset ("connection refused").
func expectRefused(what string, dial func() (string, error)) (string, error) {
	start := time.Now()
	line, err := dial()
	took := time.Since(start).Round(10 * time.Microsecond)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return "", fmt.Errorf("%s: want connection refused (TCP reset), got line %q, error %v after %s", what, line, err, took)
	}
	return fmt.Sprintf("%s: connection refused after %s", what, took), nil
}

// expectTimeout: the SYN is dropped; the client hears nothing.
func expectTimeout(what string, dial func() (string, error)) (string, error) {
	start := time.Now()
	line, err := dial()
	took := time.Since(start).Round(10 * time.Microsecond)
	var ne net.Error
	if err == nil || errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &ne) || !ne.Timeout() {
		return "", fmt.Errorf("%s: want a time-out (SYN dropped), got line %q, error %v after %s", what, line, err, took)
	}
	return fmt.Sprintf("%s: timed out after %s (dropped)", what, took), nil
}

// expectConnect: the connection is accepted and the container saw seen.
func expectConnect(what, seen string, dial func() (string, error)) (string, error) {
	line, err := dial()
	if err != nil {
		return "", fmt.Errorf("%s: want a connection, got %v", what, err)
	}
	if seen != "" && line != seen {
		return "", fmt.Errorf("%s: connected, but the container saw %q, want %q", what, line, seen)
	}
	return fmt.Sprintf("%s: connected, container saw %s", what, line), nil
}

// seenIPv6 is the address the container sees for a remote IPv6 client from addr:
// the client's own on the DNAT path, the network's IPv4 gateway through docker-proxy.
func (b *fwBed) seenIPv6(addr netip.Addr) string {
	if b.dnat {
		return addr.String()
	}
	return b.gateway4
}

type fwExpect int

const (
	fwRefuse fwExpect = iota // ipv6_clients = "refuse", reject_with = "tcp-reset"
	fwDrop                   // ipv6_clients = "refuse", reject_with = "drop"
	fwAllow                  // ipv6_clients = "allow"
)

func (e fwExpect) String() string {
	return [...]string{"refuse/tcp-reset", "refuse/drop", "allow"}[e]
}

// check makes every connection the posture decides and compares with what it must do.
func (b *fwBed) check(e fwExpect) error {
	const quick = 5 * time.Second
	v6 := func() (string, error) { return b.remote(probe.FamilyIPv6, netip.Addr{}, quick) }
	var results []string
	var errs []error
	add := func(s string, err error) {
		if err != nil {
			errs = append(errs, err)
		} else {
			results = append(results, s)
		}
	}
	v6what := fmt.Sprintf("remote IPv6 %s", b.rc.ClientIPv6)
	switch e {
	case fwRefuse:
		add(expectRefused(v6what, v6))
	case fwDrop:
		add(expectTimeout(v6what, func() (string, error) { return b.remote(probe.FamilyIPv6, netip.Addr{}, 2*time.Second) }))
	case fwAllow:
		add(expectConnect(v6what, b.seenIPv6(b.rc.ClientIPv6), v6))
	}
	add(expectConnect(fmt.Sprintf("remote IPv6 %s (in allow_ipv6_from)", b.allowed), b.seenIPv6(b.allowed),
		func() (string, error) { return b.remote(probe.FamilyIPv6, b.allowed, quick) }))
	add(expectConnect(fmt.Sprintf("remote IPv4 %s", b.rc.ClientIPv4), b.rc.ClientIPv4.String(),
		func() (string, error) { return b.remote(probe.FamilyIPv4, netip.Addr{}, quick) }))
	// docker-proxy answers [::1]; which of the network's gateways it connects from
	// depends on the engine, so only the connection is asserted.
	add(expectConnect("local [::1]", "", func() (string, error) { return b.local(quick) }))
	b.t.Logf("engine %s, %s, ipv6 %s:\n\t%s", sandbox.Engine(), b.path, e, strings.Join(results, "\n\t"))
	if len(errs) > 0 {
		out, _ := exec.Command("nft", "list", "table", "inet", firewall.DefaultTable).CombinedOutput()
		errs = append(errs, fmt.Errorf("table inet %s is:\n%s", firewall.DefaultTable, out))
	}
	return errors.Join(errs...)
}

// hole asserts that the change just made by hand lets the refused client in.
func (b *fwBed) hole(what string) {
	b.t.Helper()
	line, err := b.remote(probe.FamilyIPv6, netip.Addr{}, 5*time.Second)
	if err != nil {
		b.t.Fatalf("after %s, remote IPv6 should get through (that is what makes it drift), got %v", what, err)
	}
	b.t.Logf("after %s by hand: remote IPv6 %s connects, container saw %s", what, b.rc.ClientIPv6, line)
}

// nftRun runs nft inside the sandbox, the way an operator changes the firewall by hand.
func nftRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("nft", args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nft %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ruleset is the whole ruleset without counters (nft -s), for before/after comparisons.
func ruleset(t *testing.T) string { return nftRun(t, "", "-s", "list", "ruleset") }

var handleRE = regexp.MustCompile(`(?m)^\s*(.*reject.*|.*drop.*)# handle (\d+)$`)

// ourRuleHandle is the handle of the refusing rule in chain of table inet dockeripv6.
func ourRuleHandle(t *testing.T, chain string) string {
	t.Helper()
	out := nftRun(t, "", "-a", "list", "chain", "inet", firewall.DefaultTable, chain)
	m := handleRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no refusing rule in chain %s:\n%s", chain, out)
	}
	return m[2]
}

// otherTable is a table someone else made before the provider came: it must
// survive every apply and destroy byte for byte.
const otherTable = `
table inet other {
	set admins {
		type ipv6_addr
		flags interval
		elements = { fd00:abcd::/32 }
	}
	chain input {
		type filter hook input priority 10; policy accept;
		ip6 saddr @admins tcp dport 22 counter accept
	}
}
`

// fwCfg is the posture under test: an office ULA, a /64 inside it written in
// capitals (merged in the kernel and compared by the addresses covered, never a
// diff) and the client's second address.
func fwCfg(b *fwBed, ipv6, extra string) string {
	return fmt.Sprintf(`
resource "dockeripv6_firewall" "mail" {
  ipv6_clients    = %q
  ports           = [25, 465, 587, 993, %d]
  allow_ipv6_from = ["fd12:3456:789a::/48", "FD12:3456:789A:1::/64", "%s/128"]
  %s
}
`, ipv6, fwHostPort, b.allowed, extra)
}

// expectDriftBefore checks that the refreshed state (the plan's "before") lists a drift line containing want.
type expectDriftBefore string

func (want expectDriftBefore) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != fwAddr {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		lines, _ := before["drift"].([]any)
		for _, l := range lines {
			if s, _ := l.(string); strings.Contains(s, string(want)) {
				return
			}
		}
		resp.Error = fmt.Errorf("refreshed drift %v has no line containing %q", lines, string(want))
		return
	}
	resp.Error = fmt.Errorf("no change for %s in the plan", fwAddr)
}

// testFirewallPaths runs the postures and every drift case on one bed.
func testFirewallPaths(t *testing.T, b *fwBed) {
	nftRun(t, otherTable, "-f", "-")
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "inet", "other").Run() })
	before := ruleset(t)
	if strings.Contains(before, "table inet "+firewall.DefaultTable) {
		t.Fatalf("table inet %s exists before the test", firewall.DefaultTable)
	}
	chain := "input"
	if b.dnat {
		chain = "forward"
	}
	refuse := fwCfg(b, "refuse", "")
	check := func(e fwExpect) resource.TestCheckFunc {
		return func(*terraform.State) error { return b.check(e) }
	}
	update := func(drift string) resource.ConfigPlanChecks {
		checks := []plancheck.PlanCheck{
			plancheck.ExpectResourceAction(fwAddr, plancheck.ResourceActionUpdate),
			plancheck.ExpectKnownValue(fwAddr, tfjsonpath.New("drift"), knownvalue.ListExact(nil)),
			plancheck.ExpectUnknownValue(fwAddr, tfjsonpath.New("other_firewalls")),
		}
		if drift != "" {
			checks = append(checks, expectDriftBefore(drift))
		}
		return resource.ConfigPlanChecks{PreApply: checks}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			after := ruleset(t)
			if after != before {
				return fmt.Errorf("the ruleset after destroy differs from before apply:\n--- before\n%s\n--- after\n%s", before, after)
			}
			// And the client gets through again.
			if _, err := b.remote(probe.FamilyIPv6, netip.Addr{}, 5*time.Second); err != nil {
				return fmt.Errorf("after destroy remote IPv6 still does not connect: %v", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: refuse,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(fwAddr, tfjsonpath.New("id"), knownvalue.StringExact(firewall.DefaultTable)),
					statecheck.ExpectKnownValue(fwAddr, tfjsonpath.New("table"), knownvalue.StringExact(firewall.DefaultTable)),
					statecheck.ExpectKnownValue(fwAddr, tfjsonpath.New("reject_with"), knownvalue.StringExact("tcp-reset")),
					statecheck.ExpectKnownValue(fwAddr, tfjsonpath.New("drift"), knownvalue.ListExact(nil)),
				},
				Check: resource.ComposeTestCheckFunc(
					check(fwRefuse),
					resource.TestCheckTypeSetElemAttr(fwAddr, "ports.*", strconv.Itoa(fwHostPort)),
					resource.TestCheckTypeSetElemAttr(fwAddr, "allow_ipv6_from.*", "FD12:3456:789A:1::/64"),
					func(s *terraform.State) error {
						// The other table is listed as another firewall, and so are Docker's chains.
						a := s.RootModule().Resources[fwAddr].Primary.Attributes
						var names []string
						for i := 0; ; i++ {
							n, ok := a[fmt.Sprintf("other_firewalls.%d.name", i)]
							if !ok {
								break
							}
							names = append(names, n+"="+a[fmt.Sprintf("other_firewalls.%d.kind", i)])
						}
						got := strings.Join(names, " ")
						if !strings.Contains(got, "inet other=nftables") || !strings.Contains(got, "=docker-") {
							return fmt.Errorf("other_firewalls is %q; want inet other (nftables) and Docker's chains", got)
						}
						return nil
					},
				),
			},
			{
				// Table deleted by hand: the plan creates it.
				PreConfig: func() {
					nftRun(t, "", "delete", "table", "inet", firewall.DefaultTable)
					b.hole("nft delete table inet " + firewall.DefaultTable)
				},
				Config: refuse,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(fwAddr, plancheck.ResourceActionCreate),
				}},
				Check: check(fwRefuse),
			},
			{
				// The refusing rule of this path's chain deleted by hand: an update.
				PreConfig: func() {
					nftRun(t, "", "delete", "rule", "inet", firewall.DefaultTable, chain, "handle", ourRuleHandle(t, chain))
					b.hole("deleting the " + chain + " chain's rule")
				},
				Config:           refuse,
				ConfigPlanChecks: update("chain " + chain + " is missing its rule"),
				Check:            check(fwRefuse),
			},
			{
				// A rule added by hand in front of ours: an update.
				PreConfig: func() {
					nftRun(t, "", "insert", "rule", "inet", firewall.DefaultTable, chain, "ip6", "saddr", b.rc.ClientIPv6.String(), "accept")
					b.hole("inserting an accept rule in the " + chain + " chain")
				},
				Config:           refuse,
				ConfigPlanChecks: update("chain " + chain + " has a rule Apply did not write"),
				Check:            check(fwRefuse),
			},
			{
				// The port set changed by hand: an update that puts the port back.
				PreConfig: func() {
					nftRun(t, "", "delete", "element", "inet", firewall.DefaultTable, "ports", fmt.Sprintf("{ %d }", fwHostPort))
					b.hole(fmt.Sprintf("deleting %d from the ports set", fwHostPort))
				},
				Config:           refuse,
				ConfigPlanChecks: update(""),
				Check:            check(fwRefuse),
			},
			{
				// Both refusing rules deleted by hand: the table now says "allow", an update.
				PreConfig: func() {
					nftRun(t, "", "flush", "chain", "inet", firewall.DefaultTable, "input")
					nftRun(t, "", "flush", "chain", "inet", firewall.DefaultTable, "forward")
					b.hole("flushing both chains")
				},
				Config: refuse,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(fwAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(fwAddr, tfjsonpath.New("ipv6_clients"), knownvalue.StringExact("refuse")),
				}},
				Check: check(fwRefuse),
			},
			{
				// Import reads the allow list as the kernel holds it (merged), so that
				// one is checked on its own.
				Config: refuse, ResourceName: fwAddr, ImportState: true, ImportStateId: firewall.DefaultTable,
				ImportStateVerify: true, ImportStateVerifyIgnore: []string{"allow_ipv6_from"},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					a := states[0].Attributes
					want := map[string]bool{"fd12:3456:789a::/48": true, b.allowed.String() + "/128": true}
					if a["allow_ipv6_from.#"] != "2" || !want[a["allow_ipv6_from.0"]] || !want[a["allow_ipv6_from.1"]] || a["allow_ipv6_from.0"] == a["allow_ipv6_from.1"] {
						return fmt.Errorf("imported allow_ipv6_from is %v; want the merged %v", a, want)
					}
					return nil
				},
			},
			{
				Config: fwCfg(b, "refuse", `reject_with = "drop"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(fwAddr, plancheck.ResourceActionUpdate),
				}},
				Check: check(fwDrop),
			},
			{
				Config: fwCfg(b, "allow", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(fwAddr, plancheck.ResourceActionUpdate),
				}},
				Check: check(fwAllow),
			},
			{
				// In "allow" the chains are empty; a refusing rule added by hand is drift too.
				PreConfig: func() {
					nftRun(t, "", "add", "rule", "inet", firewall.DefaultTable, chain, "meta", "nfproto", "ipv6", "tcp", "dport", "0-65535", "reject", "with", "tcp", "reset")
				},
				Config:           fwCfg(b, "allow", ""),
				ConfigPlanChecks: update("chain " + chain + " has a rule Apply did not write"),
				Check:            check(fwAllow),
			},
		},
	})
}

// The docker-proxy path: the container is on Docker's default IPv4-only bridge, and
// docker-proxy answers remote IPv6 clients on the host (input chain).
func TestAccFirewall_dockerProxyPath(t *testing.T) {
	sandbox.RequireExclusive(t) // changes the firewall every test shares
	testFirewallPaths(t, newFwBed(t, false))
}

// The DNAT path: the container has a ULA address and Docker NATs IPv6 to it (forward chain).
func TestAccFirewall_dnatPath(t *testing.T) {
	sandbox.RequireExclusive(t) // changes the firewall, restarts dockerd on engine 20
	testFirewallPaths(t, newFwBed(t, true))
}

// A table of that name that the provider did not write is never replaced or
// imported; what else filters the host shows in other_firewalls.
func TestAccFirewall_foreignTableAndOtherFirewalls(t *testing.T) {
	sandbox.RequireExclusive(t) // changes the firewall and the fake units
	foreign := `
table inet mailguard {
	set ports {
		type inet_service
		elements = { 25 }
	}
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport @ports counter
	}
}
`
	nftRun(t, foreign, "-f", "-")
	t.Cleanup(func() {
		_ = exec.Command("nft", "delete", "table", "inet", "mailguard").Run()
		_ = exec.Command("nft", "delete", "table", "inet", "acc_fw").Run()
	})
	foreignBefore := nftRun(t, "", "-s", "list", "table", "inet", "mailguard")
	if err := sandbox.SetFakeUnit("ufw.service", "active"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sandbox.SetFakeUnit("ufw.service", "") })
	cfg := func(table string) string {
		return fmt.Sprintf(`
resource "dockeripv6_firewall" "mail" {
  table = %q
  ipv6_clients = "refuse"
  ports = [25]
}
`, table)
	}
	unchanged := func() {
		if got := nftRun(t, "", "-s", "list", "table", "inet", "mailguard"); got != foreignBefore {
			t.Fatalf("the foreign table changed:\n--- before\n%s\n--- after\n%s", foreignBefore, got)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			out := nftRun(t, "", "list", "tables")
			if strings.Contains(out, "table inet acc_fw") {
				return fmt.Errorf("destroy left table inet acc_fw: %s", out)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config:      cfg("mailguard"),
				ExpectError: errorLike("Table Exists And Is Not Ours"),
			},
			{
				PreConfig:     unchanged,
				Config:        cfg("mailguard"),
				ResourceName:  fwAddr,
				ImportState:   true,
				ImportStateId: "mailguard",
				ExpectError:   errorLike("Cannot Import A Table That Is Not Ours"),
			},
			{
				PreConfig:     unchanged,
				Config:        cfg("nosuch"),
				ResourceName:  fwAddr,
				ImportState:   true,
				ImportStateId: "nosuch",
				ExpectError:   errorLike("There is no nftables table inet nosuch to import"),
			},
			{
				PreConfig: unchanged,
				Config:    cfg("acc_fw"),
				Check: func(s *terraform.State) error {
					unchanged()
					a := s.RootModule().Resources[fwAddr].Primary.Attributes
					found := map[string]string{}
					for i := 0; ; i++ {
						n, ok := a[fmt.Sprintf("other_firewalls.%d.name", i)]
						if !ok {
							break
						}
						found[n] = a[fmt.Sprintf("other_firewalls.%d.kind", i)] + ": " + a[fmt.Sprintf("other_firewalls.%d.detail", i)]
					}
					t.Logf("other_firewalls on engine %s: %v", sandbox.Engine(), found)
					if !strings.HasPrefix(found["ufw.service"], "ufw: systemd unit ufw.service is active") {
						return fmt.Errorf("other_firewalls has no active ufw.service: %v", found)
					}
					if !strings.HasPrefix(found["inet mailguard"], "nftables: ") {
						return fmt.Errorf("other_firewalls has no inet mailguard: %v", found)
					}
					if _, ok := found["inet acc_fw"]; ok {
						return fmt.Errorf("other_firewalls lists the resource's own table: %v", found)
					}
					return nil
				},
			},
			{
				// A table of ours replaced by someone else's: refresh lets go of it, create refuses it.
				PreConfig: func() {
					nftRun(t, "", "delete", "table", "inet", "acc_fw")
					nftRun(t, strings.ReplaceAll(foreign, "mailguard", "acc_fw"), "-f", "-")
				},
				Config:      cfg("acc_fw"),
				ExpectError: errorLike("Table Exists And Is Not Ours"),
			},
			{
				PreConfig: func() {
					unchanged()
					nftRun(t, "", "delete", "table", "inet", "acc_fw")
				},
				Config: cfg("acc_fw"),
			},
		},
	})
	unchanged()
}

func TestAccFirewall_badInput(t *testing.T) {
	sandbox.Require(t)
	cases := []badInput{
		{`ports = [25, 0]`, "port 0 is out of range: TCP ports are 1 to 65535"},
		{`ports = [65536]`, "port 65536 is out of range: TCP ports are 1 to 65535"},
		{`ports = []`, "ports is empty"},
		{`allow_ipv6_from = ["198.51.100.0/24"]`, `"198.51.100.0/24" is an IPv4 prefix; allow_ipv6_from takes IPv6 prefixes such as fd12:3456:789a::/48`},
		{`allow_ipv6_from = ["fd12:3456:789a::1/48"]`, `has host bits set; did you mean fd12:3456:789a::/48?`},
		{`allow_ipv6_from = ["fd12:3456:789a::1"]`, `has no prefix length; write fd12:3456:789a::1/128`},
		{`allow_ipv6_from = ["office"]`, `"office" is not an IPv6 prefix in CIDR form`},
		{`table = "1mail"`, `table name "1mail" is not a valid nftables name`},
		{`table = "filter-v6!"`, `is not a valid nftables name: it must start with a letter`},
		{`table = "table"`, `table name "table" is an nft keyword`},
		{`reject_with = "icmp"`, `value must be one of: ["tcp-reset" "drop"]`},
		{`ports = [25.5]`, `25.5 is not a whole number: ports are TCP port numbers from 1 to 65535`},
	}
	planFails(t, func(body string) string {
		return fmt.Sprintf("resource \"dockeripv6_firewall\" \"bad\" {\n  ipv6_clients = \"refuse\"\n  %s\n}\n", body)
	}, cases)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config:   `resource "dockeripv6_firewall" "bad" { ipv6_clients = "block" }`,
			PlanOnly: true,
			ExpectError: errorLike(`"block" is not an ipv6_clients posture. It is "refuse": remote IPv6 clients get a TCP reset ` +
				`on the mail ports and fall back to IPv4, for a mail container on an IPv4-only network; or "allow": they reach ` +
				`the mail server with their own address, for a mail container on a network with an IPv6 subnet. Did you mean "refuse"?`),
		}},
	})
}

// planWarnings runs the resource's ModifyPlan for a new resource with the given
// posture and returns its diagnostics and the planned drift and id.
func planWarnings(t *testing.T, data *providerData, ipv6 string, ports ...int64) (diag.Diagnostics, firewallModel) {
	t.Helper()
	ctx := context.Background()
	r := &FirewallResource{data: data}
	var sresp fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sresp)
	s := sresp.Schema
	var ps []types.Number
	for _, p := range ports {
		ps = append(ps, portValue(uint16(p)))
	}
	portSet, d := types.SetValueFrom(ctx, types.NumberType, ps)
	if d.HasError() {
		t.Fatal(d)
	}
	m := firewallModel{
		ID: types.StringUnknown(), Table: types.StringValue("dockeripv6"), IPv6Clients: types.StringValue(ipv6),
		Ports: portSet, AllowIPv6From: types.SetNull(types.StringType), RejectWith: types.StringValue("tcp-reset"),
		Drift: types.ListUnknown(types.StringType), OtherFirewalls: types.ListUnknown(fwOtherType),
	}
	plan := tfsdk.Plan{Schema: s}
	if d := plan.Set(ctx, &m); d.HasError() {
		t.Fatal(d)
	}
	req := fwresource.ModifyPlanRequest{
		Config: tfsdk.Config{Schema: s, Raw: plan.Raw},
		Plan:   plan,
		State:  tfsdk.State{Schema: s, Raw: tftypes.NewValue(s.Type().TerraformType(ctx), nil)},
	}
	resp := &fwresource.ModifyPlanResponse{Plan: plan}
	r.ModifyPlan(ctx, req, resp)
	var out firewallModel
	if d := resp.Plan.Get(ctx, &out); d.HasError() {
		t.Fatal(d)
	}
	return resp.Diagnostics, out
}

func warningNamed(ds diag.Diagnostics, summaryPrefix string) (diag.Diagnostic, bool) {
	for _, d := range ds {
		if d.Severity() == diag.SeverityWarning && strings.HasPrefix(d.Summary(), summaryPrefix) {
			return d, true
		}
	}
	return nil, false
}

// The plan-time warnings, from the real Docker daemon and the fake systemd.
func TestFirewall_planWarnings(t *testing.T) {
	sandbox.RequireExclusive(t) // changes the fake units
	cli := dockerClient(t)
	ctx := testCtx(t)
	// A network with an IPv6 subnet beside the posture, and a container publishing 2525.
	on := true
	if _, err := cli.NetworkCreate(ctx, "acc-fw-v6warn", network.CreateOptions{
		Driver: "bridge", EnableIPv6: &on,
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: "fd7e:3c1a:95d2:f2::/64"}}},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), "acc-fw-v6warn") })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	image, err := probe.EnsureImage(ctx, cli, exe)
	if err != nil {
		t.Fatal(err)
	}
	cport := nat.Port(fmt.Sprintf("%d/tcp", probe.ContainerPort))
	created, err := cli.ContainerCreate(ctx, &container.Config{
		Image: image, Entrypoint: []string{probe.BinaryPath, probe.ServerArg}, ExposedPorts: nat.PortSet{cport: {}},
	}, &container.HostConfig{PortBindings: nat.PortMap{cport: []nat.PortBinding{{HostPort: strconv.Itoa(fwHostPort)}}}}, nil, nil, "acc-fw-warn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.SetFakeUnit("ufw.service", "active"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sandbox.SetFakeUnit("ufw.service", "")
		_ = sandbox.SetFakeUnit("firewalld.service", "")
	})
	live := &providerData{Host: local.New("")}

	t.Run("refuse with ufw, an IPv6 network and an unpublished port", func(t *testing.T) {
		ds, plan := planWarnings(t, live, "refuse", fwHostPort, 4190)
		if ds.HasError() {
			t.Fatalf("errors: %v", ds)
		}
		if plan.ID.ValueString() != "dockeripv6" || plan.Drift.IsUnknown() || len(plan.Drift.Elements()) != 0 {
			t.Errorf("planned id %s, drift %s; want dockeripv6 and []", plan.ID, plan.Drift)
		}
		ufw, ok := warningNamed(ds, "UFW Is Active")
		if !ok || !strings.Contains(ufw.Detail(), "systemd reports ufw.service active") ||
			!strings.Contains(ufw.Detail(), "PREROUTING chain, before INPUT") || !strings.Contains(ufw.Detail(), "ports 2525, 4190") {
			t.Errorf("UFW warning missing or incomplete: %v", ds)
		}
		if _, ok := warningNamed(ds, "firewalld Is Active"); ok {
			t.Errorf("firewalld warning without firewalld: %v", ds)
		}
		v6, ok := warningNamed(ds, "IPv6 Refused Beside Docker Networks With IPv6")
		if !ok || !strings.Contains(v6.Detail(), "acc-fw-v6warn (fd7e:3c1a:95d2:f2::/64)") {
			t.Errorf("IPv6-network warning missing or without the network: %v", ds)
		}
		unpub, ok := warningNamed(ds, "Ports Not Published By Any Container")
		if !ok || !strings.Contains(unpub.Detail(), "No running container publishes port 4190.") || !strings.Contains(unpub.Detail(), "publish port 2525") {
			t.Errorf("unpublished-port warning missing or wrong: %v", ds)
		}
		for _, d := range ds {
			t.Logf("%s: %s", d.Summary(), d.Detail())
		}
	})
	t.Run("allow with every port published", func(t *testing.T) {
		if err := sandbox.SetFakeUnit("ufw.service", ""); err != nil {
			t.Fatal(err)
		}
		ds, _ := planWarnings(t, live, "allow", fwHostPort)
		if len(ds) != 0 {
			t.Errorf("want no diagnostics, got %v", ds)
		}
	})
	t.Run("firewalld", func(t *testing.T) {
		if err := sandbox.SetFakeUnit("firewalld.service", "active"); err != nil {
			t.Fatal(err)
		}
		ds, _ := planWarnings(t, live, "allow", fwHostPort)
		fd, ok := warningNamed(ds, "firewalld Is Active")
		if !ok || !strings.Contains(fd.Detail(), `zone "docker"`) || len(ds) != 1 {
			t.Errorf("want only the firewalld warning, got %v", ds)
		}
	})
	t.Run("docker unreachable: no Docker warnings, no error", func(t *testing.T) {
		dead := &providerData{Host: local.New("unix:///run/nonexistent-docker.sock")}
		ds, _ := planWarnings(t, dead, "refuse", fwHostPort, 4190)
		if ds.HasError() {
			t.Fatalf("errors: %v", ds)
		}
		for _, s := range []string{"IPv6 Refused Beside", "Ports Not Published"} {
			if _, ok := warningNamed(ds, s); ok {
				t.Errorf("%q warning without a Docker daemon: %v", s, ds)
			}
		}
		if _, ok := warningNamed(ds, "firewalld Is Active"); !ok {
			t.Errorf("the systemd warning should not depend on Docker: %v", ds)
		}
	})
	t.Run("systemd unreachable: no unit warnings, no error", func(t *testing.T) {
		noBus := &providerData{Host: &local.Host{Docker: dockerapi.New(""), DialSystemd: func(context.Context) (*systemd.Client, error) {
			return nil, errors.New("no bus")
		}}}
		ds, _ := planWarnings(t, noBus, "allow", fwHostPort)
		if len(ds) != 0 {
			t.Errorf("want no diagnostics, got %v", ds)
		}
	})
}

// The documented example is a configuration that applies, reads back without a
// diff, imports and destroys.
func TestAccFirewall_example(t *testing.T) {
	sandbox.RequireExclusive(t) // changes the firewall every test shares
	example := config.StaticFile("../../examples/resources/dockeripv6_firewall/resource.tf")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			if out := nftRun(t, "", "list", "tables"); strings.Contains(out, "table inet "+firewall.DefaultTable) {
				return fmt.Errorf("destroy left the table: %s", out)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				ConfigFile: example,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(fwAddr, tfjsonpath.New("ipv6_clients"), knownvalue.StringExact("refuse")),
					statecheck.ExpectKnownValue(fwAddr, tfjsonpath.New("allow_ipv6_from"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("fd5e:27c1:9a04::/48")})),
					statecheck.ExpectKnownOutputValue("other_firewalls", knownvalue.NotNull()),
				},
				Check: func(*terraform.State) error {
					out := nftRun(t, "", "list", "table", "inet", firewall.DefaultTable)
					for _, want := range []string{"elements = { 25, 143, 465, 587, 993 }", "elements = { fd5e:27c1:9a04::/48 }", "reject with tcp reset"} {
						if !strings.Contains(out, want) {
							return fmt.Errorf("table inet %s has no %q:\n%s", firewall.DefaultTable, want, out)
						}
					}
					return nil
				},
			},
			{
				ConfigFile: example, ResourceName: fwAddr, ImportState: true, ImportStateId: firewall.DefaultTable, ImportStateVerify: true,
			},
		},
	})
}

// What terraform validate says, with no daemon: a port that is not a whole
// number and an unknown posture are errors on their attribute, with a hint;
// reject_with under "allow" (which refuses nothing) is a warning on reject_with.
func TestFirewall_validate(t *testing.T) {
	const typ = "dockeripv6_firewall"
	diags := validateResource(t, typ, map[string]tftypes.Value{"ipv6_clients": tfString("refuse"), "ports": tfNumbers(25, 25.5)})
	diagAt(t, diags, tfprotov6.DiagnosticSeverityError, "Invalid Port", "ports",
		"25.5 is not a whole number: ports are TCP port numbers from 1 to 65535; use the host port the container publishes, such as 25 or 587.")
	for _, d := range diags {
		if strings.Contains(d.Detail, "provider developers") {
			t.Errorf("a framework error reached the user: %s", d.Detail)
		}
	}

	for word, hint := range map[string]string{"block": `Did you mean "refuse"?`, "native": `Did you mean "allow"?`,
		"drop": `Did you mean "refuse" (with reject_with = "drop"`, "Allow": `Did you mean "allow"?`} {
		diags = validateResource(t, typ, map[string]tftypes.Value{"ipv6_clients": tfString(word)})
		diagAt(t, diags, tfprotov6.DiagnosticSeverityError, "Unknown ipv6_clients Posture", "ipv6_clients", hint)
	}

	diags = validateResource(t, typ, map[string]tftypes.Value{"ipv6_clients": tfString("allow"), "reject_with": tfString("drop")})
	diagAt(t, diags, tfprotov6.DiagnosticSeverityWarning, `reject_with Has No Effect With ipv6_clients = "allow"`, "reject_with",
		`reject_with = "drop" says how refused IPv6 connections end, but ipv6_clients = "allow" refuses none: remote IPv6 clients `+
			`reach the mail ports. Remove reject_with, or set ipv6_clients = "refuse" if IPv6 clients should fall back to IPv4.`)
	for _, ok := range []map[string]tftypes.Value{
		{"ipv6_clients": tfString("refuse"), "reject_with": tfString("drop")},
		{"ipv6_clients": tfString("allow")},
	} {
		if diags := validateResource(t, typ, ok); len(diags) != 0 {
			t.Errorf("%v: want no diagnostics, got %s", ok, diagsText(diags))
		}
	}
}
