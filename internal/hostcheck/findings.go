package hostcheck

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/ula"
)

// Severities of a Finding.
const (
	// SeverityError: remote clients are (or, at the next dockerd restart,
	// will be) handled wrongly, or dockerd will not start.
	SeverityError = "error"
	// SeverityWarning: works today, but is fragile, misleading or a bad idea.
	SeverityWarning = "warning"
	// SeverityInfo: worth knowing; nothing is wrong by itself.
	SeverityInfo = "info"
)

// Finding IDs. They are stable: configurations match on them in check blocks.
const (
	IDIPv4OnlyPublishedOnIPv6   = "ipv4-only-network-published-on-ipv6"
	IDIPv6NetworkWithoutIP6Tabs = "ipv6-network-without-ip6tables"
	IDIP6TablesNeedsExperiment  = "ip6tables-needs-experimental"
	IDIP6TablesUnsupported      = "ip6tables-unsupported"
	IDExperimentalUnneeded      = "experimental-unneeded"
	IDIPv6WithoutFixedCIDR      = "ipv6-without-fixed-cidr"
	IDForwardingWithoutAcceptRA = "forwarding-without-accept-ra"
	IDUFWActive                 = "ufw-active"
	IDFirewalldActive           = "firewalld-active"
	IDIPv6NATRunning            = "ipv6nat-running"
	IDExampleULAInUse           = "example-ula-in-use"
	IDDocumentationPrefixInUse  = "documentation-prefix-in-use"
	IDReservedULAInUse          = "reserved-ula-in-use"
	IDRestartPending            = "restart-pending"
	IDDaemonJSONMalformed       = "daemon-json-malformed"
	IDIPv6NATUnprotected        = "ipv6-nat-unprotected"
	IDIPv6RoutedNetwork         = "ipv6-routed-network"
	IDGaiConfULAPrecedence      = "gai-conf-ula-precedence"
	IDFactsIncomplete           = "facts-incomplete"
	IDMasqueradedClientsTrusted = "masqueraded-clients-trusted"
)

// AllIDs lists every finding ID Findings can return, in the order the rules
// run: the host findings of Catalog.
var AllIDs = catalogIDs(Host)

// Finding is one thing about the host's IPv6 posture worth acting on.
type Finding struct {
	// ID is stable (one of the ID constants); several findings may share
	// one, e.g. one per network.
	ID string
	// Severity is SeverityError, SeverityWarning or SeverityInfo.
	Severity string
	// Message says what was found, naming the network, ports or version.
	Message string
	// Fix says what to do, naming the provider's resources.
	Fix string
}

// Findings judges f. It is a pure function: same facts, same findings, in
// the same order (errors first, then warnings, then info; within a severity,
// in the order of AllIDs).
func Findings(f Facts) []Finding {
	out := run(Host, func(e Entry, add adder) { e.host(f, add) })
	rank := map[string]int{SeverityError: 0, SeverityWarning: 1, SeverityInfo: 2}
	slices.SortStableFunc(out, func(a, b Finding) int { return rank[a.Severity] - rank[b.Severity] })
	return out
}

// adder records one finding of the rule's own ID.
type adder func(sev, msg, fix string)

// --- settings as the daemon will read them, and as it runs ---

// setting is a boolean daemon setting as dockerd reads it at start: its
// command-line flag or daemon.json (dockerd refuses to start with both).
type setting struct {
	value *bool
	from  string // "daemon.json" or "dockerd's --name flag"
}

func (f Facts) configBool(key string, file *bool) setting {
	if v, ok := daemonconfig.LookupFlag(f.DaemonFlags, key, true); ok {
		b, err := strconv.ParseBool(v)
		if err == nil {
			return setting{&b, "dockerd's --" + key + " flag"}
		}
	}
	if file != nil {
		return setting{file, "daemon.json"}
	}
	return setting{}
}

func (f Facts) configString(key string, file *string) (string, bool) {
	if v, ok := daemonconfig.LookupFlag(f.DaemonFlags, key, false); ok {
		return v, true
	}
	if file != nil {
		return *file, true
	}
	return "", false
}

func isTrue(b *bool) bool  { return b != nil && *b }
func isFalse(b *bool) bool { return b != nil && !*b }

// userlandProxy reports whether the running daemon relays published ports with
// docker-proxy, and how that is known.
func (f Facts) userlandProxy() (bool, string) {
	if v, ok := f.FirewallBackendInfo["EnableUserlandProxy"]; ok {
		if b, err := strconv.ParseBool(v); err == nil {
			return b, "the daemon's /info"
		}
	}
	if f.Running.UserlandProxy != nil {
		if *f.Running.UserlandProxy {
			return true, "docker-proxy processes serve the published ports"
		}
		return false, "no docker-proxy process serves the published ports"
	}
	if s := f.configBool(daemonconfig.KeyUserlandProxy, f.DaemonJSON.UserlandProxy); s.value != nil {
		return *s.value, "userland-proxy = " + strconv.FormatBool(*s.value) + " in " + s.from
	}
	return true, "the default: daemon.json has no userland-proxy key"
}

// ip6tables reports whether the running daemon NATs and filters IPv6
// (nil: cannot be told), and why.
func (f Facts) ip6tables() (*bool, string) {
	off := false
	if isFalse(f.Running.IP6TablesChain) {
		return &off, "Docker's DOCKER chain is missing from the ip6 nat table"
	}
	if s := f.configBool(daemonconfig.KeyIP6Tables, f.DaemonJSON.IP6Tables); s.value != nil {
		return s.value, "ip6tables = " + strconv.FormatBool(*s.value) + " in " + s.from
	}
	if !f.Version.Known() {
		return nil, ""
	}
	on := f.Version.AtLeast(27, 0)
	if !f.Version.AtLeast(20, 10) {
		return &off, "Docker " + f.Version.String() + " has no ip6tables option"
	}
	return &on, fmt.Sprintf("Docker %s defaults ip6tables to %t", f.Version, on)
}

// exposure is the severity of a problem remote IPv6 clients meet, and a note
// when the host has no global IPv6 address for them to connect to.
func (f Facts) exposure() (string, string) {
	if f.GlobalIPv6 != nil && len(f.GlobalIPv6) == 0 {
		return SeverityWarning, " This host has no global IPv6 address now, so no remote IPv6 client can connect yet; it matters as soon as it gets one (and an AAAA record)."
	}
	return SeverityError, ""
}

// ip6tablesFix says how to turn on Docker's IPv6 NAT on this version.
func (f Facts) ip6tablesFix() string {
	switch {
	case f.Version.Known() && f.Version.Before(20, 10):
		return "upgrade Docker (20.10 or later; 27+ preferred) and turn on ip6tables with dockeripv6_daemon_config"
	case f.Version.Known() && f.Version.Before(27, 0):
		return fmt.Sprintf("ip6tables = true and experimental = true in dockeripv6_daemon_config (Docker %s needs both)", f.Version)
	case f.Version.Known():
		return fmt.Sprintf("ip6tables on in dockeripv6_daemon_config (Docker %s turns it on by default; remove an explicit false)", f.Version)
	}
	return "ip6tables = true in dockeripv6_daemon_config (Docker 20.10 to 26 also need experimental = true)"
}

// --- rules ---

func (f Facts) daemonJSONMalformed(add adder) {
	if f.DaemonJSONError == "" {
		return
	}
	add(SeverityError,
		fmt.Sprintf("%s cannot be read as dockerd reads it: %s. dockerd refuses to start with it at its next restart, and its IPv6 settings could not be checked.", f.daemonJSONName(), f.DaemonJSONError),
		"Fix the file by hand (dockeripv6_daemon_config never writes a file it cannot parse), then let dockeripv6_daemon_config manage its IPv6 keys.")
}

func (f Facts) daemonJSONName() string {
	if f.DaemonJSONPath == "" {
		return "daemon.json"
	}
	return f.DaemonJSONPath
}

func (f Facts) ip6tablesUnsupported(add adder) {
	v := f.Version
	if !v.Known() || !v.Before(20, 10) {
		return
	}
	if ip6t := f.configBool(daemonconfig.KeyIP6Tables, f.DaemonJSON.IP6Tables); ip6t.value != nil {
		add(SeverityError,
			fmt.Sprintf("ip6tables is set in %s, but Docker %s does not know the option (it arrived in 20.10): dockerd refuses to start with it.", ip6t.from, v),
			"Upgrade Docker to 27 or later (ip6tables on by default) or at least 20.10; until then remove the key.")
		return
	}
	add(SeverityWarning,
		fmt.Sprintf("Docker %s has no native IPv6 NAT (ip6tables arrived in Docker 20.10): remote IPv6 clients can reach containers only through docker-proxy, which hides their address.", v),
		"Upgrade Docker to 27 or later, then give the mail network an IPv6 subnet with dockeripv6_network.")
}

// versionBetween2010And is whether the daemon's version is known and in [20.10, major).
func (f Facts) versionBetween2010And(major int) bool {
	return f.Version.Known() && f.Version.AtLeast(20, 10) && f.Version.Before(major, 0)
}

func (f Facts) ip6tablesNeedsExperimental(add adder) {
	if !f.versionBetween2010And(27) {
		return
	}
	ip6t := f.configBool(daemonconfig.KeyIP6Tables, f.DaemonJSON.IP6Tables)
	exp := f.configBool(daemonconfig.KeyExperimental, f.DaemonJSON.Experimental)
	if !isTrue(ip6t.value) || isTrue(exp.value) {
		return
	}
	why := "experimental is not set"
	if isFalse(exp.value) {
		why = "experimental = false in " + exp.from
	}
	add(SeverityError,
		fmt.Sprintf("ip6tables = true in %s, but %s: Docker %s accepts ip6tables only with experimental features on (until Docker 27), and refuses to start (\"ip6tables rules are only available if experimental features are enabled\").", ip6t.from, why, f.Version),
		"Set experimental = true next to ip6tables = true in dockeripv6_daemon_config (it checks the version rules at plan), or upgrade to Docker 27+, where ip6tables needs no experimental and is on by default.")
}

func (f Facts) ipv6WithoutFixedCIDR(add adder) {
	if !f.versionBetween2010And(28) {
		return
	}
	ipv6 := f.configBool(daemonconfig.KeyIPv6, f.DaemonJSON.IPv6)
	if _, hasCIDR := f.configString(daemonconfig.KeyFixedCIDRv6, f.DaemonJSON.FixedCIDRv6); !isTrue(ipv6.value) || hasCIDR {
		return
	}
	add(SeverityError,
		fmt.Sprintf("ipv6 = true in %s without fixed-cidr-v6: Docker %s (before 28) cannot pick an IPv6 subnet for the default bridge itself and refuses to start with this setting.", ipv6.from, f.Version),
		"Set fixed_cidr_v6 in dockeripv6_daemon_config, e.g. cidrsubnet(dockeripv6_ula_prefix.host.prefix, 16, 0); or leave the default bridge IPv4-only and put the mail containers on a dockeripv6_network.")
}

// portGroup is the ports one container publishes on IPv6.
type portGroup struct {
	container string
	ports     []string
}

func describeGroups(gs []portGroup) string {
	var parts []string
	for _, g := range gs {
		parts = append(parts, fmt.Sprintf("%s (%s)", g.container, strings.Join(g.ports, ", ")))
	}
	if len(parts) == 1 {
		return "container " + parts[0]
	}
	return "containers " + strings.Join(parts, ", ")
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func ipv6Groups(n Network, keep func(Container) bool) []portGroup {
	var gs []portGroup
	for _, c := range n.Containers {
		if !keep(c) {
			continue
		}
		var ps []string
		for _, p := range c.Ports {
			if p.HostPort != 0 && p.OnIPv6() {
				ps = append(ps, p.String())
			}
		}
		if len(ps) > 0 {
			name := c.Name
			if name == "" {
				name = shortID(c.ID)
			}
			gs = append(gs, portGroup{name, ps})
		}
	}
	return gs
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func (f Facts) ipv4OnlyPublishedOnIPv6(add adder) {
	proxy, proxyWhy := f.userlandProxy()
	if !proxy {
		return // nothing relays IPv6 to containers: IPv6 clients are refused, the deliberate posture
	}
	sev, note := f.exposure()
	for _, n := range f.Networks {
		if n.IPv6 {
			continue
		}
		gs := ipv6Groups(n, func(c Container) bool { return !c.HasIPv6 })
		if len(gs) == 0 {
			continue
		}
		gw := "the network's IPv4 gateway"
		if len(n.IPv4Gateways) > 0 {
			gw = n.IPv4Gateways[0] + " (the network's gateway)"
		}
		fix := "Serve IPv6 with real client addresses: move the containers to a dockeripv6_network with an IPv6 ULA subnet (from dockeripv6_ula_prefix) and make sure of " + f.ip6tablesFix() + "."
		if n.Default() {
			fix = "Serve IPv6 with real client addresses: move the containers to a dockeripv6_network with an IPv6 ULA subnet (from dockeripv6_ula_prefix), or give the default bridge one (ipv6 and fixed_cidr_v6 in dockeripv6_daemon_config); and make sure of " + f.ip6tablesFix() + "."
		}
		fix += " Or refuse IPv6 on purpose, so clients fall back to IPv4 at once: dockeripv6_firewall with ipv6_clients = \"refuse\", or userland_proxy = false in dockeripv6_daemon_config, or publish on 0.0.0.0 only."
		add(sev,
			fmt.Sprintf("Network %q is IPv4-only and %s %s on IPv6 while userland-proxy is on (%s): docker-proxy relays every remote IPv6 client, so the container sees %s instead of the client. Fail2Ban then bans everyone at once, SPF checks fail, and a mail server that trusts its own subnet is an open relay.%s",
				n.Name, describeGroups(gs), verb(len(gs), "publishes", "publish"), proxyWhy, gw, note), fix)
	}
}

func (f Facts) ipv6NetworkWithoutIP6Tables(add adder) {
	if proxy, _ := f.userlandProxy(); !proxy {
		return
	}
	ip6t, ip6tWhy := f.ip6tables()
	if ip6t == nil || *ip6t {
		return
	}
	sev, note := f.exposure()
	for _, n := range f.Networks {
		if !n.IPv6 {
			continue
		}
		gs := ipv6Groups(n, func(c Container) bool { return c.IPv6Address != "" })
		if len(gs) == 0 {
			continue
		}
		gw := "the network's IPv6 gateway"
		if len(n.IPv6Gateways) > 0 {
			gw = n.IPv6Gateways[0] + " (the network's IPv6 gateway)"
		}
		add(sev,
			fmt.Sprintf("Network %q has IPv6 (%s), but the running daemon does not NAT IPv6 (%s): the ports of %s reach the container through docker-proxy, so remote IPv6 clients are seen as %s, not as themselves.%s",
				n.Name, strings.Join(n.IPv6Subnets, ", "), ip6tWhy, describeGroups(gs), gw, note),
			"Turn on Docker's IPv6 NAT: "+f.ip6tablesFix()+"; dockeripv6_daemon_config restarts dockerd and verifies it.")
	}
}

func (f Facts) ipv6nat(add adder) {
	if len(f.IPv6NAT) == 0 {
		return
	}
	var names []string
	for _, c := range f.IPv6NAT {
		names = append(names, fmt.Sprintf("%s (%s)", c.Name, c.Image))
	}
	what := fmt.Sprintf("robbertkl/ipv6nat is running: %s.", strings.Join(names, ", "))
	fix := "Remove the ipv6nat container, then let Docker do IPv6 NAT itself: " + f.ip6tablesFix() + ", and IPv6 subnets on the mail networks with dockeripv6_network."
	if on, why := f.ip6tables(); isTrue(on) {
		add(SeverityError,
			what+" Docker's own ip6tables is on as well ("+why+"): two programs write the same ip6tables chains (DOCKER, DOCKER-USER, ...), so rules are lost or duplicated whenever either reacts to a container.", fix)
		return
	}
	add(SeverityWarning,
		what+" It has been unmaintained since 2021 (v0.4.4): Docker NATs IPv6 itself since 20.10 (ip6tables), by default since 27.", fix)
}

func (f Facts) forwarding(add adder) {
	if !isTrue(f.IPv6Forwarding) || f.DefaultRoute.Interface == "" || f.AcceptRA == nil || *f.AcceptRA >= 2 {
		return
	}
	iface := f.DefaultRoute.Interface
	what := fmt.Sprintf("IPv6 forwarding is on (net.ipv6.conf.all.forwarding = 1; Docker turns it on for IPv6 networks) and %s, the interface of the %s default route, has accept_ra = %d: with forwarding on, the kernel ignores router advertisements on it unless accept_ra is 2",
		iface, familyName(f.DefaultRoute.Family), *f.AcceptRA)
	sev := SeverityWarning
	switch {
	case f.DefaultRoute.Family == "ipv6" && f.DefaultRoute.Protocol == "ra":
		sev = SeverityError
		what += ", and this host's IPv6 default route came from one: it disappears when its lifetime runs out, and the host loses IPv6 (outbound mail over IPv6 included)."
	case f.DefaultRoute.Family == "ipv6":
		what += fmt.Sprintf(". The IPv6 default route here was not learned from a router advertisement (protocol %s), so nothing breaks today; it does if the host moves to SLAAC.", f.DefaultRoute.Protocol)
	default:
		what += ". The host has no IPv6 default route: if it should get one by SLAAC, this is why it has none."
	}
	add(sev, what,
		fmt.Sprintf("Set net.ipv6.conf.%s.accept_ra = 2 (in /etc/sysctl.d/), so the host keeps learning its IPv6 route while forwarding.", iface))
}

func familyName(f string) string {
	if f == "ipv4" {
		return "IPv4"
	}
	return "IPv6"
}

func (f Facts) restartPending(add adder) {
	if len(f.PendingKeys) == 0 {
		return
	}
	var parts []string
	for _, k := range f.PendingKeys {
		parts = append(parts, k+f.pendingDetail(k))
	}
	add(SeverityWarning,
		fmt.Sprintf("%s was changed after dockerd started: the running daemon does not show %s. The file's settings take effect only at the next restart of dockerd, whoever causes it (a reboot, a package upgrade), and that restart fails if the file is wrong.",
			f.daemonJSONName(), strings.Join(parts, ", ")),
		"Apply dockeripv6_daemon_config, which restarts dockerd over systemd, verifies the result and rolls back if dockerd does not come back; or restart docker.service yourself at a quiet moment.")
}

func (f Facts) pendingDetail(key string) string {
	var file, run *bool
	switch key {
	case daemonconfig.KeyIPv6:
		file, run = f.DaemonJSON.IPv6, f.Running.IPv6
	case daemonconfig.KeyExperimental:
		file, run = f.DaemonJSON.Experimental, f.Running.Experimental
	case daemonconfig.KeyUserlandProxy:
		file, run = f.DaemonJSON.UserlandProxy, f.Running.UserlandProxy
	case daemonconfig.KeyLiveRestore:
		file, run = f.DaemonJSON.LiveRestore, f.Running.LiveRestore
	case daemonconfig.KeyIP6Tables:
		return " (file: ip6tables on; running: no ip6tables DOCKER chain)"
	case daemonconfig.KeyFixedCIDRv6:
		if f.DaemonJSON.FixedCIDRv6 != nil && f.Running.FixedCIDRv6 != nil {
			return fmt.Sprintf(" (file: %s; running: %s)", *f.DaemonJSON.FixedCIDRv6, *f.Running.FixedCIDRv6)
		}
		return ""
	default:
		return ""
	}
	fs := "absent (default)"
	if file != nil {
		fs = strconv.FormatBool(*file)
	}
	if run == nil {
		return " (file: " + fs + ")"
	}
	return fmt.Sprintf(" (file: %s; running: %t)", fs, *run)
}

func (f Facts) experimentalUnneeded(add adder) {
	if !f.Version.AtLeast(27, 0) {
		return
	}
	exp := f.configBool(daemonconfig.KeyExperimental, f.DaemonJSON.Experimental)
	from := exp.from
	if exp.value == nil && isTrue(f.Running.Experimental) {
		exp.value, from = f.Running.Experimental, "the running daemon"
	}
	if !isTrue(exp.value) {
		return
	}
	add(SeverityWarning,
		fmt.Sprintf("experimental = true (%s) on Docker %s: since Docker 27 ip6tables needs no experimental flag (and is on by default), so this only turns on every other experimental feature of the daemon.", from, f.Version),
		"Set experimental = false in dockeripv6_daemon_config (or remove the key), unless another experimental feature is wanted on purpose.")
}

// firewallActive: the frontend's rules or unit are in OtherFirewalls.
func firewallActive(fe firewall.Frontend) func(Facts, adder) {
	return func(f Facts, add adder) {
		var seen []string
		for _, o := range f.OtherFirewalls {
			if o.Kind == fe.Kind {
				seen = append(seen, o.Name+": "+o.Detail)
			}
		}
		if len(seen) == 0 {
			return
		}
		add(SeverityWarning, fmt.Sprintf("%s is active (%s). %s%s", fe.Name, strings.Join(seen, "; "), fe.Bypass("published ports"), f.natBypass()),
			"Decide IPv6 for the mail ports in dockeripv6_firewall: its own nftables table, on the input and forward hooks, applies whether docker-proxy or Docker's NAT carries the connection. "+firewall.DockerUserAdvice)
	}
}

// natBypass names the published IPv6 ports that Docker NATs to containers
// (and so no INPUT-based firewall sees), if any.
func (f Facts) natBypass() string {
	on, _ := f.ip6tables()
	if !isTrue(on) {
		return ""
	}
	var parts []string
	for _, n := range f.Networks {
		if !n.IPv6 {
			continue
		}
		if gs := ipv6Groups(n, func(c Container) bool { return c.IPv6Address != "" }); len(gs) > 0 {
			parts = append(parts, fmt.Sprintf("network %q: %s", n.Name, describeGroups(gs)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " Here IPv6 to these ports bypasses it: " + strings.Join(parts, "; ") + "."
}

const gatewayModeV6 = "com.docker.network.bridge.gateway_mode_ipv6"

func (f Facts) ipv6NATUnprotected(add adder) {
	for _, n := range f.Networks {
		if n.Options[gatewayModeV6] == "nat-unprotected" {
			add(SeverityWarning,
				fmt.Sprintf("Network %q has gateway_mode_ipv6 = nat-unprotected: every port of its containers, published or not, can be reached by routing to the container's IPv6 address (%s).", n.Name, strings.Join(n.IPv6Subnets, ", ")),
				"Recreate the network with gateway_mode_ipv6 = nat (the default) in dockeripv6_network's options, or refuse what should not be reachable with dockeripv6_firewall.")
		}
	}
}

func (f Facts) ipv6RoutedNetwork(add adder) {
	for _, n := range f.Networks {
		if n.Options[gatewayModeV6] == "routed" {
			add(SeverityInfo,
				fmt.Sprintf("Network %q routes IPv6 without NAT (gateway_mode_ipv6 = routed): published ports are reachable at the containers' own addresses (%s) from anywhere that routes to them, and outbound mail leaves from the container's address.", n.Name, strings.Join(n.IPv6Subnets, ", ")),
				"If intended: make sure a firewall (dockeripv6_firewall or another) covers the subnet, and that SPF (ip6:) and reverse DNS cover the addresses mail leaves from.")
		}
	}
}

// prefixUse is an IPv6 prefix the host uses, and where.
type prefixUse struct {
	where  string
	prefix netip.Prefix
}

func (f Facts) prefixesInUse() []prefixUse {
	var out []prefixUse
	seen := map[netip.Prefix]bool{}
	for _, n := range f.Networks {
		for _, s := range n.IPv6Subnets {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil || !p.Addr().Is6() {
				continue
			}
			where := fmt.Sprintf("network %q", n.Name)
			if n.Default() {
				where = "the default bridge (network \"bridge\", fixed-cidr-v6)"
			}
			out = append(out, prefixUse{where, p.Masked()})
			seen[p.Masked()] = true
		}
	}
	if s, ok := f.configString(daemonconfig.KeyFixedCIDRv6, f.DaemonJSON.FixedCIDRv6); ok {
		if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil && p.Addr().Is6() && !seen[p.Masked()] {
			out = append(out, prefixUse{"fixed-cidr-v6 in " + f.daemonJSONName(), p.Masked()})
		}
	}
	if f.DaemonJSON.DefaultAddressPools != nil {
		for i, pool := range *f.DaemonJSON.DefaultAddressPools {
			if p, err := netip.ParsePrefix(strings.TrimSpace(pool.Base)); err == nil && p.Addr().Is6() {
				out = append(out, prefixUse{fmt.Sprintf("default-address-pools[%d] in %s", i, f.daemonJSONName()), p.Masked()})
			}
		}
	}
	return out
}

const newULAFix = "Generate a random /48 with dockeripv6_ula_prefix (or ula_prefix(seed)) and carve subnets with cidrsubnet(): a network's subnet cannot change in place, so that is a new dockeripv6_network; for the default bridge it is fixed_cidr_v6 in dockeripv6_daemon_config."

func (f Facts) exampleULAInUse(add adder) {
	for _, u := range f.prefixesInUse() {
		if src := ula.WellKnownExample(u.prefix); src != "" {
			add(SeverityWarning,
				fmt.Sprintf("%s uses %s, a well-known example ULA from %s. RFC 4193 says Global IDs MUST NOT be well-known numbers: every host that copied the same page has the same prefix, and their sites collide when joined (VPN, peering, a merged network).", capital(u.where), u.prefix, src),
				newULAFix)
		}
	}
}

// prefixClassRule reports prefixes in use of class c that are not
// well-known examples (those have a finding of their own).
func prefixClassRule(c ula.Class, describe string) func(Facts, adder) {
	return func(f Facts, add adder) {
		for _, u := range f.prefixesInUse() {
			if ula.WellKnownExample(u.prefix) == "" && ula.Classify(u.prefix) == c {
				add(SeverityWarning, fmt.Sprintf("%s uses %s%s", capital(u.where), u.prefix, describe), newULAFix)
			}
		}
	}
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (f Facts) factsIncomplete(add adder) {
	if len(f.Gaps) > 0 {
		add(SeverityInfo,
			"Some facts could not be observed, so the findings that need them were not checked: "+strings.Join(f.Gaps, "; ")+".",
			"Run Terraform as root on the Docker host itself: the provider reads /proc, nftables and systemd (over D-Bus) there.")
	}
}

func (f Facts) gaiConf(add adder) {
	g := f.GaiConf
	if g.ULAPrecedence == nil {
		return
	}
	path := g.Path
	if path == "" {
		path = "/etc/gai.conf"
	}
	msg := fmt.Sprintf("%s sets precedence %d for ULA destinations (fc00::/7)", path, *g.ULAPrecedence)
	switch {
	case g.IPv4Precedence != nil && *g.ULAPrecedence > *g.IPv4Precedence:
		msg += fmt.Sprintf(", above IPv4 (::ffff:0:0/96, %d): glibc programs on this host prefer a ULA address over IPv4 when a name has both.", *g.IPv4Precedence)
	case g.IPv4Precedence != nil:
		msg += fmt.Sprintf(", not above IPv4 (::ffff:0:0/96, %d): glibc programs on this host prefer IPv4 over a ULA address when a name has both, as RFC 6724 does.", *g.IPv4Precedence)
	default:
		msg += "; with precedence lines present, glibc ignores its built-in table, and IPv4 (::ffff:0:0/96) gets whatever the other lines give it."
	}
	msg += " This decides which address local programs connect to, not what the mail server sees."
	add(SeverityInfo, msg,
		"Nothing to change for inbound mail. Remove the lines to get glibc's built-in order back, or keep them if local programs should prefer ULA.")
}
