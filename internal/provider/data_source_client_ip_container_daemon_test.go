package provider

// Container mode under daemon settings that need a restart of the sandbox's
// dockerd (set before the stand-in starts, put back when the test ends).

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/docker/docker/client"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// ctrDaemonKeys restarts the sandbox's dockerd with keys merged into its
// daemon.json; the original file and daemon come back when the test ends.
func ctrDaemonKeys(t *testing.T, cli *client.Client, keys map[string]any) {
	t.Helper()
	withDaemonJSON(t, cli, func(orig []byte) []byte {
		m := map[string]any{}
		if err := json.Unmarshal(orig, &m); err != nil {
			t.Fatalf("the sandbox's daemon.json: %v", err)
		}
		for k, v := range keys {
			m[k] = v
		}
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return append(b, '\n')
	})
}

// ctrContainerGateway is the gateway a container has on a network, of one
// family, from the container's own inspect (Docker 20.10 leaves an IPv6
// gateway it chose out of the network's IPAM).
func ctrContainerGateway(t *testing.T, cli *client.Client, id, nw string, v6 bool) func() string {
	return func() string {
		c, err := cli.ContainerInspect(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		es, ok := c.NetworkSettings.Networks[nw]
		if !ok {
			t.Fatalf("container %s is not on network %s", id, nw)
		}
		if v6 {
			return es.IPv6Gateway
		}
		return es.Gateway
	}
}

// A ULA network with ip6tables on (experimental where the engine needs it):
// the kernel's NAT keeps both families' client addresses.
func TestAccClientIPContainer_ulaNetworkIP6Tables(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	keys := map[string]any{"ip6tables": true}
	if sandbox.Engine() == "20" {
		keys["experimental"] = true // Docker 20.10 to 26: ip6tables is experimental
	}
	ctrDaemonKeys(t, cli, keys)
	nw := ctrULANetwork(t, cli, false)
	p := ctrFreePort(t)
	name := ctrName("mail")
	id := ctrStart(t, cli, name, ctrStandIn{ports: []int{p}, bindings: map[int][]string{p: ctrWildcard}, network: nw})
	ctrTest(t, ctrConfig("mail", fmt.Sprintf("  container = %q\n  family = \"both\"", name)),
		ctrCheck(t, cli, "mail", id,
			ctrWant{port: p, family: "ipv6", verdict: "preserved", path: "dnat"},
			ctrWant{port: p, family: "ipv4", verdict: "preserved", path: "dnat"}),
		noProbeLeftovers(testCtx(t), cli))
}

// ip6tables off on a network with IPv6: docker-proxy relays to the
// container's IPv6 address, which sees the network's IPv6 gateway.
func TestAccClientIPContainer_ip6tablesOff(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	ctrDaemonKeys(t, cli, map[string]any{"ip6tables": false})
	nw := ctrULANetwork(t, cli, false)
	p := ctrFreePort(t)
	name := ctrName("mail")
	id := ctrStart(t, cli, name, ctrStandIn{ports: []int{p}, bindings: map[int][]string{p: ctrWildcard}, network: nw})
	ctrTest(t, ctrConfig("mail", fmt.Sprintf("  container = %q", name)),
		ctrCheck(t, cli, "mail", id,
			ctrWant{port: p, family: "ipv6", verdict: "masqueraded", path: "proxy", observed: ctrContainerGateway(t, cli, id, nw, true)}))
}

// userland-proxy off on the IPv4-only default bridge: nothing relays IPv6
// and nothing listens on [::]: refused; IPv4 keeps its address.
func TestAccClientIPContainer_userlandProxyOff(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	ctrDaemonKeys(t, cli, map[string]any{"userland-proxy": false})
	p := ctrFreePort(t)
	name := ctrName("mail")
	id := ctrStart(t, cli, name, ctrStandIn{ports: []int{p}, bindings: map[int][]string{p: ctrWildcard}})
	ctrTest(t, ctrConfig("mail", fmt.Sprintf("  container = %q\n  family = \"both\"", name)),
		ctrCheck(t, cli, "mail", id,
			ctrWant{port: p, family: "ipv6", verdict: "refused", path: "none"},
			ctrWant{port: p, family: "ipv4", verdict: "preserved", path: "dnat"}))
}
