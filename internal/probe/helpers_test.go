package probe

import (
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// requireIsolatedNetns fails the test unless the process runs as root in a
// network and mount namespace of its own (the sandbox, or unshare), so that
// the namespaces and veth links the test creates never touch the host.
func requireIsolatedNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test creates network namespaces and veth links and needs root")
	}
	if os.Getenv("DOCKERIPV6_SANDBOX") == "1" {
		return
	}
	if !onlyLoopback() || !privateRun() {
		t.Fatal("this test creates network namespaces and veth links and must not run in the host's namespaces; " +
			"run it inside the sandbox (go build -o /tmp/sbx ./internal/sandbox/cmd/dockeripv6-sandbox && /tmp/sbx -- go test ./internal/probe/) " +
			"or in a private namespace: unshare --net --mount sh -c 'mount --make-rprivate / && mount -t tmpfs none /run && ip link set lo up && go test ./internal/probe/'")
	}
}

// onlyLoopback: the network namespace has no interface but lo (and this
// package's own test links), i.e. it is a fresh one, not the host's.
func onlyLoopback() bool {
	links, err := netlink.LinkList()
	if err != nil {
		return false
	}
	for _, l := range links {
		if n := l.Attrs().Name; n != "lo" && !strings.HasPrefix(n, "dip6") {
			return false
		}
	}
	return true
}

// privateRun: /run (where named namespaces are bind-mounted) is a mount that
// does not propagate to other mount namespaces.
func privateRun() bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	var run []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 6 && (f[4] == "/run" || (f[4] == "/" && run == nil)) {
			run = f
		}
	}
	if run == nil {
		return false
	}
	for _, opt := range run[6:] {
		if opt == "-" {
			break
		}
		if strings.HasPrefix(opt, "shared:") {
			return false
		}
	}
	return true
}

func networkInspect(id string, gateways []string) network.Inspect {
	nw := network.Inspect{ID: id}
	for _, g := range gateways {
		nw.IPAM.Config = append(nw.IPAM.Config, network.IPAMConfig{Gateway: g})
	}
	return nw
}

func containerInspect(networkID, gw, gw6, legacyGw, legacyGw6 string) container.InspectResponse {
	ns := &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
		"n": {NetworkID: networkID, Gateway: gw, IPv6Gateway: gw6},
	}}
	//nolint:staticcheck // Docker 20.10 fills these legacy fields; the fixture builds them on purpose.
	ns.Gateway, ns.IPv6Gateway = legacyGw, legacyGw6
	return container.InspectResponse{NetworkSettings: ns}
}
