package trust

import (
	"fmt"
	"net/netip"
	"strings"
)

// Set is what a container trusts: the union of its Sources. The zero Set
// knows nothing (Contains is nil for every address).
type Set struct {
	// List are the sources that were read, in the order Read reads them.
	List []Source
	// Unknown says what could not be read or judged for the container as a
	// whole (no source found, main.cf unreadable); when it is non-empty an
	// address no source trusts is unknown, not untrusted.
	Unknown []string
}

// Source is one place trust comes from, as an ordered match list (Postfix
// semantics: the first entry that matches decides, "!" negates).
type Source struct {
	// Name says where it came from, in plain words: "PERMIT_DOCKER=connected-networks",
	// "main.cf mynetworks", "main.cf mynetworks_style = subnet".
	Name    string
	Entries []Entry
}

// Entry is one pattern of a Source.
type Entry struct {
	// Text is the pattern as written (or as made: "198.18.0.0/24").
	Text string
	// Prefixes are what it matches. More than one are alternatives of which
	// only one applies, and which one could not be told (the interface
	// PERMIT_DOCKER=container reads on a container with several networks):
	// the entry matches when all of them contain the address, does not when
	// none does, and is unknown otherwise.
	Prefixes []netip.Prefix
	// Negated is a "!pattern": a match means "not trusted" and ends the list.
	Negated bool
	// Unknown, when not "", is why the entry cannot be judged here
	// ("a table lookup", "a host name"); Prefixes are then empty.
	Unknown string
}

// Sources names every source, for a plain-words detail.
func (s Set) Sources() []string {
	out := make([]string, 0, len(s.List))
	for _, src := range s.List {
		out = append(out, src.Name)
	}
	return out
}

// Prefixes lists each known prefix with the source it came from, as
// "198.18.0.0/24 (PERMIT_DOCKER=connected-networks)"; negated entries are
// written with "!".
func (s Set) Prefixes() []string {
	var out []string
	for _, src := range s.List {
		for _, e := range src.Entries {
			for _, p := range e.Prefixes {
				neg := ""
				if e.Negated {
					neg = "!"
				}
				out = append(out, fmt.Sprintf("%s%s (%s)", neg, p, src.Name))
			}
		}
	}
	return out
}

// Contains says whether a client at a is trusted: true when a source trusts
// it, false when every source was read and none does, nil when that cannot
// be told. IPv4-mapped IPv6 addresses are judged as IPv4, as Postfix's smtpd
// does.
func (s Set) Contains(a netip.Addr) (trusted *bool) {
	yes, no := true, false
	unknown := len(s.Unknown) > 0 || len(s.List) == 0
	for _, src := range s.List {
		switch r := src.Contains(a); {
		case r == nil:
			unknown = true
		case *r:
			return &yes
		}
	}
	if unknown || !a.IsValid() {
		return nil
	}
	return &no
}

// Why names the sources and entries that trust a, for a message:
// "PERMIT_DOCKER=connected-networks (198.18.0.0/24)". Empty when none does.
func (s Set) Why(a netip.Addr) string {
	var parts []string
	for _, src := range s.List {
		if r := src.Contains(a); r != nil && *r {
			parts = append(parts, fmt.Sprintf("%s (%s)", src.Name, src.matching(a)))
		}
	}
	return strings.Join(parts, "; ")
}

func (src Source) matching(a netip.Addr) string {
	a = a.Unmap()
	for _, e := range src.Entries {
		if m := e.match(a); m != nil && *m && !e.Negated {
			return e.Text
		}
	}
	return ""
}

// Contains evaluates the source's list for a as Postfix evaluates a match
// list: entries in order, the first match decides. An entry that cannot be
// judged and comes before the deciding one makes the answer unknown, unless
// every way it could go gives the same answer.
func (src Source) Contains(a netip.Addr) *bool {
	if !a.IsValid() {
		return nil
	}
	a = a.Unmap()
	yes, no := true, false
	var unsurePos, unsureNeg bool
	for _, e := range src.Entries {
		m := e.match(a)
		switch {
		case m == nil && e.Negated:
			unsureNeg = true
		case m == nil:
			unsurePos = true
		case !*m:
		case e.Negated:
			// Not trusted here, unless an earlier unsure entry trusted it first.
			if unsurePos {
				return nil
			}
			return &no
		default:
			// Trusted here, unless an earlier unsure "!" entry matched first.
			if unsureNeg {
				return nil
			}
			return &yes
		}
	}
	if unsurePos {
		return nil
	}
	return &no
}

// match is whether e's pattern matches a (not yet negated); nil when unknown.
func (e Entry) match(a netip.Addr) *bool {
	if e.Unknown != "" || len(e.Prefixes) == 0 {
		return nil
	}
	in := 0
	for _, p := range e.Prefixes {
		if p.Contains(a) {
			in++
		}
	}
	yes, no := true, false
	switch in {
	case len(e.Prefixes):
		return &yes
	case 0:
		return &no
	}
	return nil
}

// known is an entry of one prefix.
func known(p netip.Prefix) Entry { return Entry{Text: p.String(), Prefixes: []netip.Prefix{p}} }
