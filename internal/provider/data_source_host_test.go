package provider

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/hostcheck"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// hostConfig is a dockeripv6_host data source "h" with args, plus outputs that
// make its findings easy to check: which IDs are present (all of AllIDs, true
// or false), and the messages and severities per ID.
func hostConfig(args, extra string) string {
	var ids []string
	for _, id := range hostcheck.AllIDs {
		ids = append(ids, strconv.Quote(id))
	}
	return fmt.Sprintf(`
data "dockeripv6_host" "h" {
  %s
}
output "has" {
  value = { for id in [%s] : id => contains(data.dockeripv6_host.h.finding_ids, id) }
}
output "messages" {
  value = { for f in data.dockeripv6_host.h.findings : f.id => f.message... }
}
output "severities" {
  value = { for f in data.dockeripv6_host.h.findings : f.id => f.severity... }
}
output "finding_ids" {
  value = data.dockeripv6_host.h.finding_ids
}
%s
`, args, strings.Join(ids, ", "), extra)
}

// hostHas checks which finding IDs are present (true) and absent (false).
func hostHas(want map[string]bool) statecheck.StateCheck {
	m := map[string]knownvalue.Check{}
	for id, v := range want {
		m[id] = knownvalue.Bool(v)
	}
	return statecheck.ExpectKnownOutputValue("has", knownvalue.MapPartial(m))
}

// hostFinding checks that exactly one finding has id, with severity and a
// message holding every part.
func hostFinding(id, severity string, parts ...string) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectKnownOutputValueAtPath("severities", tfjsonpath.New(id), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(severity)})),
		statecheck.ExpectKnownOutputValueAtPath("messages", tfjsonpath.New(id), knownvalue.ListExact([]knownvalue.Check{stringFunc(func(s string) bool {
			for _, p := range parts {
				if !strings.Contains(s, p) {
					return false
				}
			}
			return true
		})})),
	}
}

func hostChecks(groups ...[]statecheck.StateCheck) []statecheck.StateCheck {
	var out []statecheck.StateCheck
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

const hostBridgeOutputs = `
output "bridge" {
  value = one([for n in data.dockeripv6_host.h.networks : n if n.name == "bridge"])
}
output "bridge_ports" {
  value = toset(one([for n in data.dockeripv6_host.h.networks : n if n.name == "bridge"]).published_ports)
}
`

// hostRunProbe starts a container of the probe image (the test binary answers
// probe-server on 8080) and removes it when the test ends. bindings are host
// IPs to publish 8080 on ("" = all addresses, like "8080" in a compose file).
func hostRunProbe(t *testing.T, cli *client.Client, name, img, networkMode string, bindings ...string) container.InspectResponse {
	t.Helper()
	ctx := testCtx(t)
	port := nat.Port(fmt.Sprintf("%d/tcp", probe.ContainerPort))
	hc := &container.HostConfig{NetworkMode: container.NetworkMode(networkMode)}
	if len(bindings) > 0 {
		hc.PortBindings = nat.PortMap{port: nil}
		for _, ip := range bindings {
			hc.PortBindings[port] = append(hc.PortBindings[port], nat.PortBinding{HostIP: ip})
		}
	}
	cfg := &container.Config{Image: img, Entrypoint: []string{probe.BinaryPath, probe.ServerArg}, ExposedPorts: nat.PortSet{port: {}}}
	if networkMode == "host" {
		cfg.Entrypoint = append(cfg.Entrypoint, "[::1]:0")
	}
	_ = cli.ContainerRemove(ctx, name, container.RemoveOptions{Force: true})
	created, err := cli.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("removing %s: %v", name, err)
		}
	})
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	ctr, err := cli.ContainerInspect(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ctr
}

// hostPort is the host port the container's 8080 is published on for hostIP
// ("0.0.0.0" or "::"). Before Docker 27 the two families may get different
// ephemeral ports.
func hostPort(t *testing.T, ctr container.InspectResponse, hostIP string) string {
	t.Helper()
	for _, b := range ctr.NetworkSettings.Ports[nat.Port(fmt.Sprintf("%d/tcp", probe.ContainerPort))] {
		if b.HostIP == hostIP && b.HostPort != "" {
			return b.HostPort
		}
	}
	t.Fatalf("container %s does not publish 8080 on %s: %+v", ctr.Name, hostIP, ctr.NetworkSettings.Ports)
	return ""
}

func hostProbeImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	img, err := probe.EnsureImage(testCtx(t), cli, os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Every finding the data source can report is in its documentation table, once.
func TestHostDataSourceDocumentsEveryFinding(t *testing.T) {
	seen := map[string]int{}
	for _, r := range hostFindingDocs {
		seen[r.id]++
	}
	for _, id := range hostcheck.AllIDs {
		if seen[id] != 1 {
			t.Errorf("finding %q is documented %d times", id, seen[id])
		}
	}
	if len(hostFindingDocs) != len(hostcheck.AllIDs) {
		t.Errorf("%d documented findings, %d IDs", len(hostFindingDocs), len(hostcheck.AllIDs))
	}
	if tbl := hostFindingsTable(); !strings.Contains(tbl, "| `ipv4-only-network-published-on-ipv6` | error") {
		t.Errorf("findings table:\n%s", tbl)
	}
}

// The sandbox as it starts, plus a container publishing a port on the IPv4-only
// default bridge without a host IP (as "25:25" in a compose file does): IPv6
// clients would be relayed by docker-proxy and seen as the bridge's gateway.
func TestAccHost_ipv4OnlyBridgePublishedOnIPv6(t *testing.T) {
	sandbox.Require(t)
	cli := dockerClient(t)
	ctx := testCtx(t)
	img := hostProbeImage(t, cli)
	both := hostRunProbe(t, cli, "dockeripv6-hosttest-both", img, "bridge", "")
	v4 := hostRunProbe(t, cli, "dockeripv6-hosttest-v4", img, "bridge", "0.0.0.0")
	port, port6, port4 := hostPort(t, both, "0.0.0.0"), hostPort(t, both, "::"), hostPort(t, v4, "0.0.0.0")
	sv, err := cli.ServerVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	br, err := cli.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gw := br.IPAM.Config[0].Gateway
	fwd, _ := os.ReadFile("/proc/sys/net/ipv6/conf/all/forwarding")

	clean := map[string]bool{
		hostcheck.IDUFWActive: false, hostcheck.IDFirewalldActive: false, hostcheck.IDRestartPending: false,
		hostcheck.IDIPv6NATRunning: false, hostcheck.IDExampleULAInUse: false, hostcheck.IDDaemonJSONMalformed: false,
		hostcheck.IDIP6TablesNeedsExperiment: false, hostcheck.IDExperimentalUnneeded: false, hostcheck.IDForwardingWithoutAcceptRA: false,
		hostcheck.IDFactsIncomplete: false,
	}
	withFinding := map[string]bool{hostcheck.IDIPv4OnlyPublishedOnIPv6: true}
	for k, v := range clean {
		withFinding[k] = v
	}
	h := "data.dockeripv6_host.h"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: hostConfig("", hostBridgeOutputs+fmt.Sprintf(`
output "v4_port_on_ipv6" {
  value = contains(one([for n in data.dockeripv6_host.h.networks : n if n.name == "bridge"]).published_ports, "[::]:%s->8080/tcp")
}
`, port4)),
				ConfigStateChecks: hostChecks(
					[]statecheck.StateCheck{
						hostHas(withFinding),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("docker_version"), knownvalue.StringExact(sv.Version)),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("api_version"), knownvalue.StringExact(sv.APIVersion)),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("daemon_json_path"), knownvalue.StringExact(sandbox.DaemonJSONPath())),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("restart_pending"), knownvalue.Bool(false)),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("restart_pending_keys"), knownvalue.ListExact(nil)),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("running").AtMapKey("userland_proxy"), knownvalue.Bool(true)),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("running").AtMapKey("default_bridge_ipv6"), knownvalue.Bool(false)),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("running").AtMapKey("experimental"), knownvalue.Bool(false)),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("daemon_json").AtMapKey("default_bridge_ipv6"), knownvalue.Null()),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("daemon_json").AtMapKey("default_address_pools"),
							knownvalue.ListExact([]knownvalue.Check{knownvalue.ObjectExact(map[string]knownvalue.Check{
								"base": knownvalue.StringExact("198.18.64.0/18"), "size": knownvalue.Int64Exact(24)})})),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("ipv6_forwarding"), knownvalue.Bool(strings.TrimSpace(string(fwd)) == "1")),
						// The sandbox has no route out: no default-route interface, so no accept_ra.
						statecheck.ExpectKnownValue(h, tfjsonpath.New("default_route_interface"), knownvalue.Null()),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("accept_ra"), knownvalue.Null()),
						statecheck.ExpectKnownOutputValue("bridge", knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"id": knownvalue.StringExact(br.ID), "driver": knownvalue.StringExact("bridge"), "ipv6": knownvalue.Bool(false),
							"ipv4_subnet": knownvalue.StringExact("198.18.0.0/24"), "ipv4_gateway": knownvalue.StringExact(gw),
							"ipv6_subnet": knownvalue.Null(),
						})),
						// Partial: tests of other packages may publish on the default bridge meanwhile.
						statecheck.ExpectKnownOutputValue("bridge_ports", knownvalue.SetPartial([]knownvalue.Check{
							knownvalue.StringExact("0.0.0.0:" + port + "->8080/tcp"),
							knownvalue.StringExact("[::]:" + port6 + "->8080/tcp"),
							knownvalue.StringExact("0.0.0.0:" + port4 + "->8080/tcp"),
						})),
						statecheck.ExpectKnownOutputValue("v4_port_on_ipv6", knownvalue.Bool(false)),
					},
					// One finding for the bridge, naming the container that publishes on IPv6 and
					// not the one on 0.0.0.0; a warning because the sandbox has no global IPv6 address.
					hostFinding(hostcheck.IDIPv4OnlyPublishedOnIPv6, hostcheck.SeverityWarning,
						`Network "bridge" is IPv4-only`, "container dockeripv6-hosttest-both ([::]:"+port6+"->8080/tcp)",
						gw+" (the network's gateway)", "no global IPv6 address"),
					[]statecheck.StateCheck{
						statecheck.ExpectKnownOutputValueAtPath("messages", tfjsonpath.New(hostcheck.IDIPv4OnlyPublishedOnIPv6).AtSliceIndex(0),
							stringFunc(func(s string) bool { return !strings.Contains(s, "dockeripv6-hosttest-v4") })),
					},
				),
			},
			{
				// The container that publishes on IPv6 goes away: so does the finding.
				PreConfig: func() {
					if err := cli.ContainerRemove(ctx, both.ID, container.RemoveOptions{Force: true}); err != nil {
						t.Fatal(err)
					}
				},
				Config:            hostConfig("", ""),
				ConfigStateChecks: []statecheck.StateCheck{hostHas(map[string]bool{hostcheck.IDIPv4OnlyPublishedOnIPv6: false})},
			},
		},
	})
}

// A network created in the same configuration with docker-mailserver's example
// ULA: the data source depends on it, so it is read at apply, and reports it.
func TestAccHost_exampleULANetwork(t *testing.T) {
	sandbox.Require(t)
	name := "dockeripv6-hosttest-dms"
	cfg := `
resource "dockeripv6_network" "dms" {
  name        = "` + name + `"
  ipv6_subnet = "fd00:cafe:face:feed::/64"
}
` + hostConfig("depends_on = [dockeripv6_network.dms]", `
output "dms" {
  value = one([for n in data.dockeripv6_host.h.networks : n if n.name == "`+name+`"])
}
output "dms_ports" {
  value = toset(one([for n in data.dockeripv6_host.h.networks : n if n.name == "`+name+`"]).published_ports)
}
`)
	// Docker 20.10 does not list an IPv6 gateway it picked itself; 29 does.
	gw6 := map[string]knownvalue.Check{"20": knownvalue.Null(), "29": knownvalue.StringExact("fd00:cafe:face:feed::1")}[sandbox.Engine()]
	if gw6 == nil {
		t.Fatalf("unknown sandbox engine %q", sandbox.Engine())
	}
	cli := dockerClient(t)
	img := hostProbeImage(t, cli)
	var ctr container.InspectResponse
	onDMS := []statecheck.StateCheck{
		hostHas(map[string]bool{hostcheck.IDIPv6NetworkWithoutIP6Tabs: sandbox.Engine() == "20"}),
		statecheck.ExpectKnownOutputValue("dms_ports", knownvalue.SetExact([]knownvalue.Check{
			stringFunc(func(s string) bool { return strings.HasPrefix(s, "0.0.0.0:") && strings.HasSuffix(s, "->8080/tcp") }),
			stringFunc(func(s string) bool { return strings.HasPrefix(s, "[::]:") && strings.HasSuffix(s, "->8080/tcp") }),
		})),
	}
	if sandbox.Engine() == "20" {
		// One message, naming the network and the container; a warning, as the sandbox has no global IPv6 address.
		onDMS = append(onDMS, hostFinding(hostcheck.IDIPv6NetworkWithoutIP6Tabs, hostcheck.SeverityWarning,
			`Network "`+name+`" has IPv6 (fd00:cafe:face:feed::/64)`, "container dockeripv6-hosttest-on-dms ([::]:")...)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				// depends_on a resource being created: read at apply, not at plan.
				plancheck.ExpectUnknownOutputValue("finding_ids"),
			}},
			ConfigStateChecks: hostChecks(
				[]statecheck.StateCheck{
					hostHas(map[string]bool{hostcheck.IDExampleULAInUse: true, hostcheck.IDDocumentationPrefixInUse: false, hostcheck.IDReservedULAInUse: false}),
					statecheck.ExpectKnownOutputValue("dms", knownvalue.ObjectExact(map[string]knownvalue.Check{
						"name": knownvalue.StringExact(name), "id": stringFunc(func(s string) bool { return len(s) == 64 }),
						"driver": knownvalue.StringExact("bridge"), "ipv6": knownvalue.Bool(true),
						"ipv6_subnet": knownvalue.StringExact("fd00:cafe:face:feed::/64"), "ipv6_gateway": gw6,
						"ipv4_subnet":     stringFunc(func(s string) bool { return strings.HasPrefix(s, "198.18.") }),
						"ipv4_gateway":    stringFunc(func(s string) bool { return strings.HasPrefix(s, "198.18.") }),
						"published_ports": knownvalue.ListExact(nil),
					})),
					statecheck.CompareValuePairs("dockeripv6_network.dms", tfjsonpath.New("id"),
						"data.dockeripv6_host.h", tfjsonpath.New("networks"), hostNetworkIDIn{}),
				},
				hostFinding(hostcheck.IDExampleULAInUse, hostcheck.SeverityWarning,
					`Network "`+name+`" uses fd00:cafe:face:feed::/64`, "docker-mailserver's IPv6 page"),
			),
		}, {
			// A container on it publishes a port: on 20.10 (ip6tables off by default) docker-proxy
			// relays IPv6 clients to the container's IPv6 address and they are seen as the gateway;
			// on 29 (ip6tables on) Docker NATs them and they keep their address.
			PreConfig: func() {
				ctr = hostRunProbe(t, cli, "dockeripv6-hosttest-on-dms", img, name, "")
			},
			Config:            cfg,
			ConfigStateChecks: onDMS,
		}, {
			PreConfig: func() {
				if err := cli.ContainerRemove(testCtx(t), ctr.ID, container.RemoveOptions{Force: true}); err != nil {
					t.Fatal(err)
				}
			},
			Config:            cfg,
			ConfigStateChecks: []statecheck.StateCheck{hostHas(map[string]bool{hostcheck.IDIPv6NetworkWithoutIP6Tabs: false})},
		}},
	})
}

// hostNetworkIDIn compares a network ID with the data source's networks list.
type hostNetworkIDIn struct{}

func (hostNetworkIDIn) CompareValues(values ...any) error {
	id, _ := values[0].(string)
	list, _ := values[1].([]any)
	for _, n := range list {
		if m, ok := n.(map[string]any); ok && m["id"] == id {
			return nil
		}
	}
	return fmt.Errorf("network %q is not in the data source's networks", id)
}

// UFW and firewalld units reported active by systemd (the sandbox's fake
// manager, over D-Bus) show as findings; stopped units do not.
func TestAccHost_ufwAndFirewalldActive(t *testing.T) {
	sandbox.RequireExclusive(t)
	units := sandbox.FakeUnitsFile()
	orig, err := os.ReadFile(units)
	existed := err == nil
	t.Cleanup(func() {
		if existed {
			err = os.WriteFile(units, orig, 0o644)
		} else {
			err = os.Remove(units)
		}
		if err != nil && !os.IsNotExist(err) {
			t.Errorf("restoring the fake units: %v", err)
		}
	})
	setUnit := func(unit, state string) {
		if err := sandbox.SetFakeUnit(unit, state); err != nil {
			t.Fatal(err)
		}
	}
	extra := `
output "firewall_names" {
  value = [for o in data.dockeripv6_host.h.other_firewalls : o.name if contains(["ufw", "firewalld"], o.kind)]
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { setUnit("ufw.service", "active"); setUnit("firewalld.service", "active") },
				Config:    hostConfig("", extra),
				ConfigStateChecks: hostChecks(
					[]statecheck.StateCheck{
						hostHas(map[string]bool{hostcheck.IDUFWActive: true, hostcheck.IDFirewalldActive: true}),
						statecheck.ExpectKnownOutputValue("firewall_names", knownvalue.ListExact([]knownvalue.Check{
							knownvalue.StringExact("ufw.service"), knownvalue.StringExact("firewalld.service")})),
					},
					hostFinding(hostcheck.IDUFWActive, hostcheck.SeverityWarning, "systemd unit ufw.service is active", "UFW filters only traffic addressed to the host"),
					hostFinding(hostcheck.IDFirewalldActive, hostcheck.SeverityWarning, "systemd unit firewalld.service is active", `zone "docker"`),
				),
			},
			{
				PreConfig: func() { setUnit("ufw.service", "inactive"); setUnit("firewalld.service", "") },
				Config:    hostConfig("", extra),
				ConfigStateChecks: []statecheck.StateCheck{
					hostHas(map[string]bool{hostcheck.IDUFWActive: false, hostcheck.IDFirewalldActive: false}),
					statecheck.ExpectKnownOutputValue("firewall_names", knownvalue.ListExact(nil)),
				},
			},
		},
	})
}

// daemon.json edited and dockerd not restarted: restart_pending, with the key
// and both values. An edit dockerd 20.10 would refuse to start with (ip6tables
// without experimental) is reported before anyone restarts it.
func TestAccHost_restartPending(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	withDaemonJSON(t, cli, func(orig []byte) []byte { return orig }) // restores the file and restarts dockerd afterwards
	engine := sandbox.Engine()
	h := "data.dockeripv6_host.h"
	step1 := hostChecks(
		[]statecheck.StateCheck{
			hostHas(map[string]bool{hostcheck.IDRestartPending: true, hostcheck.IDExperimentalUnneeded: engine == "29"}),
			statecheck.ExpectKnownValue(h, tfjsonpath.New("restart_pending"), knownvalue.Bool(true)),
			statecheck.ExpectKnownValue(h, tfjsonpath.New("restart_pending_keys"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("experimental")})),
			statecheck.ExpectKnownValue(h, tfjsonpath.New("daemon_json").AtMapKey("experimental"), knownvalue.Bool(true)),
			statecheck.ExpectKnownValue(h, tfjsonpath.New("running").AtMapKey("experimental"), knownvalue.Bool(false)),
		},
		hostFinding(hostcheck.IDRestartPending, hostcheck.SeverityWarning,
			sandbox.DaemonJSONPath()+" was changed after dockerd started", "experimental (file: true; running: false)"),
	)
	step2 := []statecheck.StateCheck{
		statecheck.ExpectKnownValue(h, tfjsonpath.New("daemon_json").AtMapKey("ip6tables"), knownvalue.Bool(true)),
		statecheck.ExpectKnownValue(h, tfjsonpath.New("daemon_json").AtMapKey("experimental"), knownvalue.Bool(false)),
	}
	switch engine {
	case "20":
		// restart-pending is not asserted here: whether the running daemon shows ip6tables
		// off depends on ip6 DOCKER chains an earlier test's daemon may have left behind
		// (Docker does not remove them), which PendingKeys rightly does not count.
		step2 = hostChecks(step2, []statecheck.StateCheck{hostHas(map[string]bool{hostcheck.IDIP6TablesNeedsExperiment: true})},
			hostFinding(hostcheck.IDIP6TablesNeedsExperiment, hostcheck.SeverityError,
				"ip6tables = true in daemon.json", "experimental = false in daemon.json", "Docker 20.10.24"))
	case "29":
		// ip6tables is on by default, experimental off as the daemon runs: nothing pending, nothing wrong.
		step2 = append(step2, hostHas(map[string]bool{hostcheck.IDIP6TablesNeedsExperiment: false, hostcheck.IDRestartPending: false}),
			statecheck.ExpectKnownValue(h, tfjsonpath.New("restart_pending"), knownvalue.Bool(false)))
	default:
		t.Fatalf("unknown sandbox engine %q", engine)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				PreConfig:         func() { editDaemonJSON(t, daemonconfig.Settings{Experimental: daemonconfig.Bool(true)}) },
				Config:            hostConfig("", ""),
				ConfigStateChecks: step1,
			},
			{
				PreConfig: func() {
					editDaemonJSON(t, daemonconfig.Settings{Experimental: daemonconfig.Bool(false), IP6Tables: daemonconfig.Bool(true)})
				},
				Config:            hostConfig("", ""),
				ConfigStateChecks: step2,
			},
		},
	})
}

// experimental = true, applied (dockerd restarted with it): set for nothing on
// Docker 29, and not a finding on 20.10, where ip6tables still needs it.
func TestAccHost_experimentalByVersion(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	withDaemonJSON(t, cli, func(orig []byte) []byte {
		out, err := daemonconfig.Merge(orig, daemonconfig.Settings{Experimental: daemonconfig.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	})
	engine := sandbox.Engine()
	h := "data.dockeripv6_host.h"
	checks := []statecheck.StateCheck{
		hostHas(map[string]bool{hostcheck.IDExperimentalUnneeded: engine == "29", hostcheck.IDRestartPending: false}),
		statecheck.ExpectKnownValue(h, tfjsonpath.New("running").AtMapKey("experimental"), knownvalue.Bool(true)),
		statecheck.ExpectKnownValue(h, tfjsonpath.New("restart_pending"), knownvalue.Bool(false)),
	}
	if engine == "29" {
		checks = hostChecks(checks, hostFinding(hostcheck.IDExperimentalUnneeded, hostcheck.SeverityWarning,
			"experimental = true (daemon.json) on Docker 29.", "since Docker 27 ip6tables needs no experimental flag"))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps:                    []resource.TestStep{{Config: hostConfig("", ""), ConfigStateChecks: checks}},
	})
}

// A running robbertkl/ipv6nat container (here the probe image under that name):
// a warning where Docker's ip6tables is off (20.10's default), an error where
// it is on too (29's default).
func TestAccHost_ipv6natRunning(t *testing.T) {
	sandbox.Require(t)
	cli := dockerClient(t)
	ctx := testCtx(t)
	img := hostProbeImage(t, cli)
	ref := "robbertkl/ipv6nat:dockeripv6-hosttest"
	if err := cli.ImageTag(ctx, img, ref); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := cli.ImageRemove(context.Background(), ref, image.RemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("untagging %s: %v", ref, err)
		}
	})
	sev, why := hostcheck.SeverityWarning, "unmaintained since 2021"
	if sandbox.Engine() == "29" {
		sev, why = hostcheck.SeverityError, "two programs write the same ip6tables chains"
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config:            hostConfig("", ""),
				ConfigStateChecks: []statecheck.StateCheck{hostHas(map[string]bool{hostcheck.IDIPv6NATRunning: false})},
			},
			{
				PreConfig: func() { hostRunProbe(t, cli, "dockeripv6-hosttest-ipv6nat", ref, "host") },
				Config:    hostConfig("", ""),
				ConfigStateChecks: hostChecks(
					[]statecheck.StateCheck{hostHas(map[string]bool{hostcheck.IDIPv6NATRunning: true})},
					hostFinding(hostcheck.IDIPv6NATRunning, sev, "dockeripv6-hosttest-ipv6nat ("+ref+")", why),
				),
			},
		},
	})
}

// IPv6 forwarding on while the default-route interface ignores router
// advertisements. The sandbox has no route out, so the test gives it one: a
// veth pair with a global (documentation) address and a default route marked
// as learned from a router advertisement.
func TestAccHost_forwardingWithoutAcceptRA(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	const ifname = "hchk0"
	sysctl := func(p, v string) {
		if err := os.WriteFile(filepath.Join("/proc/sys/net/ipv6/conf", p), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fwd, err := os.ReadFile("/proc/sys/net/ipv6/conf/all/forwarding")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(fwd)) == "0" {
		t.Cleanup(func() { sysctl("all/forwarding", "0") })
	}
	la := netlink.NewLinkAttrs()
	la.Name = ifname
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "hchk1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(ifname); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				t.Errorf("removing %s: %v", ifname, err)
			}
		}
	})
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := netlink.LinkByName("hchk1")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []netlink.Link{link, peer} {
		if err := netlink.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	addr, _ := netlink.ParseAddr("2001:db8:25::25/64")
	addr.Flags = unix.IFA_F_NODAD
	if err := netlink.AddrAdd(link, addr); err != nil {
		t.Fatal(err)
	}
	_, all6, _ := net.ParseCIDR("::/0")
	route6 := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: all6, Protocol: unix.RTPROT_RA}
	if err := netlink.RouteAdd(route6); err != nil {
		t.Fatal(err)
	}
	sysctl("all/forwarding", "1")
	sysctl(ifname+"/accept_ra", "1")

	// With a global IPv6 address on the host, a port published on IPv6 from an
	// IPv4-only network is an error, not a warning.
	img := hostProbeImage(t, cli)
	ctr := hostRunProbe(t, cli, "dockeripv6-hosttest-global", img, "bridge", "")
	port := hostPort(t, ctr, "::")

	h := "data.dockeripv6_host.h"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: hostConfig("", ""),
				ConfigStateChecks: hostChecks(
					[]statecheck.StateCheck{
						hostHas(map[string]bool{hostcheck.IDForwardingWithoutAcceptRA: true, hostcheck.IDIPv4OnlyPublishedOnIPv6: true}),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("ipv6_forwarding"), knownvalue.Bool(true)),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("default_route_interface"), knownvalue.StringExact(ifname)),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("accept_ra"), knownvalue.Int64Exact(1)),
						statecheck.ExpectKnownOutputValueAtPath("messages", tfjsonpath.New(hostcheck.IDIPv4OnlyPublishedOnIPv6).AtSliceIndex(0),
							stringFunc(func(s string) bool { return !strings.Contains(s, "no global IPv6 address") })),
					},
					hostFinding(hostcheck.IDForwardingWithoutAcceptRA, hostcheck.SeverityError,
						ifname+", the interface of the IPv6 default route, has accept_ra = 1", "came from one"),
					hostFinding(hostcheck.IDIPv4OnlyPublishedOnIPv6, hostcheck.SeverityError, "[::]:"+port+"->8080/tcp"),
				),
			},
			{
				PreConfig: func() { sysctl(ifname+"/accept_ra", "2") },
				Config:    hostConfig("", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					hostHas(map[string]bool{hostcheck.IDForwardingWithoutAcceptRA: false}),
					statecheck.ExpectKnownValue(h, tfjsonpath.New("accept_ra"), knownvalue.Int64Exact(2)),
				},
			},
			{
				// No IPv6 default route (as when RAs are ignored), only an IPv4 one.
				PreConfig: func() {
					if err := netlink.RouteDel(route6); err != nil {
						t.Fatal(err)
					}
					a4, _ := netlink.ParseAddr("192.0.2.25/24")
					if err := netlink.AddrAdd(link, a4); err != nil {
						t.Fatal(err)
					}
					_, all4, _ := net.ParseCIDR("0.0.0.0/0")
					if err := netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: all4, Gw: net.ParseIP("192.0.2.1")}); err != nil {
						t.Fatal(err)
					}
					sysctl(ifname+"/accept_ra", "0")
				},
				Config: hostConfig("", ""),
				ConfigStateChecks: hostChecks(
					[]statecheck.StateCheck{statecheck.ExpectKnownValue(h, tfjsonpath.New("default_route_interface"), knownvalue.StringExact(ifname))},
					hostFinding(hostcheck.IDForwardingWithoutAcceptRA, hostcheck.SeverityWarning,
						"the interface of the IPv4 default route, has accept_ra = 0", "no IPv6 default route"),
				),
			},
		},
	})
}

// daemon_json_path: a malformed file is a finding (not an error), a missing
// file reads as Docker's defaults, and a file's example ULA is reported.
func TestAccHost_daemonJSONPath(t *testing.T) {
	sandbox.Require(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"ipv6\": true,\n  \"bip\" \"198.18.0.1/24\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	example := filepath.Join(dir, "example.json")
	if err := os.WriteFile(example, []byte(`{"ipv6": true, "fixed-cidr-v6": "fd00:dead:beef::/64", "userland-proxy": false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	h := "data.dockeripv6_host.h"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config:      hostConfig(`daemon_json_path = ""`, ""),
				PlanOnly:    true,
				ExpectError: errorLike("string length must be at least 1"),
			},
			{
				Config: hostConfig(fmt.Sprintf("daemon_json_path = %q", bad), ""),
				ConfigStateChecks: hostChecks(
					[]statecheck.StateCheck{
						hostHas(map[string]bool{hostcheck.IDDaemonJSONMalformed: true, hostcheck.IDRestartPending: false}),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("daemon_json"), knownvalue.Null()),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("daemon_json_path"), knownvalue.StringExact(bad)),
					},
					hostFinding(hostcheck.IDDaemonJSONMalformed, hostcheck.SeverityError, bad, "line 3, column"),
				),
			},
			{
				Config: hostConfig(fmt.Sprintf("daemon_json_path = %q", filepath.Join(dir, "missing.json")), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					hostHas(map[string]bool{hostcheck.IDDaemonJSONMalformed: false}),
					statecheck.ExpectKnownValue(h, tfjsonpath.New("daemon_json"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"default_bridge_ipv6": knownvalue.Null(), "fixed_cidr_v6": knownvalue.Null(), "ip6tables": knownvalue.Null(), "experimental": knownvalue.Null(),
						"userland_proxy": knownvalue.Null(), "live_restore": knownvalue.Null(), "default_address_pools": knownvalue.Null(),
					})),
				},
			},
			{
				Config: hostConfig(fmt.Sprintf("daemon_json_path = %q", example), ""),
				ConfigStateChecks: hostChecks(
					[]statecheck.StateCheck{
						hostHas(map[string]bool{hostcheck.IDExampleULAInUse: true, hostcheck.IDIPv6WithoutFixedCIDR: false}),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("daemon_json").AtMapKey("fixed_cidr_v6"), knownvalue.StringExact("fd00:dead:beef::/64")),
						statecheck.ExpectKnownValue(h, tfjsonpath.New("daemon_json").AtMapKey("userland_proxy"), knownvalue.Bool(false)),
					},
					hostFinding(hostcheck.IDExampleULAInUse, hostcheck.SeverityWarning, "Fixed-cidr-v6 in "+example+" uses fd00:dead:beef::/64", "ipv6nat"),
				),
			},
		},
	})
}

// The documented example applies as written.
func TestAccHost_example(t *testing.T) {
	sandbox.Require(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			ConfigFile: config.StaticFile("../../examples/data-sources/dockeripv6_host/data-source.tf"),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("ipv6_findings", knownvalue.NotNull()),
				statecheck.ExpectKnownValue("data.dockeripv6_host.this", tfjsonpath.New("docker_version"), knownvalue.NotNull()),
			},
		}},
	})
}
