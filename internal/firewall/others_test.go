package firewall

import (
	"slices"
	"strings"
	"testing"
)

func TestOtherFirewalls(t *testing.T) {
	t.Parallel()
	ns := newNS(t)
	c := nftConn(t, ns)
	foreignRuleset(t, ns)
	for _, args := range [][]string{
		{"ip6tables", "-N", "ufw6-before-input"},
		{"ip6tables", "-N", "ufw6-user-input"},
		{"ip6tables", "-P", "INPUT", "DROP"},
		{"ip6tables", "-A", "INPUT", "-j", "ufw6-before-input"},
		{"iptables", "-N", "ufw-before-input"},
		{"ip6tables", "-t", "mangle", "-A", "INPUT", "-j", "ACCEPT"},
	} {
		run(t, ns, "", args...)
	}
	nftFile(t, ns, `
table inet firewalld {
	chain filter_INPUT { type filter hook input priority filter + 10; policy accept; }
}
table ip6 nohook {
	chain regular { }
}
table ip6 egress {
	chain out { type filter hook output priority filter; policy accept; }
}
`)
	mustApply(t, c, Posture{IPv6Clients: IPv6Refuse})
	mustApply(t, c, Posture{Table: "second", IPv6Clients: IPv6Allow})
	before := ruleset(t, ns)

	got, err := OtherFirewalls(ctx, c, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		t.Logf("%-20s %-16s %s", f.Name, f.Kind, f.Detail)
	}
	want := []struct{ name, kind, detail string }{
		{"inet firewalld", KindFirewalld, "firewalld's table; base chains: filter_INPUT (filter hook input, priority 10, policy accept); 1 chains in all"},
		{"inet other", KindNftables, "base chains: in (filter hook input, priority 0, policy accept); 1 chains in all"},
		{"inet second", KindNftables, "base chains: forward (filter hook forward, priority -1, policy accept), input (filter hook input, priority -1, policy accept)"},
		{"ip filter", KindDockerIptables, "Docker's iptables chains (iptables-nft): DOCKER"},
		{"ip filter", KindUFW, "UFW's chains: 1 (ufw-before-input)"},
		{"ip6 docker-bridges", KindDockerNftables, "Docker's nftables firewall backend (Docker 29+): Docker filters and NATs IPv6 here"},
		{"ip6 filter", KindDockerIptables, "Docker's iptables chains (iptables-nft): DOCKER, DOCKER-USER"},
		{"ip6 filter", KindUFW, "UFW's chains: 2 (ufw6-before-input, ufw6-user-input); UFW filters IPv6 addressed to the host (docker-proxy), not what Docker DNATs to containers; base chains: FORWARD (filter hook forward, priority 0, policy accept), INPUT (filter hook input, priority 0, policy drop); 6 chains in all"},
		{"ip6 mangle", KindIptablesNft, "INPUT (filter hook input, priority -150, policy accept)"},
		{"ip6 nat", KindDockerIptables, "Docker's iptables chains (iptables-nft): DOCKER; Docker NATs IPv6 (ip6tables is on), so IPv6 to published ports bypasses INPUT-based firewalls such as UFW and firewalld"},
	}
	if len(got) != len(want) {
		t.Errorf("got %d findings, want %d", len(got), len(want))
	}
	for i, w := range want {
		if i >= len(got) {
			break
		}
		if got[i].Name != w.name || got[i].Kind != w.kind || !strings.Contains(got[i].Detail, w.detail) {
			t.Errorf("finding %d = %+v, want name %q kind %q detail containing %q", i, got[i], w.name, w.kind, w.detail)
		}
	}
	for _, f := range got {
		if f.Name == "inet dockeripv6" || f.Name == "ip6 nohook" || f.Name == "ip6 egress" {
			t.Errorf("unexpected finding %+v", f)
		}
	}
	if after := ruleset(t, ns); after != before {
		t.Errorf("OtherFirewalls changed the ruleset")
	}

	merged := MergeUnitStates(got, map[string]string{"ufw.service": "active", "firewalld.service": "inactive"})
	extra := merged[len(got):]
	if len(extra) != 2 || extra[0].Name != "ufw.service" || extra[0].Kind != KindUFW ||
		!strings.Contains(extra[0].Detail, "systemd unit ufw.service is active; UFW filters IPv6 addressed to the host") ||
		extra[1].Name != "firewalld.service" || extra[1].Detail != "systemd unit firewalld.service is inactive, but its rules are still in the kernel" {
		t.Errorf("MergeUnitStates added %+v", extra)
	}
	if m := MergeUnitStates(nil, map[string]string{"firewalld.service": "inactive", "ufw.service": "failed"}); len(m) != 0 {
		t.Errorf("stopped units without rules: %+v", m)
	}
	if m := MergeUnitStates(nil, map[string]string{"firewalld.service": "active"}); len(m) != 1 || m[0].Kind != KindFirewalld {
		t.Errorf("active firewalld without rules: %+v", m)
	}
	if !slices.Equal(got, merged[:len(got)]) {
		t.Errorf("MergeUnitStates changed the findings it was given")
	}
}

func TestConnectPath(t *testing.T) {
	t.Parallel()
	ns := newNS(t)
	c, closeFn, err := Connect(nsPath(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = closeFn() }()
	mustApply(t, c, Posture{IPv6Clients: IPv6Refuse, Ports: []uint16{25}})
	if out := nft(t, ns, "list", "set", "inet", DefaultTable, "ports"); !strings.Contains(out, "elements = { 25 }") {
		t.Errorf("Apply through Connect(path) did not land in that namespace:\n%s", out)
	}
	if _, _, err := Connect("/nonexistent/netns"); err == nil || !strings.Contains(err.Error(), "open network namespace") {
		t.Errorf("Connect(bad path) = %v", err)
	}
}
