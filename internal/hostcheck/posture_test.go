package hostcheck

import (
	"slices"
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
		{Name: "v6", IPv6: true, IPv6Subnets: []string{"fd7e:3c1a:95d2:f2::/64", "198.18.9.0/24"}},
		{Name: "a-v6", IPv6: true, IPv6Subnets: []string{"fd00:1::/64"}},
		{Name: "v6-no-subnet", IPv6: true},
	}
	for _, tc := range []struct {
		name string
		f    Facts
		p    firewall.Posture
		want []expect
	}{
		{"nothing observed", Facts{}, refuse, []expect{absent(IDPostureBesideUFW), absent(IDRefuseBesideIPv6Networks), absent(IDPortsNotPublished)}},
		{"ufw active", Facts{Units: map[string]string{"ufw.service": "active", "firewalld.service": "inactive"}}, refuse, []expect{
			{IDPostureBesideUFW, SeverityWarning, []string{"systemd reports ufw.service active. UFW filters only traffic addressed to the host",
				"PREROUTING chain, before INPUT", "rules for ports 2525, 4190 then no longer apply", "after6.rules",
				`ipv6_clients = "refuse" holds either way`, "DOCKER-USER"}},
			absent(IDPostureBesideFirewalld)}},
		{"ufw inactive, chains left", Facts{Units: map[string]string{"ufw.service": "inactive"}, OtherFirewalls: ufwChains}, allow, []expect{
			{IDPostureBesideUFW, SeverityWarning, []string{"systemd reports ufw.service inactive, but UFW's rules are still in nftables.", "rules for port 2525 then"}}}},
		{"ufw chains, systemd unknown", Facts{OtherFirewalls: ufwChains}, allow, []expect{
			{IDPostureBesideUFW, SeverityWarning, []string{"UFW's rules are in nftables. UFW filters"}}}},
		{"the unit's own finding is not nftables", Facts{Units: map[string]string{"ufw.service": "failed"},
			OtherFirewalls: firewall.MergeUnitStates(nil, map[string]string{"ufw.service": "active"})}, allow, []expect{absent(IDPostureBesideUFW)}},
		{"firewalld active", Facts{Units: map[string]string{"firewalld.service": "active"}}, allow, []expect{
			{IDPostureBesideFirewalld, SeverityWarning, []string{"systemd reports firewalld.service active.", `zone "docker"`, `"docker-forwarding"`, "IPv6 for port 2525."}},
			absent(IDPostureBesideUFW)}},
		{"refuse beside IPv6 networks, one port unpublished", Facts{Networks: publishing}, refuse, []expect{
			{IDRefuseBesideIPv6Networks, SeverityWarning, []string{"away from ports 2525, 4190 so that", "a-v6 (fd00:1::/64); v6 (fd7e:3c1a:95d2:f2::/64).", `Choose one: ipv6_clients = "allow"`}},
			{IDPortsNotPublished, SeverityWarning, []string{"No running container publishes port 4190. Running containers publish port 2525. The posture still applies"}}}},
		{"allow beside IPv6 networks, all published", Facts{Networks: publishing}, allow, []expect{
			absent(IDRefuseBesideIPv6Networks), absent(IDPortsNotPublished)}},
		{"nothing published", Facts{Networks: []Network{{Name: "bridge"}}}, allow, []expect{
			{IDPortsNotPublished, SeverityWarning, []string{"No running container publishes port 2525. No running container publishes a TCP port."}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := PostureFindings(tc.f, tc.p)
			for _, x := range fs {
				if x.Severity != SeverityWarning || x.Message == "" || x.Fix == "" {
					t.Errorf("finding %+v: want a warning with a message and a fix", x)
				}
			}
			if len(fs) != len(slices.CompactFunc(slices.Clone(fs), func(a, b Finding) bool { return a.ID == b.ID })) {
				t.Errorf("one finding per rule, got %v", ids(fs))
			}
			expectIn(t, fs, tc.want...)
		})
	}
	// One rule per ID, in the order the provider shows them.
	f := Facts{Units: map[string]string{"ufw.service": "active", "firewalld.service": "active"}, Networks: publishing}
	if got := ids(PostureFindings(f, refuse)); !slices.Equal(got, []string{IDPostureBesideUFW, IDPostureBesideFirewalld, IDRefuseBesideIPv6Networks, IDPortsNotPublished}) {
		t.Errorf("order = %v", got)
	}
}
