package hostcheck

import (
	"slices"
	"strings"
	"testing"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

func TestPostureFindings(t *testing.T) {
	refuse := firewall.Posture{Table: firewall.DefaultTable, IPv6Clients: firewall.IPv6Refuse, RejectWith: firewall.RejectTCPReset, Ports: []uint16{2525, 4190}}
	allow := refuse
	allow.IPv6Clients, allow.Ports = firewall.IPv6Allow, []uint16{2525}
	ufwChains := []firewall.Finding{{Name: "ip6 filter", Kind: firewall.KindUFW, Detail: "UFW's chains: 2"}}
	publishing := []Network{
		{Name: "bridge", Driver: "bridge", Containers: []Container{{Name: "mx", Ports: []Port{
			{HostIP: "0.0.0.0", HostPort: 2525, ContainerPort: 25, Proto: "tcp"},
			{HostIP: "0.0.0.0", HostPort: 4190, ContainerPort: 4190, Proto: "udp"}}}}},
		{Name: "v6", IPv6: true, IPv6Subnets: []string{"fd7e:3c1a:95d2:f2::/64", "10.9.0.0/24"}},
		{Name: "a-v6", IPv6: true, IPv6Subnets: []string{"fd00:1::/64"}},
		{Name: "v6-no-subnet", IPv6: true},
	}
	type want struct {
		id       string
		contains []string // in Message + " " + Fix; nil = the finding must be absent
	}
	for _, tc := range []struct {
		name string
		f    Facts
		p    firewall.Posture
		want []want
	}{
		{"nothing observed", Facts{}, refuse, []want{{IDPostureBesideUFW, nil}, {IDRefuseBesideIPv6Networks, nil}, {IDPortsNotPublished, nil}}},
		{"ufw active", Facts{Units: map[string]string{"ufw.service": "active", "firewalld.service": "inactive"}}, refuse, []want{
			{IDPostureBesideUFW, []string{"systemd reports ufw.service active. UFW filters only traffic addressed to the host",
				"PREROUTING chain, before INPUT", "rules for ports 2525, 4190 then no longer apply", "after6.rules",
				`ipv6_clients = "refuse" holds either way`, "DOCKER-USER"}},
			{IDPostureBesideFirewalld, nil}}},
		{"ufw inactive, chains left", Facts{Units: map[string]string{"ufw.service": "inactive"}, OtherFirewalls: ufwChains}, allow, []want{
			{IDPostureBesideUFW, []string{"systemd reports ufw.service inactive, but UFW's rules are still in nftables.", "rules for port 2525 then"}}}},
		{"ufw chains, systemd unknown", Facts{OtherFirewalls: ufwChains}, allow, []want{
			{IDPostureBesideUFW, []string{"UFW's rules are in nftables. UFW filters"}}}},
		{"the unit's own finding is not nftables", Facts{Units: map[string]string{"ufw.service": "failed"},
			OtherFirewalls: firewall.MergeUnitStates(nil, map[string]string{"ufw.service": "active"})}, allow, []want{{IDPostureBesideUFW, nil}}},
		{"firewalld active", Facts{Units: map[string]string{"firewalld.service": "active"}}, allow, []want{
			{IDPostureBesideFirewalld, []string{"systemd reports firewalld.service active.", `zone "docker"`, `"docker-forwarding"`, "IPv6 for port 2525."}},
			{IDPostureBesideUFW, nil}}},
		{"refuse beside IPv6 networks, one port unpublished", Facts{Networks: publishing}, refuse, []want{
			{IDRefuseBesideIPv6Networks, []string{"away from ports 2525, 4190 so that", "a-v6 (fd00:1::/64); v6 (fd7e:3c1a:95d2:f2::/64).", `Choose one: ipv6_clients = "allow"`}},
			{IDPortsNotPublished, []string{"No running container publishes port 4190. Running containers publish port 2525. The posture still applies"}}}},
		{"allow beside IPv6 networks, all published", Facts{Networks: publishing}, allow, []want{
			{IDRefuseBesideIPv6Networks, nil}, {IDPortsNotPublished, nil}}},
		{"nothing published", Facts{Networks: []Network{{Name: "bridge"}}}, allow, []want{
			{IDPortsNotPublished, []string{"No running container publishes port 2525. No running container publishes a TCP port."}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := PostureFindings(tc.f, tc.p)
			for _, x := range fs {
				if x.Severity != SeverityWarning || x.Message == "" || x.Fix == "" {
					t.Errorf("finding %+v: want a warning with a message and a fix", x)
				}
			}
			for _, w := range tc.want {
				got := only(fs, w.id)
				if w.contains == nil {
					if len(got) > 0 {
						t.Errorf("%s: want absent, got %+v", w.id, got)
					}
					continue
				}
				if len(got) != 1 {
					t.Fatalf("%s: want one, got %+v (all: %v)", w.id, got, ids(fs))
				}
				text := got[0].Message + " " + got[0].Fix
				for _, s := range w.contains {
					if !strings.Contains(text, s) {
						t.Errorf("%s: %q lacks %q", w.id, text, s)
					}
				}
			}
		})
	}
	// One rule per ID, in the order the provider shows them.
	f := Facts{Units: map[string]string{"ufw.service": "active", "firewalld.service": "active"}, Networks: publishing}
	if got := ids(PostureFindings(f, refuse)); !slices.Equal(got, []string{IDPostureBesideUFW, IDPostureBesideFirewalld, IDRefuseBesideIPv6Networks, IDPortsNotPublished}) {
		t.Errorf("order = %v", got)
	}
}
