package hostcheck

import (
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/ula"
)

// Kind says what a finding judges, and so where it is reported.
type Kind int

const (
	// Host findings judge the host's facts: dockeripv6_host's findings (Findings).
	Host Kind = iota
	// Posture findings judge a planned dockeripv6_firewall against the host:
	// its plan warnings (PostureFindings).
	Posture
)

// Entry is one finding of the catalog: what it means and the rule that makes
// it. A new finding is one entry in Catalog (and a test).
type Entry struct {
	// ID is stable: configurations match on it in check blocks.
	ID   string
	Kind Kind
	// Severity is the severity as the documentation states it, with its
	// conditions ("error when Docker's ip6tables is on too, else warning").
	Severity string
	// When says in the documentation (Markdown) when the finding appears.
	When string
	// Summary is the title of a posture finding's plan warning, and
	// Attribute the attribute it points at ("" for the resource as a whole).
	Summary, Attribute string

	host    func(Facts, adder)
	posture func(Facts, firewall.Posture, adder)
}

// Catalog is every finding, in the order the rules run: host findings first
// (the documentation's table), then posture findings.
var Catalog = []Entry{
	{ID: IDDaemonJSONMalformed, Severity: "error", host: Facts.daemonJSONMalformed,
		When: "daemon.json cannot be parsed the way dockerd parses it."},
	{ID: IDIP6TablesUnsupported, Severity: "error / warning", host: Facts.ip6tablesUnsupported,
		When: "Docker before 20.10: no `ip6tables` option (error when the file sets it, since dockerd then refuses to start)."},
	{ID: IDIP6TablesNeedsExperiment, Severity: "error", host: Facts.ip6tablesNeedsExperimental,
		When: "Docker 20.10 to 26 with `ip6tables = true` but without `experimental = true`: dockerd refuses to start with that file."},
	{ID: IDIPv6WithoutFixedCIDR, Severity: "error", host: Facts.ipv6WithoutFixedCIDR,
		When: "Docker before 28 with `ipv6 = true` but no `fixed-cidr-v6`: dockerd refuses to start."},
	{ID: IDIPv4OnlyPublishedOnIPv6, Severity: "error (warning while the host has no global IPv6 address)", host: Facts.ipv4OnlyPublishedOnIPv6,
		When: "An IPv4-only network has a container that publishes a port on IPv6 (`[::]`, all addresses, or an IPv6 address) while `userland-proxy` is on (an absent key means on). docker-proxy relays every remote IPv6 client, and the container sees the network's gateway: Fail2Ban bans everyone, SPF fails, a server that trusts its own subnet is an open relay. Fix: an IPv6 subnet (`dockeripv6_network`) with `ip6tables`, or the refuse posture (`dockeripv6_firewall`, `userland_proxy = false`)."},
	{ID: IDIPv6NetworkWithoutIP6Tabs, Severity: "error (warning while the host has no global IPv6 address)", host: Facts.ipv6NetworkWithoutIP6Tables,
		When: "A network has IPv6 and published ports, but the running daemon does not NAT IPv6 (`ip6tables` off, or Docker's default off before 27): docker-proxy relays IPv6 clients, seen as the network's IPv6 gateway."},
	{ID: IDMasqueradedClientsTrusted, Severity: "error", host: Facts.masqueradedClientsTrusted,
		When: "A mail container sees remote clients on a published port as a masqueraded address (the network's gateway, docker-proxy's source) that it trusts (docker-mailserver's `PERMIT_DOCKER`, Mailu's `SUBNET`, Postfix's `mynetworks` or `mynetworks_style`): remote clients may relay mail through it without authentication, an open relay. Fix: a ULA IPv6 network with `ip6tables`, so that clients keep their address, or a narrower `PERMIT_DOCKER`/`mynetworks`."},
	{ID: IDIPv6NATRunning, Severity: "error when Docker's ip6tables is on too, else warning", host: Facts.ipv6nat,
		When: "A running `robbertkl/ipv6nat` container (any tag or registry): unmaintained since 2021, and a second writer of the same ip6tables chains once Docker's own `ip6tables` is on."},
	{ID: IDForwardingWithoutAcceptRA, Severity: "error when the IPv6 default route came from a router advertisement, else warning", host: Facts.forwarding,
		When: "IPv6 forwarding is on and the default-route interface has `accept_ra` below 2: the kernel ignores router advertisements, and an RA-learned default route expires."},
	{ID: IDRestartPending, Severity: "warning", host: Facts.restartPending,
		When: "daemon.json asks for something the running daemon does not do: it was edited and dockerd not restarted (`restart_pending_keys` says which keys)."},
	{ID: IDExperimentalUnneeded, Severity: "warning", host: Facts.experimentalUnneeded,
		When: "Docker 27 or later with `experimental = true`: `ip6tables` no longer needs it, so it only turns on other experimental features."},
	{ID: IDUFWActive, Severity: "warning", host: firewallActive(firewall.UFW),
		When: "UFW is active (its unit, or its chains in nftables): it filters what reaches the host (docker-proxy), not what Docker NATs to containers."},
	{ID: IDFirewalldActive, Severity: "warning", host: firewallActive(firewall.Firewalld),
		When: "firewalld is active: Docker puts its bridges in zone `docker` (target ACCEPT), so its zones do not filter what Docker NATs to containers."},
	{ID: IDIPv6NATUnprotected, Severity: "warning", host: Facts.ipv6NATUnprotected,
		When: "A network with `gateway_mode_ipv6 = nat-unprotected`: every container port is reachable by routing."},
	{ID: IDExampleULAInUse, Severity: "warning", host: Facts.exampleULAInUse,
		When: "A network's IPv6 subnet, `fixed-cidr-v6` or an IPv6 address pool lies in a well-known example ULA (`fd00:cafe:face:feed::/64` and friends, and the prefixes this documentation prints, such as `ula_prefix(\"mail.example.org\")`) that RFC 4193 forbids."},
	{ID: IDDocumentationPrefixInUse, Severity: "warning", When: "The same, in documentation space (`2001:db8::/32`, `3fff::/20`).",
		host: prefixClassRule(ula.ClassDocumentation, ", documentation address space (2001:db8::/32, RFC 3849; 3fff::/20, RFC 9637): it is routed nowhere, and Docker's and docker-mailserver's pages use it only as an example.")},
	{ID: IDReservedULAInUse, Severity: "warning", When: "The same, in `fc00::/8` (ULA with the L bit 0).",
		host: prefixClassRule(ula.ClassULAReserved, " in fc00::/8, the half of the ULA range with the L bit 0, which RFC 4193 leaves undefined; locally assigned ULAs are fd00::/8.")},
	{ID: IDIPv6RoutedNetwork, Severity: "info", host: Facts.ipv6RoutedNetwork,
		When: "A network with `gateway_mode_ipv6 = routed`: no NAT; the firewall, SPF and reverse DNS must cover the containers' addresses."},
	{ID: IDGaiConfULAPrecedence, Severity: "info", host: Facts.gaiConf,
		When: "`/etc/gai.conf` has a `precedence fc00::/7` line: how glibc programs on the host rank ULA against IPv4."},
	{ID: IDFactsIncomplete, Severity: "info", host: Facts.factsIncomplete,
		When: "Something could not be read (nftables, systemd, /proc), so the findings that need it were not checked."},

	{ID: IDPostureBesideUFW, Kind: Posture, Severity: "warning", posture: frontendRule(firewall.UFW),
		Summary: "UFW Is Active: It Does Not Filter IPv6 That Docker NATs",
		When:    "UFW runs beside the planned table (its unit, or its rules in nftables)."},
	{ID: IDPostureBesideFirewalld, Kind: Posture, Severity: "warning", posture: frontendRule(firewall.Firewalld),
		Summary: "firewalld Is Active: It Does Not Filter IPv6 That Docker NATs",
		When:    "firewalld runs beside the planned table (its unit, or its rules in nftables)."},
	{ID: IDRefuseBesideIPv6Networks, Kind: Posture, Severity: "warning", posture: refuseBesideIPv6Networks,
		Summary: "IPv6 Refused Beside Docker Networks With IPv6", Attribute: "ipv6_clients",
		When: "`ipv6_clients = \"refuse\"` while Docker networks have an IPv6 subnet: the two cures for masqueraded IPv6 clients contradict each other."},
	{ID: IDPortsNotPublished, Kind: Posture, Severity: "warning", posture: portsNotPublished,
		Summary: "Ports Not Published By Any Container", Attribute: "ports",
		When: "A port of the posture that no running container publishes over TCP: a typo, or a mapping that differs."},
}

// Lookup is the catalog entry of id.
func Lookup(id string) (Entry, bool) {
	for _, e := range Catalog {
		if e.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}

// Entries are the catalog's entries of kind k, in order.
func Entries(k Kind) []Entry {
	var out []Entry
	for _, e := range Catalog {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func catalogIDs(k Kind) []string {
	var out []string
	for _, e := range Entries(k) {
		out = append(out, e.ID)
	}
	return out
}

// run runs the rules of kind k in catalog order; each finding a rule adds
// gets the rule's ID.
func run(k Kind, rule func(Entry, adder)) []Finding {
	var out []Finding
	for _, e := range Entries(k) {
		rule(e, func(sev, msg, fix string) {
			out = append(out, Finding{ID: e.ID, Severity: sev, Message: msg, Fix: fix})
		})
	}
	return out
}
