package firewall

import (
	"net/netip"
	"slices"
)

// Range is an inclusive range of IPv6 addresses: the form in which the kernel
// stores an interval set such as allow_ipv6_from.
type Range struct{ First, Last netip.Addr }

// MaxIPv6 is the last IPv6 address, ffff:ffff:...:ffff.
var MaxIPv6 = netip.AddrFrom16([16]byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
})

// lastAddr is the highest address inside p (p must be masked).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}

// mergeRanges sorts ranges and joins overlapping and adjacent ones.
func mergeRanges(in []Range) []Range {
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b Range) int { return a.First.Compare(b.First) })
	var out []Range
	for _, x := range s {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.Last == MaxIPv6 || x.First.Compare(last.Last.Next()) <= 0 {
				if x.Last.Compare(last.Last) > 0 {
					last.Last = x.Last
				}
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// rangePrefixes splits an address range into the fewest CIDR prefixes.
func rangePrefixes(s Range) []netip.Prefix {
	var out []netip.Prefix
	lo := s.First
	for {
		// The largest block that starts at lo and ends at or before hi.
		var p netip.Prefix
		for bits := 0; bits <= 128; bits++ {
			c := netip.PrefixFrom(lo, bits)
			if c.Masked().Addr() != lo || lastAddr(c).Compare(s.Last) > 0 {
				continue
			}
			p = c
			break
		}
		out = append(out, p)
		end := lastAddr(p)
		if end.Compare(s.Last) >= 0 || end == MaxIPv6 {
			return out
		}
		lo = end.Next()
	}
}

// PrefixRanges is the IPv6 prefixes of ps as sorted, merged address ranges
// (entries that are not IPv6 prefixes are ignored).
func PrefixRanges(ps []netip.Prefix) []Range {
	var rs []Range
	for _, p := range ps {
		if !p.IsValid() || !p.Addr().Is6() || p.Addr().Is4In6() {
			continue
		}
		p = netip.PrefixFrom(p.Addr().WithZone(""), p.Bits()).Masked()
		rs = append(rs, Range{p.Addr(), lastAddr(p)})
	}
	return mergeRanges(rs)
}

// CanonicalPrefixes returns the smallest sorted list of IPv6 prefixes that
// covers exactly the same addresses as ps: host bits cleared, duplicates and
// prefixes inside others dropped, neighbours joined (fd00::/16 and fd01::/16
// become fd00::/15). Entries that are not IPv6 prefixes are ignored (validate
// them first). The kernel stores the allow set as address ranges, so this is
// the form Read returns.
func CanonicalPrefixes(ps []netip.Prefix) []netip.Prefix {
	return RangePrefixes(PrefixRanges(ps))
}

// RangePrefixes is the smallest sorted list of CIDR prefixes covering exactly
// the addresses in rs (ranges may overlap or touch).
func RangePrefixes(rs []Range) []netip.Prefix {
	var out []netip.Prefix
	for _, r := range mergeRanges(rs) {
		out = append(out, rangePrefixes(r)...)
	}
	return out
}
