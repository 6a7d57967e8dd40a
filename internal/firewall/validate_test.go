package firewall

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestValidateTableName(t *testing.T) {
	for _, ok := range []string{"dockeripv6", "mail-v6", "a", "Ab9.x_y-z", "filter", strings.Repeat("a", 255)} {
		if err := ValidateTableName(ok); err != nil {
			t.Errorf("ValidateTableName(%q) = %v, want nil", ok, err)
		}
	}
	for name, want := range map[string]string{
		"":                       `table name is empty; use a name such as "dockeripv6"`,
		strings.Repeat("a", 256): "table name is 256 characters long; nftables allows at most 255",
		"1abc":                   `table name "1abc" is not a valid nftables name: it must start with a letter and contain only letters, digits, '_', '-' and '.'`,
		"_x":                     "it must start with a letter",
		"a b":                    "contain only letters, digits, '_', '-' and '.'",
		"a/b":                    "contain only letters, digits, '_', '-' and '.'",
		"tablé":                  "contain only letters, digits, '_', '-' and '.'",
		"table":                  `table name "table" is an nft keyword`,
		"inet":                   `table name "inet" is an nft keyword: the nft command could not name this table`,
	} {
		err := ValidateTableName(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateTableName(%q) = %v, want an error containing %q", name, err, want)
		}
	}
}

func TestValidatePort(t *testing.T) {
	for _, ok := range []int64{1, 25, 65535} {
		if err := ValidatePort(ok); err != nil {
			t.Errorf("ValidatePort(%d) = %v", ok, err)
		}
	}
	for port, want := range map[int64]string{
		0:     "port 0 is out of range: TCP ports are 1 to 65535",
		65536: "port 65536 is out of range: TCP ports are 1 to 65535",
		-25:   "port -25 is out of range: TCP ports are 1 to 65535",
	} {
		if err := ValidatePort(port); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidatePort(%d) = %v, want %q", port, err, want)
		}
	}
}

func TestValidateAllowPrefix(t *testing.T) {
	for s, want := range map[string]string{
		"fd12:3456:789a::/48": "fd12:3456:789a::/48",
		" fd00::/8 ":          "fd00::/8",
		"fd00:d0c:1::3/128":   "fd00:d0c:1::3/128",
		"::/0":                "::/0",
	} {
		p, err := ValidateAllowPrefix(s)
		if err != nil || p.String() != want {
			t.Errorf("ValidateAllowPrefix(%q) = %v, %v; want %s", s, p, err, want)
		}
	}
	for s, want := range map[string]string{
		"198.18.0.0/15":         `"198.18.0.0/15" is an IPv4 prefix; allow_ipv6_from takes IPv6 prefixes such as fd12:3456:789a::/48`,
		"198.18.0.1":            `"198.18.0.1" is an IPv4 address; allow_ipv6_from takes IPv6 prefixes such as fd12:3456:789a::/48`,
		"fd12:3456:789a::1/48":  `"fd12:3456:789a::1/48" has host bits set; did you mean fd12:3456:789a::/48?`,
		"fd12::1":               `"fd12::1" has no prefix length; write fd12::1/128 for this one address`,
		"::ffff:198.18.0.0/120": `"::ffff:198.18.0.0/120" is an IPv4-mapped prefix`,
		"fd12::/129":            `"fd12::/129" is not an IPv6 prefix in CIDR form`,
		"mail.example":          `"mail.example" is not an IPv6 prefix in CIDR form; allow_ipv6_from takes IPv6 prefixes such as fd12:3456:789a::/48`,
		"":                      `"" is not an IPv6 prefix in CIDR form`,
	} {
		if _, err := ValidateAllowPrefix(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateAllowPrefix(%q) = %v, want an error containing %q", s, err, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	n, err := Posture{IPv6Clients: IPv6Refuse, Ports: []uint16{587, 25, 587}, AllowIPv6From: []netip.Prefix{netip.MustParsePrefix("fd00:1::/64"), netip.MustParsePrefix("fd00:1:0:1::/64"), netip.MustParsePrefix("fd00::/8")}}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if n.Table != DefaultTable || n.RejectWith != RejectTCPReset || !slices.Equal(n.Ports, []uint16{25, 587}) ||
		!slices.Equal(n.AllowIPv6From, []netip.Prefix{netip.MustParsePrefix("fd00::/8")}) {
		t.Errorf("Normalize = %+v", n)
	}
	n, err = Posture{IPv6Clients: IPv6Allow}.Normalize()
	if err != nil || !slices.Equal(n.Ports, DefaultPorts()) {
		t.Errorf("Normalize default ports = %v, %v", n.Ports, err)
	}
	for p, want := range map[*Posture]string{
		{}:                    `ipv6_clients is ""; it must be "refuse" or "allow"`,
		{IPv6Clients: "deny"}: `ipv6_clients is "deny"; it must be "refuse" or "allow"`,
		{IPv6Clients: IPv6Refuse, RejectWith: "reset"}:                                                                 `reject_with is "reset"; it must be "tcp-reset" (clients fall back to IPv4 at once) or "drop"`,
		{IPv6Clients: IPv6Refuse, Ports: []uint16{0}}:                                                                  "port 0 is out of range: TCP ports are 1 to 65535",
		{IPv6Clients: IPv6Refuse, Table: "9"}:                                                                          `table name "9" is not a valid nftables name`,
		{IPv6Clients: IPv6Refuse, AllowIPv6From: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}}:               `"198.18.0.0/15" is an IPv4 prefix; allow_ipv6_from takes IPv6 prefixes such as fd12:3456:789a::/48`,
		{IPv6Clients: IPv6Refuse, AllowIPv6From: []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("fd00::1"), 64)}}: `"fd00::1/64" has host bits set; did you mean fd00::/64?`,
	} {
		if _, err := p.Normalize(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Normalize(%+v) = %v, want %q", *p, err, want)
		}
	}
}

func TestCanonicalPrefixes(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{nil, nil},
		{[]string{"fd00::/8"}, []string{"fd00::/8"}},
		{[]string{"fd00:1::/64", "fd00:1:0:1::/64"}, []string{"fd00:1::/63"}},
		{[]string{"fd00:1:0:1::/64", "fd00:1:0:2::/64"}, []string{"fd00:1:0:1::/64", "fd00:1:0:2::/64"}},
		{[]string{"fd00:1:0:1::/64", "fd00:1:0:2::/64", "fd00:1:0:3::/64"}, []string{"fd00:1:0:1::/64", "fd00:1:0:2::/63"}},
		{[]string{"fd12:3456:789a:1::/64", "fd12:3456:789a::/48", "fd12:3456:789a::/48"}, []string{"fd12:3456:789a::/48"}},
		{[]string{"ff00::/8", "fe00::/8"}, []string{"fe00::/7"}},
		{[]string{"::/0", "fd00::/8"}, []string{"::/0"}},
		{[]string{"::/1", "8000::/1"}, []string{"::/0"}},
		{[]string{"fd00::5/128", "fd00::4/128", "fd00::6/128", "fd00::7/128"}, []string{"fd00::4/126"}},
	} {
		var in []netip.Prefix
		for _, s := range tc.in {
			in = append(in, netip.MustParsePrefix(s))
		}
		got := CanonicalPrefixes(in)
		var gs []string
		for _, p := range got {
			gs = append(gs, p.String())
		}
		if !slices.Equal(gs, tc.want) {
			t.Errorf("CanonicalPrefixes(%v) = %v, want %v", tc.in, gs, tc.want)
		}
	}
}

func TestDiffWords(t *testing.T) {
	want := Posture{IPv6Clients: IPv6Refuse, RejectWith: RejectDrop}
	got := Posture{Table: DefaultTable, IPv6Clients: IPv6Refuse, RejectWith: RejectTCPReset, Ports: DefaultPorts()}
	if d := Diff(want, got); !slices.Equal(d, []string{`reject_with: want "drop", found "tcp-reset"`}) {
		t.Errorf("Diff = %q", d)
	}
	// reject_with is not compared for allow.
	if d := Diff(Posture{IPv6Clients: IPv6Allow, RejectWith: RejectDrop}, Posture{IPv6Clients: IPv6Allow, Ports: DefaultPorts()}); d != nil {
		t.Errorf("Diff(allow, allow) = %q", d)
	}
}
