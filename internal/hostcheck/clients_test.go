package hostcheck

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/trust"
)

var (
	gateway = netip.MustParseAddr("198.18.5.1")
	// connectedNetworks is docker-mailserver with PERMIT_DOCKER=connected-networks on 198.18.5.0/24.
	connectedNetworks = trust.Set{List: []trust.Source{{Name: "PERMIT_DOCKER=connected-networks",
		Entries: []trust.Entry{{Text: "198.18.5.0/24", Prefixes: []netip.Prefix{netip.MustParsePrefix("198.18.5.0/24")}}}}}}
	loopbackOnly = trust.Set{List: []trust.Source{{Name: "main.cf mynetworks",
		Entries: []trust.Entry{{Text: "127.0.0.0/8", Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}}}}
	tableOnly = trust.Set{List: []trust.Source{{Name: "main.cf mynetworks",
		Entries: []trust.Entry{{Text: "hash:/etc/postfix/network_table", Unknown: "a type:table lookup, not read"}}}}}
)

func TestMasqueradedClientsTrusted(t *testing.T) {
	v6gw := netip.MustParseAddr("fd7e:3c1a:95d2:5::1")
	for _, tt := range []struct {
		name    string
		clients []Client
		want    []string // one entry per finding: parts of its message
	}{
		{"none measured", nil, nil},
		{"preserved", []Client{{Container: "mail", Port: 25, Family: "ipv6", Trust: connectedNetworks}}, nil},
		{"masqueraded, not trusted", []Client{{Container: "mail", Port: 25, Family: "ipv6", Masqueraded: gateway, Trust: loopbackOnly}}, nil},
		{"masqueraded, trust unknown", []Client{{Container: "mail", Port: 25, Family: "ipv6", Masqueraded: gateway, Trust: tableOnly}}, nil},
		{"masqueraded, nothing read", []Client{{Container: "mail", Port: 25, Family: "ipv6", Masqueraded: gateway}}, nil},
		{"masqueraded and trusted", []Client{{Container: "mail", Port: 25, Family: "ipv6", Masqueraded: gateway, Trust: connectedNetworks}},
			[]string{`Container "mail" sees remote clients on port 25 (IPv6) as 198.18.5.1, not as themselves, and it trusts that address: PERMIT_DOCKER=connected-networks (198.18.5.0/24). So every remote client that arrives this way may relay mail through this server without authentication, an open relay.`}},
		{"IPv4-mapped, several ports, one finding", []Client{
			{Container: "mail", Port: 25, Family: "ipv6", Masqueraded: netip.MustParseAddr("::ffff:198.18.5.1"), Trust: connectedNetworks},
			{Container: "mail", Port: 587, Family: "ipv6", Masqueraded: gateway, Trust: connectedNetworks},
			{Container: "mail", Port: 587, Family: "ipv6", Masqueraded: gateway, Trust: connectedNetworks},
			{Container: "mail", Port: 993, Family: "ipv4", Trust: connectedNetworks},
		}, []string{"on ports 25 (IPv6), 587 (IPv6) as 198.18.5.1,"}},
		{"two containers, two addresses", []Client{
			{Container: "a", Port: 25, Family: "ipv6", Masqueraded: gateway, Trust: connectedNetworks},
			{Container: "b", Port: 2525, Masqueraded: v6gw, Trust: trust.Set{List: []trust.Source{{Name: "Mailu SUBNET6=fd7e:3c1a:95d2:5::/64",
				Entries: []trust.Entry{{Text: "fd7e:3c1a:95d2:5::/64", Prefixes: []netip.Prefix{netip.MustParsePrefix("fd7e:3c1a:95d2:5::/64")}}}}}}},
		}, []string{`Container "a" sees remote clients on port 25 (IPv6) as 198.18.5.1`, `Container "b" sees remote clients on port 2525 as fd7e:3c1a:95d2:5::1, not as themselves, and it trusts that address: Mailu SUBNET6=fd7e:3c1a:95d2:5::/64 (fd7e:3c1a:95d2:5::/64).`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := MasqueradedClientsTrusted(tt.clients)
			if len(fs) != len(tt.want) {
				t.Fatalf("%d findings, want %d: %+v", len(fs), len(tt.want), fs)
			}
			for i, f := range fs {
				if f.ID != IDMasqueradedClientsTrusted || f.Severity != SeverityError {
					t.Errorf("finding %d: %s %s", i, f.ID, f.Severity)
				}
				if !strings.Contains(f.Message, tt.want[i]) {
					t.Errorf("message %d:\n%s\nwant it to contain\n%s", i, f.Message, tt.want[i])
				}
				for _, part := range []string{"dockeripv6_network with an IPv6 ULA subnet", "ip6tables", "PERMIT_DOCKER=none", "mynetworks", "leaves out " + f.Message[strings.Index(f.Message, " as ")+4:strings.Index(f.Message, ", not as")]} {
					if !strings.Contains(f.Fix, part) {
						t.Errorf("fix %d does not name %q: %s", i, part, f.Fix)
					}
				}
			}
		})
	}
	// Through Findings, the finding is an error and comes first.
	fs := Findings(Facts{Gaps: []string{"x"}, Clients: []Client{{Container: "mail", Port: 25, Family: "ipv6", Masqueraded: gateway, Trust: connectedNetworks}}})
	if len(fs) != 2 || fs[0].ID != IDMasqueradedClientsTrusted || fs[1].ID != IDFactsIncomplete {
		t.Errorf("Findings: %v", ids(fs))
	}
}
