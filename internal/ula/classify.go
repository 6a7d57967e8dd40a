package ula

import (
	"fmt"
	"net/netip"
	"strings"
)

// Class is what kind of IPv6 space a prefix lies in.
type Class int

const (
	ClassOther         Class = iota
	ClassULA                 // fd00::/8, RFC 4193 locally assigned
	ClassULAReserved         // fc00::/8, L bit 0: not defined by RFC 4193
	ClassDocumentation       // 2001:db8::/32 (RFC 3849), 3fff::/20 (RFC 9637)
	ClassGlobal              // 2000::/3 outside the ranges above
	ClassLinkLocal           // fe80::/10
	ClassMulticast           // ff00::/8
	ClassSpecial             // ::/128, ::1/128, ::ffff:0:0/96 and other reserved space
)

func (c Class) String() string {
	switch c {
	case ClassULA:
		return "unique local (ULA)"
	case ClassULAReserved:
		return "reserved ULA (fc00::/8, L bit 0)"
	case ClassDocumentation:
		return "documentation"
	case ClassGlobal:
		return "global unicast (GUA)"
	case ClassLinkLocal:
		return "link-local"
	case ClassMulticast:
		return "multicast"
	case ClassSpecial:
		return "special-purpose"
	}
	return "other"
}

var (
	pULA      = netip.MustParsePrefix("fd00::/8")
	pULAL0    = netip.MustParsePrefix("fc00::/8")
	pDoc      = netip.MustParsePrefix("2001:db8::/32")
	pDoc2     = netip.MustParsePrefix("3fff::/20")
	pGlobal   = netip.MustParsePrefix("2000::/3")
	pLL       = netip.MustParsePrefix("fe80::/10")
	pMcast    = netip.MustParsePrefix("ff00::/8")
	pV4Mapped = netip.MustParsePrefix("::ffff:0:0/96")
)

// WellKnownExamples are ULA prefixes copied from documentation pages. RFC 4193
// says Global IDs "MUST NOT be assigned sequentially or with well-known numbers";
// two hosts that copy the same page collide when their sites are joined.
var WellKnownExamples = []struct {
	Prefix netip.Prefix
	Source string
}{
	{netip.MustParsePrefix("fd00:cafe:face:feed::/64"), "docker-mailserver's IPv6 page"},
	{netip.MustParsePrefix("fd00:dead:beef::/48"), "the docker-ipv6nat README"},
	{netip.MustParsePrefix("fd4d:6169:6c63:6f77::/64"), "mailcow (\"Mailcow\" in ASCII)"},
	{netip.MustParsePrefix("fd00:123:4567::/48"), "docker-mailserver's 2021 IPv6 page"},
	{netip.MustParsePrefix("fd00::/48"), "countless examples (Global ID 0)"},
	// This provider's own documentation: ula_prefix("mail.example.org") and the
	// dockeripv6_ula_prefix examples. Copied from here, they collide like any other.
	{netip.MustParsePrefix("fda8:3b4f:4f2c::/48"), `this provider's documentation: ula_prefix("mail.example.org"); seed ula_prefix() with your own host name`},
	{netip.MustParsePrefix("fd3a:9c1e:77b0::/48"), "this provider's documentation (the dockeripv6_ula_prefix examples)"},
}

// Classify says which kind of IPv6 space p lies in. p must be an IPv6 prefix.
func Classify(p netip.Prefix) Class {
	p = p.Masked()
	a := p.Addr()
	switch {
	case pV4Mapped.Contains(a) || a.IsUnspecified() || a.IsLoopback():
		return ClassSpecial
	case pULA.Contains(a):
		return ClassULA
	case pULAL0.Contains(a):
		return ClassULAReserved
	case pDoc.Contains(a) || pDoc2.Contains(a):
		return ClassDocumentation
	case pLL.Contains(a):
		return ClassLinkLocal
	case pMcast.Contains(a):
		return ClassMulticast
	case pGlobal.Contains(a):
		return ClassGlobal
	}
	return ClassSpecial
}

// WellKnownExample reports the documentation source of a well-known example ULA
// that p lies in or overlaps, or "" when p is not one.
func WellKnownExample(p netip.Prefix) string {
	for _, w := range WellKnownExamples {
		if p.Overlaps(w.Prefix) {
			return w.Source
		}
	}
	return ""
}

// Limits are the prefix lengths a check accepts.
type Limits struct{ Min, Max int }

// NetworkLimits are the lengths a Docker bridge network's IPv6 subnet may have:
// no shorter than a site (/48), no longer than /126 (a gateway and one container).
var NetworkLimits = Limits{Min: 48, Max: 126}

// Check parses s as an IPv6 prefix for a Docker network (or daemon.json's
// fixed-cidr-v6) and judges it. An error says what is wrong and what to use
// instead; warnings are for prefixes that work but are a bad idea.
func Check(s string, lim Limits) (netip.Prefix, []string, error) {
	s = strings.TrimSpace(s)
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			return netip.Prefix{}, nil, fmt.Errorf("%q is an address, not a prefix: add the prefix length, for example %s/64", s, a)
		}
		return netip.Prefix{}, nil, fmt.Errorf("%q is not a CIDR prefix: use an IPv6 prefix such as a /64 carved from your own ULA /48, cidrsubnet(ula_prefix(\"<this host's name>\"), 16, 1) (or from a dockeripv6_ula_prefix)", s)
	}
	if p.Addr().Is4() || p.Addr().Is4In6() {
		return netip.Prefix{}, nil, fmt.Errorf("%q is an IPv4 prefix: this attribute takes an IPv6 prefix, such as a /64 carved from your own ULA /48 with cidrsubnet(ula_prefix(\"<this host's name>\"), 16, 1) (IPv4 subnets go in ipv4_subnet)", s)
	}
	if p.Addr().Zone() != "" {
		return netip.Prefix{}, nil, fmt.Errorf("%q has a zone: a subnet has no zone", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, nil, fmt.Errorf("%q has host bits set: the prefix of that address is %s; use that", s, p.Masked())
	}
	// A short prefix (an address pool) may hold space that must not be used without
	// starting in it: judge it by the worst space it overlaps.
	c, verb := Classify(p), "is"
	for _, bad := range []struct {
		p netip.Prefix
		c Class
	}{{pDoc, ClassDocumentation}, {pDoc2, ClassDocumentation}, {pULAL0, ClassULAReserved}, {pLL, ClassLinkLocal}, {pMcast, ClassMulticast}} {
		if c != bad.c && p.Overlaps(bad.p) {
			c, verb = bad.c, "overlaps"
			break
		}
	}
	switch c {
	case ClassDocumentation:
		return netip.Prefix{}, nil, fmt.Errorf("%q %s documentation address space (RFC 3849/9637): it is never routed and must not be used on a real host, even though Docker's own examples use it; use a unique local prefix from ula_prefix() or dockeripv6_ula_prefix instead", s, verb)
	case ClassULAReserved:
		return netip.Prefix{}, nil, fmt.Errorf("%q %s fc00::/8, the ULA half with the L bit 0, which RFC 4193 leaves undefined; locally assigned ULAs start with fd, for example from ula_prefix() or dockeripv6_ula_prefix", s, strings.Replace(verb, "is", "is in", 1))
	case ClassLinkLocal, ClassMulticast, ClassSpecial, ClassOther:
		return netip.Prefix{}, nil, fmt.Errorf("%q %s %s address space and cannot hold a network's subnet; use a unique local prefix (fd00::/8) such as one carved from ula_prefix()", s, verb, c)
	}
	if lim.Min == lim.Max && p.Bits() != lim.Min {
		return netip.Prefix{}, nil, fmt.Errorf("%q is a /%d; this takes a /%d only, for example %s", s, p.Bits(), lim.Min, netip.PrefixFrom(p.Addr(), lim.Min).Masked())
	}
	if p.Bits() > lim.Max {
		if lim.Max < 64 {
			return netip.Prefix{}, nil, fmt.Errorf("%q is a /%d: this takes at most a /%d, for example %s", s, p.Bits(), lim.Max, netip.PrefixFrom(p.Addr(), lim.Max).Masked())
		}
		return netip.Prefix{}, nil, fmt.Errorf("%q is a /%d: longer than /%d leaves no room for a gateway and containers; use a /64 (Docker's default size) or at most /%d", s, p.Bits(), lim.Max, lim.Max)
	}
	if p.Bits() < lim.Min {
		return netip.Prefix{}, nil, fmt.Errorf("%q is a /%d: shorter than /%d is more than a whole site; use a /64 carved from a /48, for example cidrsubnet(ula_prefix(\"host\"), 16, 1)", s, p.Bits(), lim.Min)
	}
	var warnings []string
	switch c {
	case ClassULA:
		if src := WellKnownExample(p); src != "" {
			warnings = append(warnings, fmt.Sprintf("%s is a well-known example prefix (from %s). RFC 4193 Global IDs must be random so that joined sites do not collide; generate one with the dockeripv6_ula_prefix resource or the ula_prefix() function.", p, src))
		}
	case ClassGlobal:
		warnings = append(warnings, fmt.Sprintf("%s is global unicast (GUA) space: containers on it are reachable from the Internet without NAT wherever the route exists, so the host firewall must filter it (dockeripv6_firewall), and a subnet of the provider's on-link /64 needs NDP proxying (ndppd or proxy_ndp) to be reachable. A ULA subnet with Docker's ip6tables NAT avoids both.", p))
	}
	return p, warnings, nil
}
