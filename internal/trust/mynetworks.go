package trust

import (
	"fmt"
	"net/netip"
	"strings"
)

// splitList splits a Postfix list value: entries separated by commas and/or
// whitespace.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
}

// parseMynetworks is the match list of a mynetworks value (postconf(5)):
// network/netmask patterns, IPv6 inside [], "!" to negate, /file/name and
// type:table entries (not read here), host and domain names (matched against
// the client's reverse DNS, not judged here).
func parseMynetworks(v string) []Entry {
	var out []Entry
	for _, tok := range splitList(v) {
		out = append(out, parseNetPattern(tok))
	}
	return out
}

func parseNetPattern(tok string) Entry {
	neg := false
	pat := tok
	for strings.HasPrefix(pat, "!") {
		neg = !neg
		pat = pat[1:]
	}
	e := netPattern(pat)
	e.Text, e.Negated = tok, neg
	return e
}

func netPattern(pat string) Entry {
	switch {
	case pat == "":
		return Entry{Unknown: "an empty pattern"}
	case strings.HasPrefix(pat, "/"):
		return Entry{Unknown: "a pattern file, not read"}
	case strings.HasPrefix(pat, "{"):
		return Entry{Unknown: "a {...} group, not read"}
	case strings.HasPrefix(pat, "["):
		end := strings.Index(pat, "]")
		if end < 0 {
			return Entry{Unknown: "a [ without ]"}
		}
		return addrPattern(pat[1:end], pat[end+1:], pat)
	case strings.Contains(pat, ":"):
		return Entry{Unknown: "a type:table lookup, not read (an IPv6 address must be written inside [])"}
	}
	addr, bits, _ := strings.Cut(pat, "/")
	if bits != "" {
		bits = "/" + bits
	}
	if _, err := netip.ParseAddr(addr); err != nil {
		return Entry{Unknown: "a host or domain name, matched against the client's reverse DNS"}
	}
	return addrPattern(addr, bits, pat)
}

// addrPattern is "addr" or "addr" + "/bits" as Postfix matches it: a bare
// address is that host; host bits set under the mask make Postfix refuse the
// whole list ("non-null host address bits").
func addrPattern(addr, bits, pat string) Entry {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return Entry{Unknown: fmt.Sprintf("%q is not an IP address", addr)}
	}
	if bits == "" {
		a = a.Unmap()
		return Entry{Prefixes: []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}}
	}
	p, err := netip.ParsePrefix(a.String() + bits)
	if err != nil {
		return Entry{Unknown: fmt.Sprintf("%q is not a network/netmask pattern", pat)}
	}
	if p.Masked() != p {
		return Entry{Unknown: fmt.Sprintf("non-null host address bits in %q (Postfix refuses it; perhaps %q was meant)", pat, p.Masked())}
	}
	if a.Is4In6() && p.Bits() >= 96 {
		// Clients are judged unmapped (Contains), so [::ffff:127.0.0.0]/104 is
		// 127.0.0.0/8. (Shorter prefixes have host bits set: refused above.)
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return Entry{Prefixes: []netip.Prefix{p}}
}

// plainPrefix is a network written without Postfix's brackets, as Mailu's
// SUBNET6 and RELAYNETS are (brackets, if any, are dropped, as Mailu does).
func plainPrefix(s string) Entry {
	s = strings.NewReplacer("[", "", "]", "").Replace(strings.TrimSpace(s))
	addr, bits, _ := strings.Cut(s, "/")
	if bits != "" {
		bits = "/" + bits
	}
	e := addrPattern(addr, bits, s)
	e.Text = s
	return e
}

// mailu is the source Mailu's Postfix main.cf template makes of SUBNET,
// SUBNET6 and RELAYNETS (comma-separated): mynetworks = 127.0.0.1/32
// SUBNET [::1]/128 SUBNET6 RELAYNETS. Nil when none is set.
func mailu(env map[string]string) *Source {
	var names []string
	var entries []Entry
	for _, k := range []string{"SUBNET", "SUBNET6", "RELAYNETS"} {
		v, ok := env[k]
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		names = append(names, k+"="+v)
		for _, part := range strings.Split(v, ",") {
			if strings.TrimSpace(part) != "" {
				entries = append(entries, plainPrefix(part))
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	return &Source{Name: "Mailu " + strings.Join(names, ", "), Entries: entries}
}
