package firewall

import (
	"net/netip"
	"slices"
)

// span is an inclusive range of IPv6 addresses.
type span struct{ lo, hi netip.Addr }

var maxIPv6 = netip.AddrFrom16([16]byte{
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

// mergeSpans sorts spans and joins overlapping and adjacent ones.
func mergeSpans(in []span) []span {
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b span) int { return a.lo.Compare(b.lo) })
	var out []span
	for _, x := range s {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.hi == maxIPv6 || x.lo.Compare(last.hi.Next()) <= 0 {
				if x.hi.Compare(last.hi) > 0 {
					last.hi = x.hi
				}
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// spanPrefixes splits an address range into the fewest CIDR prefixes.
func spanPrefixes(s span) []netip.Prefix {
	var out []netip.Prefix
	lo := s.lo
	for {
		// The largest block that starts at lo and ends at or before hi.
		var p netip.Prefix
		for bits := 0; bits <= 128; bits++ {
			c := netip.PrefixFrom(lo, bits)
			if c.Masked().Addr() != lo || lastAddr(c).Compare(s.hi) > 0 {
				continue
			}
			p = c
			break
		}
		out = append(out, p)
		end := lastAddr(p)
		if end.Compare(s.hi) >= 0 || end == maxIPv6 {
			return out
		}
		lo = end.Next()
	}
}

func prefixSpans(ps []netip.Prefix) []span {
	var spans []span
	for _, p := range ps {
		if !p.IsValid() || !p.Addr().Is6() || p.Addr().Is4In6() {
			continue
		}
		p = netip.PrefixFrom(p.Addr().WithZone(""), p.Bits()).Masked()
		spans = append(spans, span{p.Addr(), lastAddr(p)})
	}
	return mergeSpans(spans)
}

// CanonicalPrefixes returns the smallest sorted list of IPv6 prefixes that
// covers exactly the same addresses as ps: host bits cleared, duplicates and
// prefixes inside others dropped, neighbours joined (fd00::/16 and fd01::/16
// become fd00::/15). Entries that are not IPv6 prefixes are ignored (validate
// them first). The kernel stores the allow set as address ranges, so this is
// the form Read returns.
func CanonicalPrefixes(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range prefixSpans(ps) {
		out = append(out, spanPrefixes(s)...)
	}
	return out
}
