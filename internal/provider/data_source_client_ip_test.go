package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/vishvananda/netlink"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// probeLeftovers lists whatever a probe left behind: containers, namespaces, veths.
func probeLeftovers(ctx context.Context, cli *client.Client) []string {
	var left []string
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", probe.LabelKey+"=1"))})
	if err != nil {
		return []string{"cannot list containers: " + err.Error()}
	}
	for _, c := range list {
		left = append(left, "container "+strings.Join(c.Names, ","))
	}
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), probe.NamePrefix) {
				left = append(left, "netns "+e.Name())
			}
		}
	}
	if links, err := netlink.LinkList(); err == nil {
		for _, l := range links {
			if strings.HasPrefix(l.Attrs().Name, probe.LinkPrefix) {
				left = append(left, "link "+l.Attrs().Name)
			}
		}
	}
	return left
}

func noProbeLeftovers(ctx context.Context, cli *client.Client) func(*terraform.State) error {
	return func(*terraform.State) error {
		if left := probeLeftovers(ctx, cli); len(left) > 0 {
			return fmt.Errorf("the probe left: %s", strings.Join(left, "; "))
		}
		return nil
	}
}

func verdictOutputs(network string) string {
	return fmt.Sprintf(`
data "dockeripv6_client_ip" "v6" {
  network = %[1]s
}
data "dockeripv6_client_ip" "v4" {
  network = %[1]s
  family  = "ipv4"
}
output "v6_verdict"  { value = data.dockeripv6_client_ip.v6.verdict }
output "v6_observed" { value = data.dockeripv6_client_ip.v6.observed_address }
output "v6_client"   { value = data.dockeripv6_client_ip.v6.client_address }
output "v6_gateways" { value = data.dockeripv6_client_ip.v6.gateway_addresses }
output "v4_verdict"  { value = data.dockeripv6_client_ip.v4.verdict }
output "v4_observed" { value = data.dockeripv6_client_ip.v4.observed_address }
output "v4_client"   { value = data.dockeripv6_client_ip.v4.client_address }
`, network)
}

// outputsEqual checks that two outputs hold the same string.
func outputsEqual(a, b string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		oa, ob := s.RootModule().Outputs[a], s.RootModule().Outputs[b]
		if oa == nil || ob == nil {
			return fmt.Errorf("missing output %s or %s", a, b)
		}
		if oa.Value != ob.Value {
			return fmt.Errorf("%s = %v, %s = %v: want them equal", a, oa.Value, b, ob.Value)
		}
		return nil
	}
}

// (a) Docker's defaults: IPv4-only default bridge, userland-proxy on.
func TestAccClientIP_defaultsMasqueradeIPv6(t *testing.T) {
	cli := dockerClient(t)
	ctx := testCtx(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: verdictOutputs(`"bridge"`) + `
# A check block: its failed assertion is a warning, not an error.
check "ipv6_clients_keep_their_address" {
  assert {
    condition     = data.dockeripv6_client_ip.v6.preserved
    error_message = data.dockeripv6_client_ip.v6.detail
  }
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("v6_verdict", knownvalue.StringExact("masqueraded")),
				// The bridge's gateway: docker-proxy relayed the connection.
				statecheck.ExpectKnownOutputValue("v6_observed", knownvalue.StringExact("198.18.0.1")),
				statecheck.ExpectKnownOutputValue("v6_gateways", knownvalue.ListPartial(map[int]knownvalue.Check{0: knownvalue.StringExact("198.18.0.1")})),
				statecheck.ExpectKnownOutputValue("v4_verdict", knownvalue.StringExact("preserved")),
			},
			Check: resource.ComposeTestCheckFunc(outputsEqual("v4_observed", "v4_client"), noProbeLeftovers(ctx, cli)),
		}},
	})
}

// (b) A network with a ULA subnet and ip6tables on (with experimental where the engine needs it).
func TestAccClientIP_ulaNetworkPreserves(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	ctx := testCtx(t)
	withDaemonJSON(t, cli, func(orig []byte) []byte { return orig }) // put daemon.json back whatever happens
	experimental := "null"
	if sandbox.Engine() == "20" {
		experimental = "true" // Docker 20.10 to 26: ip6tables is experimental
	}
	cfg := fmt.Sprintf(`
resource "dockeripv6_daemon_config" "d" {
  ip6tables    = true
  experimental = %s
}
resource "dockeripv6_network" "mail" {
  name        = "acc-verdict-mail"
  ipv6_subnet = cidrsubnet(provider::dockeripv6::ula_prefix("acc-verdict"), 16, 1)
  depends_on  = [dockeripv6_daemon_config.d]
}
`, experimental) + verdictOutputs("dockeripv6_network.mail.name")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("v6_verdict", knownvalue.StringExact("preserved")),
				statecheck.ExpectKnownOutputValue("v4_verdict", knownvalue.StringExact("preserved")),
			},
			Check: resource.ComposeTestCheckFunc(outputsEqual("v6_observed", "v6_client"), outputsEqual("v4_observed", "v4_client"), noProbeLeftovers(ctx, cli)),
		}},
	})
}

// (c) userland-proxy off, IPv4-only network: IPv6 is refused, IPv4 keeps its address.
func TestAccClientIP_noUserlandProxyRefuses(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	ctx := testCtx(t)
	withDaemonJSON(t, cli, func(orig []byte) []byte { return orig })
	cfg := `
resource "dockeripv6_daemon_config" "d" {
  userland_proxy = false
}
resource "dockeripv6_network" "v4only" {
  name       = "acc-verdict-v4only"
  ipv6       = false
  depends_on = [dockeripv6_daemon_config.d]
}
` + verdictOutputs("dockeripv6_network.v4only.name")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("v6_verdict", knownvalue.StringExact("refused")),
				statecheck.ExpectKnownOutputValue("v6_observed", knownvalue.StringExact("")),
				statecheck.ExpectKnownOutputValue("v4_verdict", knownvalue.StringExact("preserved")),
			},
			Check: resource.ComposeTestCheckFunc(outputsEqual("v4_observed", "v4_client"), noProbeLeftovers(ctx, cli)),
		}},
	})
}

func TestAccClientIP_badInput(t *testing.T) {
	sandbox.Require(t)
	planFails(t, func(body string) string {
		return fmt.Sprintf("data \"dockeripv6_client_ip\" \"bad\" {\n  %s\n}\n", body)
	}, []badInput{
		{`family = "ipv5"`, `value must be one of: ["ipv6" "ipv4" "both"]`},
		{`client = "moon"`, `value must be one of: ["remote" "local"]`},
		{`host_port = 70000`, `port 70000 is out of range: TCP ports are 1 to 65535.`},
		{`host_port = 25.5`, `25.5 is not a whole number: a port is a TCP port number from 1 to 65535.`},
		{`timeout = "-1s"`, `is not a positive duration`},
		{`network = "no-such-network"`, `no-such-network`},
	})
}

// (d) The firewall resource refusing IPv6 on the probe's ports: refused, IPv4 keeps its address.
func TestAccClientIP_firewallRefuses(t *testing.T) {
	sandbox.RequireExclusive(t) // changes the sandbox's nftables ruleset
	cli := dockerClient(t)
	ctx := testCtx(t)
	cfg := `
resource "dockeripv6_firewall" "mail" {
  ipv6_clients = "refuse"
  ports = [25, 10025, 10026]
}
data "dockeripv6_client_ip" "v6" {
  host_port  = 10025
  depends_on = [dockeripv6_firewall.mail]
}
data "dockeripv6_client_ip" "v4" {
  family     = "ipv4"
  host_port  = 10026
  depends_on = [dockeripv6_firewall.mail]
}
output "v6_verdict"  { value = data.dockeripv6_client_ip.v6.verdict }
output "v6_observed" { value = data.dockeripv6_client_ip.v6.observed_address }
output "v4_verdict"  { value = data.dockeripv6_client_ip.v4.verdict }
output "v4_observed" { value = data.dockeripv6_client_ip.v4.observed_address }
output "v4_client"   { value = data.dockeripv6_client_ip.v4.client_address }
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("v6_verdict", knownvalue.StringExact("refused")),
				statecheck.ExpectKnownOutputValue("v6_observed", knownvalue.StringExact("")),
				statecheck.ExpectKnownOutputValue("v4_verdict", knownvalue.StringExact("preserved")),
			},
			Check: resource.ComposeTestCheckFunc(outputsEqual("v4_observed", "v4_client"), noProbeLeftovers(ctx, cli)),
		}},
	})
}
