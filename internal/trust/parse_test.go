package trust

import (
	"net/netip"
	"strings"
	"testing"
)

// The first match decides; an entry that cannot be judged decides the answer
// only when it could change it.
func TestSourceContainsOrder(t *testing.T) {
	table := Entry{Text: "hash:/etc/postfix/t", Unknown: "a table"}
	notTable := Entry{Text: "!hash:/etc/postfix/t", Unknown: "a table", Negated: true}
	net := known(pfx("198.18.5.0/24"))
	notNet := Entry{Text: "!198.18.5.0/24", Prefixes: []netip.Prefix{pfx("198.18.5.0/24")}, Negated: true}
	a := addr("198.18.5.1")
	for _, tt := range []struct {
		name    string
		entries []Entry
		want    want
	}{
		{"empty", nil, untrusted},
		{"match", []Entry{net}, trusted},
		{"table then match", []Entry{table, net}, trusted},
		{"negated table then match", []Entry{notTable, net}, unknown},
		{"negated match", []Entry{notNet, net}, untrusted},
		{"table then negated match", []Entry{table, notNet}, unknown},
		{"negated table then negated match", []Entry{notTable, notNet}, untrusted},
		{"only a negated table", []Entry{notTable}, untrusted},
		{"only a table", []Entry{table}, unknown},
		{"match then table", []Entry{net, table}, trusted},
		{"alternatives disagree", []Entry{{Prefixes: []netip.Prefix{pfx("198.18.0.0/16"), pfx("198.19.0.0/16")}}}, unknown},
		{"alternatives agree", []Entry{{Prefixes: []netip.Prefix{pfx("198.18.0.0/16"), pfx("198.18.5.0/24")}}}, trusted},
	} {
		if g := got(Source{Entries: tt.entries}.Contains(a)); g != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, g, tt.want)
		}
	}
	if got((Set{}).Contains(a)) != unknown {
		t.Error("the zero Set knows something")
	}
	if got((Set{List: []Source{{Name: "x", Entries: []Entry{net}}}}).Contains(netip.Addr{})) != unknown {
		t.Error("the invalid address is judged")
	}
}

func TestParseMainCF(t *testing.T) {
	cf := ParseMainCF([]byte("a = 1\n  # comment inside\n\t2\nb=x = y\n# c = 3\nnot a line\n  orphan\nd = old\nd = new  \n\ne =\n"))
	for k, v := range map[string]string{"a": "1 2", "b": "x = y", "d": "new", "e": ""} {
		if got, ok := cf[k]; !ok || got != v {
			t.Errorf("%s = %q (%v), want %q", k, got, ok, v)
		}
	}
	if _, ok := cf["c"]; ok {
		t.Error("a comment was read")
	}
	if len(cf) != 4 {
		t.Errorf("parsed %v", cf)
	}
}

// References that cannot be expanded say why; the value is then unknown.
func TestExpandErrors(t *testing.T) {
	cf := MainCF{"loop": "$loop", "set": "yes", "empty": ""}
	for v, want := range map[string]string{
		"$nosuch":              "$nosuch is not set in main.cf",
		"${nosuch?x}":          "refers to nosuch, which main.cf does not set",
		"$loop":                "nest deeper than",
		"${set?{a}:{b}}":       "does not evaluate",
		"${{$set} == {yes}?x}": "does not evaluate",
		"${set":                "without its closing }",
		"$-x":                  "a $ not followed by a parameter name",
		"$":                    "a lone $",
		"${set!x}":             "is not a parameter reference",
		"$()":                  "without a parameter name",
	} {
		_, err := cf.Expand(v)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Expand(%q) = %v, want %q", v, err, want)
		}
	}
	for v, want := range map[string]string{"$set ${set} $(set)": "yes yes yes", "${set?on}${empty?off}": "on", "${empty:dflt}${set:no}": "dflt", "$$set": "$set"} {
		if got, err := cf.Expand(v); err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", v, got, err, want)
		}
	}
}

// Each pattern Postfix cannot match here says why.
func TestNetPatternUnknown(t *testing.T) {
	for pat, want := range map[string]string{
		"/etc/postfix/trusted":   "a pattern file",
		"cidr:/etc/postfix/nets": "a type:table lookup",
		"fd7e::/64":              "must be written inside []",
		"mail.example.org":       "a host or domain name",
		"198.18.5.1/24":          `non-null host address bits in "198.18.5.1/24" (Postfix refuses it; perhaps "198.18.5.0/24" was meant)`,
		"[fd7e::1/64":            "a [ without ]",
		"[fd7e::1%eth0]":         "is not an IP address",
		"198.18.5.0/33":          "is not a network/netmask pattern",
		"{ 198.18.0.0/15 }":      "a {...} group",
	} {
		if e := netPattern(pat); !strings.Contains(e.Unknown, want) {
			t.Errorf("%q: %q, want %q", pat, e.Unknown, want)
		}
	}
	if e := parseNetPattern("!![fd7e::]/64"); e.Negated || len(e.Prefixes) != 1 || e.Prefixes[0] != pfx("fd7e::/64") {
		t.Errorf("double negation: %+v", e)
	}
}
