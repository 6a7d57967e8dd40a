package daemonconfig

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

var (
	v19_03 = DockerVersion{Major: 19, Minor: 3, Patch: 15}
	v20_10 = DockerVersion{Major: 20, Minor: 10, Patch: 24}
	v26_1  = DockerVersion{Major: 26, Minor: 1, Patch: 5}
	v27_0  = DockerVersion{Major: 27, Minor: 0, Patch: 1}
	v27_5  = DockerVersion{Major: 27, Minor: 5, Patch: 1}
	v28_0  = DockerVersion{Major: 28, Minor: 0, Patch: 0}
	v29_x  = DockerVersion{Major: 29, Minor: 1, Patch: 3}
	v29api = DockerVersion{Major: 29, Minor: 0, Raw: "API 1.56", FromAPI: true}
)

// attributeNames keeps the expectations below in the words the tests were
// written in (the resource's attribute names).
var attributeNames = map[string]string{
	KeyIPv6: "default_bridge_ipv6", KeyFixedCIDRv6: "fixed_cidr_v6", KeyIP6Tables: "ip6tables",
	KeyExperimental: "experimental", KeyUserlandProxy: "userland_proxy",
	KeyDefaultAddressPools: "default_address_pools", KeyLiveRestore: "live_restore",
}

// summary renders diagnostics as "severity attribute[index].field" strings, sorted.
func summary(diags []Diagnostic) []string {
	var out []string
	for _, d := range diags {
		s := d.Severity.String() + " " + attributeNames[d.Key]
		if d.Index >= 0 {
			s += fmt.Sprintf("[%d]", d.Index)
		}
		if d.Field != "" {
			s += "." + d.Field
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func expectDiags(t *testing.T, diags []Diagnostic, want ...string) {
	t.Helper()
	sort.Strings(want)
	got := summary(diags)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		var b strings.Builder
		for _, d := range diags {
			b.WriteString("\n  " + d.String())
		}
		t.Fatalf("diagnostics %q, want %q%s", got, want, b.String())
	}
	for _, d := range diags {
		if d.Summary == "" || len(d.Detail) < 40 {
			t.Errorf("diagnostic without a useful summary/detail: %+v", d)
		}
	}
}

func TestVersionRules(t *testing.T) {
	ip6tOnly := Settings{IP6Tables: Bool(true)}
	ip6tExp := Settings{IP6Tables: Bool(true), Experimental: Bool(true)}
	ipv6Only := Settings{IPv6: Bool(true)}
	ipv6Fixed := Settings{IPv6: Bool(true), FixedCIDRv6: String("fd12:3456:789a:1::/64")}
	tests := []struct {
		name string
		s    Settings
		v    DockerVersion
		want []string
	}{
		{"19.03 has no ip6tables", Settings{IP6Tables: Bool(false)}, v19_03, []string{"error ip6tables"}},
		{"20.10 ip6tables without experimental", ip6tOnly, v20_10, []string{"error ip6tables"}},
		{"20.10 ip6tables with experimental false", Settings{IP6Tables: Bool(true), Experimental: Bool(false)}, v20_10, []string{"error ip6tables"}},
		{"20.10 ip6tables with experimental", ip6tExp, v20_10, nil},
		{"20.10 ip6tables false needs nothing", Settings{IP6Tables: Bool(false)}, v20_10, nil},
		{"26.1 ip6tables without experimental", ip6tOnly, v26_1, []string{"error ip6tables"}},
		{"26.1 ip6tables with experimental", ip6tExp, v26_1, nil},
		{"27.0 ip6tables alone", ip6tOnly, v27_0, nil},
		{"27.0 ip6tables with experimental warns", ip6tExp, v27_0, []string{"warning experimental"}},
		{"27.5 experimental with ip6tables unset (on by default) warns", Settings{Experimental: Bool(true)}, v27_5, []string{"warning experimental"}},
		{"27.5 experimental with ip6tables false", Settings{Experimental: Bool(true), IP6Tables: Bool(false)}, v27_5, nil},
		{"26.1 experimental alone", Settings{Experimental: Bool(true)}, v26_1, nil},
		{"28.0 ip6tables with experimental warns", ip6tExp, v28_0, []string{"warning experimental"}},
		{"29.x ip6tables with experimental warns", ip6tExp, v29_x, []string{"warning experimental"}},
		{"20.10 ipv6 without fixed-cidr-v6", ipv6Only, v20_10, []string{"error default_bridge_ipv6"}},
		{"20.10 ipv6 with empty fixed-cidr-v6", Settings{IPv6: Bool(true), FixedCIDRv6: String("")}, v20_10, []string{"error default_bridge_ipv6", "error fixed_cidr_v6"}},
		{"20.10 ipv6 with fixed-cidr-v6", ipv6Fixed, v20_10, nil},
		{"26.1 ipv6 without fixed-cidr-v6", ipv6Only, v26_1, []string{"error default_bridge_ipv6"}},
		{"27.0 ipv6 without fixed-cidr-v6", ipv6Only, v27_0, []string{"error default_bridge_ipv6"}},
		{"27.5 ipv6 without fixed-cidr-v6", ipv6Only, v27_5, []string{"error default_bridge_ipv6"}},
		{"28.0 ipv6 without fixed-cidr-v6", ipv6Only, v28_0, nil},
		{"29.x ipv6 without fixed-cidr-v6", ipv6Only, v29_x, nil},
		{"29 from API ipv6 without fixed-cidr-v6", ipv6Only, v29api, nil},
		{"ipv6 false needs nothing", Settings{IPv6: Bool(false)}, v20_10, nil},
		{"unknown version: no version rules", Settings{IPv6: Bool(true), IP6Tables: Bool(true)}, DockerVersion{}, nil},
		{"userland-proxy false, no IPv6 path: no diagnostic (20.10)", Settings{UserlandProxy: Bool(false)}, v20_10, nil},
		{"userland-proxy false, no IPv6 path: no diagnostic (29)", Settings{UserlandProxy: Bool(false), IPv6: Bool(false), IP6Tables: Bool(false)}, v29_x, nil},
		{"both 20.10 errors at once", Settings{IPv6: Bool(true), IP6Tables: Bool(true)}, v20_10, []string{"error default_bridge_ipv6", "error ip6tables"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectDiags(t, Validate(tt.s, tt.v), tt.want...)
		})
	}
}

func TestValidateChangeUsesEffectiveSettings(t *testing.T) {
	file := Settings{Experimental: Bool(true), FixedCIDRv6: String("fd12:3456:789a:1::/64")}
	// the file already has experimental: managing only ip6tables is fine on 20.10
	expectDiags(t, ValidateChange(file, Settings{IP6Tables: Bool(true)}, v20_10))
	// ... and fixed-cidr-v6 from the file satisfies ipv6
	expectDiags(t, ValidateChange(file, Settings{IPv6: Bool(true)}, v26_1))
	// turning experimental off while the file has ip6tables: true is attributed to experimental
	diags := ValidateChange(Settings{IP6Tables: Bool(true), Experimental: Bool(true)}, Settings{Experimental: Bool(false)}, v20_10)
	expectDiags(t, diags, "error experimental")
	// an error that comes only from the file is still reported, marked as such
	diags = ValidateChange(Settings{IPv6: Bool(true)}, Settings{LiveRestore: Bool(true)}, v20_10)
	expectDiags(t, diags, "error default_bridge_ipv6")
	if !strings.Contains(diags[0].Detail, "not managed by this resource") {
		t.Errorf("detail does not say the keys come from the file: %s", diags[0].Detail)
	}
	// a warning that comes only from the file is not
	expectDiags(t, ValidateChange(Settings{IP6Tables: Bool(true), Experimental: Bool(true)}, Settings{LiveRestore: Bool(true)}, v29_x))
	// value checks apply to desired only: a bad prefix already in the file is not ours
	expectDiags(t, ValidateChange(Settings{FixedCIDRv6: String("2001:db8::/64")}, Settings{LiveRestore: Bool(true)}, v29_x))
	expectDiags(t, ValidateChange(Settings{}, Settings{FixedCIDRv6: String("2001:db8::/64")}, v29_x), "error fixed_cidr_v6")
}

func TestFixedCIDRv6(t *testing.T) {
	tests := []struct {
		cidr string
		want []string
		msg  string
	}{
		{"fd12:3456:789a:1::/64", nil, ""},
		{"fd12:3456:789a::/48", nil, ""},
		{"2a01:4f8:1:2::/64", []string{"warning fixed_cidr_v6"}, "NDP proxying"}, // GUA works, with a warning
		{"fd12:3456:789a:1::/126", nil, ""},
		{"2001:db8::/64", []string{"error fixed_cidr_v6"}, "documentation"},
		{"2001:db8:1::/64", []string{"error fixed_cidr_v6"}, "documentation"},
		{"fc00:1234::/64", []string{"error fixed_cidr_v6"}, "L bit 0"},
		{"fd12:3456:789a:1::1/64", []string{"error fixed_cidr_v6"}, "host bits set: the prefix of that address is fd12:3456:789a:1::/64"},
		{"fd12:3456:789a:1::", []string{"error fixed_cidr_v6"}, "an address, not a prefix"},
		{"198.18.0.0/16", []string{"error fixed_cidr_v6"}, "IPv4"},
		{"::ffff:198.18.0.0/111", []string{"error fixed_cidr_v6"}, "IPv4"},
		{"fe80::/64", []string{"error fixed_cidr_v6"}, "link-local"},
		{"ff02::/64", []string{"error fixed_cidr_v6"}, "multicast"},
		{"fd12:3456::/32", []string{"error fixed_cidr_v6"}, "shorter than /48"},
		{"fd12:3456:789a:1::/127", []string{"error fixed_cidr_v6"}, "longer than /126"},
		{"not a cidr", []string{"error fixed_cidr_v6"}, "not a CIDR"},
		{"", []string{"error fixed_cidr_v6"}, "empty string"},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			diags := Validate(Settings{FixedCIDRv6: String(tt.cidr)}, v29_x)
			expectDiags(t, diags, tt.want...)
			if tt.msg != "" && !strings.Contains(diags[0].Detail, tt.msg) {
				t.Fatalf("detail %q does not contain %q", diags[0].Detail, tt.msg)
			}
		})
	}
}

func TestSubnetCheckerIsPluggable(t *testing.T) {
	var calls []string
	val := Validator{CheckSubnet: func(p string, minLen, maxLen int) ([]string, error) {
		calls = append(calls, fmt.Sprintf("%s %d %d", p, minLen, maxLen))
		if strings.HasPrefix(p, "fd00:cafe") {
			return []string{"a well-known example prefix, copied from a documentation page"}, nil
		}
		return nil, errors.New("refused by plug-in: this prefix is not acceptable here")
	}}
	diags := val.Validate(Settings{
		FixedCIDRv6:         String("fd00:cafe:face:feed::/64"),
		DefaultAddressPools: Pools(Pool{"198.18.0.0/16", 16}, Pool{"fd12:3456:789a::/48", 64}),
	}, v29_x)
	expectDiags(t, diags, "warning fixed_cidr_v6", "error default_address_pools[1].base")
	if want := "fd00:cafe:face:feed::/64 48 126|fd12:3456:789a::/48 0 128"; strings.Join(calls, "|") != want {
		t.Fatalf("calls %q, want %q", calls, want)
	}
	if !strings.Contains(diags[0].Detail+diags[1].Detail, "refused by plug-in") {
		t.Fatalf("plug-in message not passed through: %v", diags)
	}
}

func TestPools(t *testing.T) {
	v4 := Pool{"198.18.0.0/16", 24}
	tests := []struct {
		name  string
		pools []Pool
		v     DockerVersion
		want  []string
	}{
		{"typical mixed", []Pool{v4, {"fd12:3456:789a::/48", 64}}, v20_10, nil},
		{"empty list", []Pool{}, v20_10, nil},
		{"IPv4 only", []Pool{v4}, v20_10, nil},
		{"IPv6 only warns about IPv4", []Pool{{"fd12:3456:789a::/48", 64}}, v29_x, []string{"warning default_address_pools"}},
		{"size 0", []Pool{{"198.18.0.0/15", 0}}, v29_x, []string{"error default_address_pools[0].size"}},
		{"size 129", []Pool{v4, {"fd12:3456:789a::/48", 129}}, v29_x, []string{"error default_address_pools[1].size"}},
		{"size 128 is allowed", []Pool{v4, {"fd12:3456:789a::/120", 128}}, v29_x, nil},
		{"size 1 with /0 base is allowed on 27", []Pool{{"0.0.0.0/0", 1}}, v29_x, nil},
		{"IPv4 size above 32", []Pool{{"198.18.0.0/15", 33}}, v29_x, []string{"error default_address_pools[0].size"}},
		{"size shorter than base", []Pool{{"198.18.0.0/16", 8}}, v29_x, []string{"error default_address_pools[0].size"}},
		{"size equal to base", []Pool{{"198.18.0.0/16", 16}}, v29_x, nil},
		{"base not a CIDR", []Pool{{"198.18.0.0", 24}}, v29_x, []string{"error default_address_pools[0].base"}},
		{"base empty", []Pool{{"", 24}}, v29_x, []string{"error default_address_pools[0].base"}},
		{"IPv4 base host bits", []Pool{{"198.18.0.1/15", 24}}, v29_x, []string{"error default_address_pools[0].base"}},
		{"IPv6 base host bits", []Pool{v4, {"fd12:3456:789a::1/48", 64}}, v29_x, []string{"error default_address_pools[1].base"}},
		{"documentation base", []Pool{v4, {"2001:db8::/32", 64}}, v29_x, []string{"error default_address_pools[1].base"}},
		{"base containing documentation space", []Pool{v4, {"2000::/3", 64}}, v29_x, []string{"error default_address_pools[1].base"}},
		{"fc00 base", []Pool{v4, {"fc00::/48", 64}}, v29_x, []string{"error default_address_pools[1].base"}},
		{"IPv4-mapped base", []Pool{v4, {"::ffff:198.18.0.0/111", 120}}, v29_x, []string{"error default_address_pools[1].base"}},
		// moby/moby#40275: eager splitting before 27
		{"/48 into /80 on 20.10", []Pool{v4, {"fd12:3456:789a::/48", 80}}, v20_10, []string{"error default_address_pools[1].size"}},
		{"/48 into /80 on 26.1", []Pool{v4, {"fd12:3456:789a::/48", 80}}, v26_1, []string{"error default_address_pools[1].size"}},
		{"/48 into /80 on 27.0", []Pool{v4, {"fd12:3456:789a::/48", 80}}, v27_0, nil},
		{"/48 into /80 on 29", []Pool{v4, {"fd12:3456:789a::/48", 80}}, v29_x, nil},
		{"/48 into /68 (2^20) on 20.10 is the limit", []Pool{v4, {"fd12:3456:789a::/48", 68}}, v20_10, nil},
		{"/48 into /69 (2^21) on 20.10", []Pool{v4, {"fd12:3456:789a::/48", 69}}, v20_10, []string{"error default_address_pools[1].size"}},
		{"/48 into /64 on 20.10", []Pool{v4, {"fd12:3456:789a::/48", 64}}, v20_10, nil},
		{"IPv4 /0 into /32 on 20.10", []Pool{{"0.0.0.0/0", 32}}, v20_10, []string{"error default_address_pools[0].size"}},
		{"/48 into /80, version unknown", []Pool{v4, {"fd12:3456:789a::/48", 80}}, DockerVersion{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diags := Validate(Settings{DefaultAddressPools: &tt.pools}, tt.v)
			expectDiags(t, diags, tt.want...)
			for _, d := range diags {
				if strings.Contains(tt.name, "/80 on") && !strings.Contains(d.Detail, "moby/moby#40275") {
					t.Errorf("OOM diagnostic does not cite moby/moby#40275: %s", d.Detail)
				}
			}
		})
	}
}
