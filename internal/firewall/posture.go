// Package firewall is the IPv6 posture for the mail ports a Docker host
// publishes, as a value: one table of its own (inet family, default name
// "dockeripv6") that decides whether IPv6 clients may reach those ports.
// Posture, Normalize, Diff and the validators are pure; Handle is how a
// machine's firewall is written and read (internal/firewall/nft writes it
// with nftables), and Finding is one other firewall found beside it.
//
// Two paths lead an IPv6 client to a published port:
//
//   - docker-proxy: the container has no IPv6 address, so docker-proxy listens
//     on the host's [::]:port and the packet is addressed to the host. The
//     table's "input" chain refuses it.
//   - DNAT: with ip6tables on and an IPv6 container address, Docker rewrites
//     the destination in the nat table and the packet is forwarded. After DNAT
//     the destination port is the container's, so the "forward" chain matches
//     the port the client asked for from conntrack's original tuple.
//
// Loopback traffic is never refused, and sources inside AllowIPv6From are
// never refused. IPv4 is never touched. IPv6 routed to a container's own
// address without DNAT is not refused either (the client address is kept
// there, which is what the posture is about).
package firewall

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Posture values.
const (
	DefaultTable = "dockeripv6"

	IPv6Refuse = "refuse"
	IPv6Allow  = "allow"

	RejectTCPReset = "tcp-reset"
	RejectDrop     = "drop"
)

// Limits that keep Apply's transaction within one netlink send (measured:
// both at their maximum apply and read back).
const (
	MaxPorts         = 1024
	MaxAllowPrefixes = 1024
)

// DefaultPorts returns the TCP ports docker-mailserver publishes:
// SMTP, POP3, IMAP, submissions, submission, IMAPS, POP3S, ManageSieve.
func DefaultPorts() []uint16 {
	return []uint16{25, 110, 143, 465, 587, 993, 995, 4190}
}

// Posture is what the table should say.
type Posture struct {
	// Table is the name of the inet table; default "dockeripv6".
	Table string
	// IPv6Clients is "refuse" or "allow": what happens to remote IPv6 clients on Ports.
	IPv6Clients string
	// Ports are TCP ports; an empty list means DefaultPorts().
	Ports []uint16
	// AllowIPv6From are IPv6 prefixes that are never refused.
	AllowIPv6From []netip.Prefix
	// RejectWith is "tcp-reset" (default) or "drop". Read leaves it empty for
	// an "allow" table: with no refusing rule it is not stored anywhere.
	RejectWith string
}

// Normalize fills in defaults, checks every field, sorts and de-duplicates
// the ports and puts AllowIPv6From in canonical form (see CanonicalPrefixes).
// Apply writes, and Read returns, postures in this form, so compare the
// normalized configuration with what Read returns.
func (p Posture) Normalize() (Posture, error) {
	n := Posture{Table: p.Table, IPv6Clients: p.IPv6Clients, RejectWith: p.RejectWith}
	if n.Table == "" {
		n.Table = DefaultTable
	}
	if err := ValidateTableName(n.Table); err != nil {
		return Posture{}, err
	}
	switch n.IPv6Clients {
	case IPv6Refuse, IPv6Allow:
	default:
		return Posture{}, fmt.Errorf("ipv6_clients is %q; it must be %q or %q", p.IPv6Clients, IPv6Refuse, IPv6Allow)
	}
	if n.RejectWith == "" {
		n.RejectWith = RejectTCPReset
	}
	switch n.RejectWith {
	case RejectTCPReset, RejectDrop:
	default:
		return Posture{}, fmt.Errorf("reject_with is %q; it must be %q (clients fall back to IPv4 at once) or %q", p.RejectWith, RejectTCPReset, RejectDrop)
	}
	ports := p.Ports
	if len(ports) == 0 {
		ports = DefaultPorts()
	}
	for _, port := range ports {
		if err := ValidatePort(int64(port)); err != nil {
			return Posture{}, err
		}
	}
	n.Ports = slices.Clone(ports)
	slices.Sort(n.Ports)
	n.Ports = slices.Compact(n.Ports)
	if len(n.Ports) > MaxPorts {
		return Posture{}, fmt.Errorf("ports has %d different ports; at most %d are supported", len(n.Ports), MaxPorts)
	}
	for _, pfx := range p.AllowIPv6From {
		if err := validatePrefix(pfx, pfx.String()); err != nil {
			return Posture{}, err
		}
	}
	n.AllowIPv6From = CanonicalPrefixes(p.AllowIPv6From)
	if len(n.AllowIPv6From) > MaxAllowPrefixes {
		return Posture{}, fmt.Errorf("allow_ipv6_from has %d prefixes (after joining neighbours); at most %d are supported", len(n.AllowIPv6From), MaxAllowPrefixes)
	}
	return n, nil
}

// Diff lists, in words, how got (usually Read's result) differs from want
// (usually the configuration). Both are compared in normalized form;
// reject_with is compared only when both say "refuse" (an "allow" table has
// no rule to store it in, and a changed ipv6_clients is reported already).
func Diff(want, got Posture) []string {
	w, err := want.Normalize()
	if err != nil {
		return []string{"configured posture is invalid: " + err.Error()}
	}
	g := got
	if g.Table == "" {
		g.Table = w.Table
	}
	g.Ports = slices.Clone(got.Ports)
	slices.Sort(g.Ports)
	g.Ports = slices.Compact(g.Ports)
	g.AllowIPv6From = CanonicalPrefixes(got.AllowIPv6From)

	var d []string
	if w.Table != g.Table {
		d = append(d, fmt.Sprintf("table: want %q, found %q", w.Table, g.Table))
	}
	if w.IPv6Clients != g.IPv6Clients {
		d = append(d, fmt.Sprintf("ipv6_clients: want %q, found %q", w.IPv6Clients, g.IPv6Clients))
	}
	if !slices.Equal(w.Ports, g.Ports) {
		d = append(d, fmt.Sprintf("ports: want %s, found %s", portList(w.Ports), portList(g.Ports)))
	}
	if !slices.Equal(w.AllowIPv6From, g.AllowIPv6From) {
		d = append(d, fmt.Sprintf("allow_ipv6_from: want %s, found %s", prefixList(w.AllowIPv6From), prefixList(g.AllowIPv6From)))
	}
	if w.IPv6Clients == IPv6Refuse && g.IPv6Clients == IPv6Refuse && w.RejectWith != g.RejectWith {
		d = append(d, fmt.Sprintf("reject_with: want %q, found %q", w.RejectWith, g.RejectWith))
	}
	return d
}

func portList(ps []uint16) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(int(p))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// maxTableNameLen is NFT_TABLE_MAXNAMELEN (256) minus the terminating NUL.
const maxTableNameLen = 255

var tableNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)

// nftKeywords are the words nft 1.0.6 (Debian 12) cannot parse as a table
// name: the kernel would take them, but `nft list table inet <word>` could not
// name the table (quoting does not help). Measured with `nft add table inet
// <word>` over the keywords libnftables knows.
var nftKeywords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`accept add ah all arp auto-merge bridge cgroup chain comment comp
	constant continue counter cpu create ct day dccp define delete describe device devices dnat drop dst
	dup dynamic ecn element elements esp ether exists expires export exthdr fib flags flow flowtable flush
	frag fwd gc-interval get goto handle hbh hook hour ibriport ibrname icmp icmpv6 igmp iif iifgroup
	iifname iiftype import include index inet insert interval ip ip6 ipsec jhash jump limit list log map
	mark masquerade meta meter mh missing monitor netdev nftrace notrack numgen obriport obrname offload
	oif oifgroup oifname oiftype osf pkttype policy position priority queue quota random redefine redirect
	reject rename replace reset return rt rt0 rt2 rtclassid rule ruleset sctp secmark set size skgid skuid
	snat socket srh symhash synproxy table tcp th time timeout tproxy type typeof udp udplite undefine
	update vlan vmap xt`) {
		nftKeywords[w] = true
	}
}

// ValidateTableName checks a table name: 1 to 255 characters, a letter first,
// then letters, digits, '_', '-' or '.', and not an nft keyword.
func ValidateTableName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("table name is empty; use a name such as %q", DefaultTable)
	case len(name) > maxTableNameLen:
		return fmt.Errorf("table name is %d characters long; nftables allows at most %d", len(name), maxTableNameLen)
	case !tableNameRE.MatchString(name):
		return fmt.Errorf("table name %q is not a valid nftables name: it must start with a letter and contain only letters, digits, '_', '-' and '.'", name)
	case nftKeywords[name]:
		return fmt.Errorf("table name %q is an nft keyword: the nft command could not name this table; choose another name such as %q", name, DefaultTable)
	}
	return nil
}

// ValidatePort checks a TCP port number.
func ValidatePort(port int64) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d is out of range: TCP ports are 1 to 65535", port)
	}
	return nil
}

// ValidateAllowPrefix parses and checks one allow_ipv6_from entry: an IPv6
// prefix in CIDR form without host bits.
func ValidateAllowPrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			if a.Is4() {
				return netip.Prefix{}, fmt.Errorf("%q is an IPv4 address; allow_ipv6_from takes IPv6 prefixes such as fd12:3456:789a::/48", s)
			}
			return netip.Prefix{}, fmt.Errorf("%q has no prefix length; write %s/128 for this one address, or a prefix such as fd12:3456:789a::/48", s, a.WithZone(""))
		}
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv6 prefix in CIDR form; allow_ipv6_from takes IPv6 prefixes such as fd12:3456:789a::/48", s)
	}
	if err := validatePrefix(p, s); err != nil {
		return netip.Prefix{}, err
	}
	return p, nil
}

func validatePrefix(p netip.Prefix, s string) error {
	switch {
	case !p.IsValid():
		return fmt.Errorf("%q is not a valid prefix; allow_ipv6_from takes IPv6 prefixes such as fd12:3456:789a::/48", s)
	case p.Addr().Is4():
		return fmt.Errorf("%q is an IPv4 prefix; allow_ipv6_from takes IPv6 prefixes such as fd12:3456:789a::/48", s)
	case p.Addr().Is4In6():
		return fmt.Errorf("%q is an IPv4-mapped prefix; IPv4 clients are never refused, and allow_ipv6_from takes IPv6 prefixes such as fd12:3456:789a::/48", s)
	case p.Masked() != p:
		return fmt.Errorf("%q has host bits set; did you mean %s?", s, p.Masked())
	}
	return nil
}
