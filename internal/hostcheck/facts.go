// Package hostcheck judges a Docker host's IPv6 posture for a mail server:
// what decides whether remote IPv6 clients reach a container with their own
// address, are relayed by docker-proxy and seen as the network's gateway, or
// are refused; and what on the host gets in the way (daemon.json keys the
// running Docker version needs or does not need, a daemon.json edited but not
// applied, UFW or firewalld, a leftover ipv6nat container, IPv6 forwarding
// with router advertisements ignored, copied example prefixes).
//
// Facts is what was observed; Findings is a pure function of it, so every
// rule is tested on recorded facts, including Docker versions the test host
// does not run. Catalog holds every finding, one entry each: its ID, its
// severity and "when" for the documentation, its plan-warning summary, and
// its rule. The readers in this package (FromDocker, DefaultRoute,
// ReadForwarding, ReadAcceptRA, GlobalIPv6Addresses, ParseGaiConf) collect
// the host-side parts; the provider gathers the rest (daemon.json, the
// running daemon's state, systemd units, nftables) and fills Facts.
package hostcheck

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

// Facts is everything the findings are judged on. A zero or nil field was not
// observed; rules that need it stay silent.
type Facts struct {
	// DockerVersion and APIVersion are what /version says ("20.10.24+dfsg1", "1.41").
	DockerVersion, APIVersion string
	// Version is the engine release the version rules use
	// (daemonconfig.ParseVersion of the two above); unknown when zero.
	Version daemonconfig.DockerVersion
	// FirewallBackend is /info's FirewallBackend.Driver ("iptables",
	// "nftables"; API 1.49+), and FirewallBackendInfo its Info pairs
	// (Docker 29 reports "EnableUserlandProxy" there).
	FirewallBackend     string
	FirewallBackendInfo map[string]string
	// DaemonFlags are dockerd's command-line arguments from the unit's
	// ExecStart (without argv[0] and --config-file); nil when unknown.
	DaemonFlags []string

	// DaemonJSONPath is the file that was read; DaemonJSONExists whether it
	// exists; DaemonJSONError why it could not be parsed ("" when it could).
	DaemonJSONPath   string
	DaemonJSONExists bool
	DaemonJSONError  string
	// DaemonJSON holds the owned keys as the file says (nil field = absent).
	DaemonJSON daemonconfig.Settings

	// Running is what the running daemon shows of those settings, and
	// PendingKeys the keys whose file value it does not show
	// (daemonconfig.PendingKeys): daemon.json was edited, dockerd not restarted.
	Running     daemonconfig.RunningState
	PendingKeys []string

	// Networks are all of the daemon's networks, with their running containers.
	Networks []Network
	// IPv6NAT are running containers of the robbertkl/ipv6nat image.
	IPv6NAT []Container

	// IPv6Forwarding is net.ipv6.conf.all.forwarding; nil when IPv6 is
	// disabled or the sysctl could not be read.
	IPv6Forwarding *bool
	// DefaultRoute is the interface of the IPv6 default route, else of the
	// IPv4 one; Interface is "" when there is neither.
	DefaultRoute Route
	// AcceptRA is net.ipv6.conf.<DefaultRoute.Interface>.accept_ra.
	AcceptRA *int
	// GlobalIPv6 are the host's global IPv6 addresses (not ULA, link-local or
	// loopback), outside Docker's bridges and veths: what remote IPv6 clients
	// can reach. nil when not observed; empty when there are none.
	GlobalIPv6 []string

	// OtherFirewalls are firewall.OtherFirewalls merged with the unit states
	// (firewall.MergeUnitStates).
	OtherFirewalls []firewall.Finding
	// Clients are what remote clients looked like to the mail containers on
	// their published ports, with what each container trusts; nil when not
	// measured.
	Clients []Client

	// Units are the ActiveStates of the firewall frontends' units
	// (firewall.FrontendUnits); nil when systemd could not be asked.
	Units map[string]string

	// GaiConf is what /etc/gai.conf says about address selection.
	GaiConf GaiConf

	// Gaps name what could not be observed, one phrase each
	// ("nftables: permission denied").
	Gaps []string
}

// Route is the default route the host uses.
type Route struct {
	Interface string
	// Family is "ipv6" or "ipv4".
	Family string
	// Protocol is who installed the route: "ra" (router advertisement),
	// "kernel", "boot", "static", "dhcp", or a number.
	Protocol string
}

// Network is one Docker network as the API lists it.
type Network struct {
	Name, ID, Driver string
	// IPv6 is EnableIPv6.
	IPv6     bool
	Internal bool
	// Subnets and gateways per family, as the network's IPAM config lists
	// them (Docker 20.10 leaves an IPv6 gateway it picked itself out).
	IPv4Subnets, IPv6Subnets   []string
	IPv4Gateways, IPv6Gateways []string
	// Options are the driver options (com.docker.network.bridge.*).
	Options map[string]string
	// Containers are the running containers attached to the network.
	Containers []Container
}

// Default reports whether the network is Docker's default bridge (docker0).
func (n Network) Default() bool {
	return n.Options["com.docker.network.bridge.default_bridge"] == "true" || (n.Name == "bridge" && n.Driver == "bridge")
}

// Container is a running container as seen from one network.
type Container struct {
	Name, ID, Image string
	// IPv6Address is the container's global IPv6 address on this network ("" = none).
	IPv6Address string
	// HasIPv6 is true when the container has an IPv6 address on any network.
	HasIPv6 bool
	// Ports are the ports the container publishes on the host.
	Ports []Port
}

// Port is one published port.
type Port struct {
	// HostIP is the host address it is published on: "0.0.0.0", "::", a
	// specific address, or "" (all addresses).
	HostIP        string
	HostPort      uint16
	ContainerPort uint16
	Proto         string
}

// String is the port in `docker ps` style: "0.0.0.0:25->25/tcp",
// "[::]:25->25/tcp", and ":25->25/tcp" for an empty host IP.
func (p Port) String() string {
	proto := p.Proto
	if proto == "" {
		proto = "tcp"
	}
	return net.JoinHostPort(p.HostIP, strconv.Itoa(int(p.HostPort))) + "->" + strconv.Itoa(int(p.ContainerPort)) + "/" + proto
}

// OnIPv6 reports whether the port accepts IPv6 clients on the host: it is
// published on "::", on a specific IPv6 address, or on all addresses.
func (p Port) OnIPv6() bool {
	if p.HostIP == "" {
		return true
	}
	a, err := netip.ParseAddr(p.HostIP)
	return err == nil && a.Is6() && !a.Is4In6()
}

// GaiConf is what glibc's /etc/gai.conf says about address selection.
type GaiConf struct {
	// Path is the file read; Exists whether it exists.
	Path   string
	Exists bool
	// ULAPrecedence is the value of a `precedence fc00::/7 N` line, nil when
	// there is none (glibc then uses its built-in table, which has no row for
	// fc00::/7). IPv4Precedence is that of `precedence ::ffff:0:0/96 N`.
	ULAPrecedence, IPv4Precedence *int
	// Precedences counts the precedence lines: any at all replace glibc's
	// whole built-in precedence table.
	Precedences int
}
