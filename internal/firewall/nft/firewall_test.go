package nft

import (
	"context"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

var ctx = context.Background()

func mustPrefixes(t *testing.T, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func mustApply(t *testing.T, c *Conn, p firewall.Posture) {
	t.Helper()
	if err := c.Apply(ctx, p); err != nil {
		t.Fatalf("Apply(%+v): %v", p, err)
	}
}

// readClean reads table and fails unless it is found without drift.
func readClean(t *testing.T, c *Conn, table string) *firewall.Posture {
	t.Helper()
	got, found, drift, err := c.Read(ctx, table)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !found {
		t.Fatalf("Read: table %s not found", table)
	}
	if len(drift) != 0 {
		t.Fatalf("Read: unexpected drift:\n%s", strings.Join(drift, "\n"))
	}
	return got
}

func TestApplyReadRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		p         firewall.Posture
		wantNft   []string // substrings of `nft list table inet <table>`
		wantAllow []string // prefixes nft itself prints for the allow set
	}{
		{
			name: "refuse reset default ports",
			p:    firewall.Posture{IPv6Clients: firewall.IPv6Refuse},
			wantNft: []string{
				"elements = { 25, 110, 143, 465, 587, 993, 995, 4190 }",
				`iif != "lo" ct direction original tcp dport @ports ip6 saddr != @allow_ipv6_from counter packets 0 bytes 0 reject with tcp reset comment "terraform-provider-dockeripv6: refuse IPv6 to host-published ports (docker-proxy)"`,
				`meta l4proto tcp ct direction original ct status dnat ct original proto-dst @ports ip6 saddr != @allow_ipv6_from counter packets 0 bytes 0 reject with tcp reset`,
				"type filter hook input priority filter - 1; policy accept;",
				"type filter hook forward priority filter - 1; policy accept;",
			},
		},
		{
			name: "refuse drop with allow list",
			p: firewall.Posture{Table: "mail-v6", IPv6Clients: firewall.IPv6Refuse, RejectWith: firewall.RejectDrop, Ports: []uint16{587, 25, 25},
				AllowIPv6From: mustPrefixes(t, "fd12:3456:789a::/48", "fd00:1::/64", "fd00:1:0:1::/64", "fd12:3456:789a:1::/64")},
			wantNft:   []string{"elements = { 25, 587 }", "ip6 saddr != @allow_ipv6_from counter packets 0 bytes 0 drop"},
			wantAllow: []string{"fd00:1::/63", "fd12:3456:789a::/48"},
		},
		{
			name:    "allow default",
			p:       firewall.Posture{IPv6Clients: firewall.IPv6Allow},
			wantNft: []string{"chain input {\n\t\ttype filter hook input priority filter - 1; policy accept;\n\t}"},
		},
		{
			name:      "refuse with everything allowed (::/0, one open-ended range)",
			p:         firewall.Posture{IPv6Clients: firewall.IPv6Refuse, AllowIPv6From: mustPrefixes(t, "::/0", "fd00::/8")},
			wantAllow: []string{"::/0"},
		},
		{
			name:      "allow with allow list and drop",
			p:         firewall.Posture{IPv6Clients: firewall.IPv6Allow, RejectWith: firewall.RejectDrop, Ports: []uint16{4190}, AllowIPv6From: mustPrefixes(t, "fd12:3456:789a::/48")},
			wantAllow: []string{"fd12:3456:789a::/48"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := newNS(t)
			c := nftConn(t, ns)
			mustApply(t, c, tc.p)
			want, err := tc.p.Normalize()
			if err != nil {
				t.Fatal(err)
			}
			got := readClean(t, c, want.Table)
			if want.IPv6Clients == firewall.IPv6Allow {
				want.RejectWith = "" // not stored without a rule
			}
			if got.Table != want.Table || got.IPv6Clients != want.IPv6Clients || got.RejectWith != want.RejectWith ||
				!slices.Equal(got.Ports, want.Ports) || !slices.Equal(got.AllowIPv6From, want.AllowIPv6From) {
				t.Errorf("Read = %+v, want %+v", *got, want)
			}
			if d := firewall.Diff(tc.p, *got); len(d) != 0 {
				t.Errorf("Diff(config, read) = %q, want none", d)
			}
			text := nft(t, ns, "list", "table", "inet", want.Table)
			flat := strings.Join(strings.Fields(text), " ")
			for _, s := range tc.wantNft {
				if !strings.Contains(flat, strings.Join(strings.Fields(s), " ")) {
					t.Errorf("nft list table lacks %q; it printed:\n%s", s, text)
				}
			}
			if tc.wantAllow != nil {
				setText := nft(t, ns, "list", "set", "inet", want.Table, "allow_ipv6_from")
				for _, s := range tc.wantAllow {
					if !strings.Contains(setText, s) {
						t.Errorf("nft list set allow_ipv6_from lacks %s; it printed:\n%s", s, setText)
					}
				}
			}
			if n := strings.Count(text, "reject with tcp reset comment") + strings.Count(text, " drop comment"); (want.IPv6Clients == firewall.IPv6Refuse) != (n == 2) {
				t.Errorf("posture %s: %d refusing rules in:\n%s", want.IPv6Clients, n, text)
			}
			if exists, ours, err := c.Exists(ctx, want.Table); err != nil || !exists || !ours {
				t.Errorf("Exists = %v, %v, %v; want true, true, nil", exists, ours, err)
			}
			t.Logf("nft list table inet %s:\n%s", want.Table, text)
		})
	}
}

func TestReadAbsentAndDeleteAbsent(t *testing.T) {
	t.Parallel()
	ns := newNS(t)
	c := nftConn(t, ns)
	p, found, drift, err := c.Read(ctx, firewall.DefaultTable)
	if err != nil || found || p != nil || drift != nil {
		t.Fatalf("Read of absent table = %v, %v, %v, %v; want nil, false, nil, nil", p, found, drift, err)
	}
	if err := c.Delete(ctx, firewall.DefaultTable); err != nil {
		t.Fatalf("Delete of absent table: %v", err)
	}
	if exists, ours, err := c.Exists(ctx, firewall.DefaultTable); err != nil || exists || ours {
		t.Fatalf("Exists = %v, %v, %v; want false, false, nil", exists, ours, err)
	}
	// A table of that name made by someone else is not ours.
	nft(t, ns, "add", "table", "inet", firewall.DefaultTable)
	if exists, ours, err := c.Exists(ctx, firewall.DefaultTable); err != nil || !exists || ours {
		t.Fatalf("Exists on a foreign table = %v, %v, %v; want true, false, nil", exists, ours, err)
	}
}

var handleRE = regexp.MustCompile(`# handle (\d+)`)

// ruleHandle returns the handle of the only rule in chain.
func ruleHandle(t *testing.T, ns netns.NsHandle, chain string) string {
	t.Helper()
	out := nft(t, ns, "-a", "list", "chain", "inet", firewall.DefaultTable, chain)
	var hs []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "comment") {
			if m := handleRE.FindStringSubmatch(line); m != nil {
				hs = append(hs, m[1])
			}
		}
	}
	if len(hs) != 1 {
		t.Fatalf("want one rule in chain %s, found handles %v in:\n%s", chain, hs, out)
	}
	return hs[0]
}

func TestDrift(t *testing.T) {
	t.Parallel()
	refuse := firewall.Posture{IPv6Clients: firewall.IPv6Refuse, AllowIPv6From: mustPrefixes(t, "fd12:3456:789a::/48")}
	allow := firewall.Posture{IPv6Clients: firewall.IPv6Allow}
	cases := []struct {
		name        string
		posture     firewall.Posture
		human       func(t *testing.T, ns netns.NsHandle)
		gone        bool     // the table is gone
		drift       []string // substrings, each must appear in some drift line
		diff        []string // substrings of firewall.Diff(posture, read)
		wantClients string
		wantPorts   []uint16
	}{
		{
			name:    "input rule deleted",
			posture: refuse,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "delete", "rule", "inet", firewall.DefaultTable, "input", "handle", ruleHandle(t, ns, "input"))
			},
			drift:       []string{`chain input is missing its rule "refuse IPv6 to host-published ports (docker-proxy)" (tcp-reset)`},
			wantClients: firewall.IPv6Refuse,
		},
		{
			name:    "forward rule deleted",
			posture: refuse,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "delete", "rule", "inet", firewall.DefaultTable, "forward", "handle", ruleHandle(t, ns, "forward"))
			},
			drift:       []string{`chain forward is missing its rule "refuse IPv6 that Docker DNATs to a container" (tcp-reset)`},
			wantClients: firewall.IPv6Refuse,
		},
		{
			name:    "both rules flushed",
			posture: refuse,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "flush", "chain", "inet", firewall.DefaultTable, "input")
				nft(t, ns, "flush", "chain", "inet", firewall.DefaultTable, "forward")
			},
			diff:        []string{`ipv6_clients: want "refuse", found "allow"`},
			wantClients: firewall.IPv6Allow,
		},
		{
			name:    "rule added by hand",
			posture: refuse,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "add", "rule", "inet", firewall.DefaultTable, "input", "tcp", "dport", "22", "accept")
			},
			drift: []string{"chain input has a rule Apply did not write (handle ",
				"[payload load 2b @ transport header + 2 => reg 1] [cmp eq reg 1 0x0016] [verdict accept]"},
			wantClients: firewall.IPv6Refuse,
		},
		{
			name:    "rule added by hand to an allow table",
			posture: allow,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "add", "rule", "inet", firewall.DefaultTable, "forward", "ip6", "saddr", "fd00::/8", "drop")
			},
			drift:       []string{"chain forward has a rule Apply did not write"},
			wantClients: firewall.IPv6Allow,
		},
		{
			name:    "our rule replaced by a weaker one",
			posture: refuse,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "replace", "rule", "inet", firewall.DefaultTable, "input", "handle", ruleHandle(t, ns, "input"),
					"tcp", "dport", "@ports", "ip6", "saddr", "!=", "@allow_ipv6_from", "reject", "with", "tcp", "reset")
			},
			drift:       []string{"chain input has a rule Apply did not write", "chain input is missing its rule"},
			wantClients: firewall.IPv6Refuse, // the forward rule still says so
		},
		{
			name:    "port set element changed",
			posture: refuse,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "delete", "element", "inet", firewall.DefaultTable, "ports", "{ 25 }")
				nft(t, ns, "add", "element", "inet", firewall.DefaultTable, "ports", "{ 2525 }")
			},
			diff:        []string{"ports: want [25, 110, 143, 465, 587, 993, 995, 4190], found [110, 143, 465, 587, 993, 995, 2525, 4190]"},
			wantClients: firewall.IPv6Refuse,
			wantPorts:   []uint16{110, 143, 465, 587, 993, 995, 2525, 4190},
		},
		{
			name:    "allow prefix added",
			posture: refuse,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "add", "element", "inet", firewall.DefaultTable, "allow_ipv6_from", "{ fd99::/16 }")
			},
			diff:        []string{"allow_ipv6_from: want [fd12:3456:789a::/48], found [fd12:3456:789a::/48, fd99::/16]"},
			wantClients: firewall.IPv6Refuse,
		},
		{
			name:    "table deleted",
			posture: refuse,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "delete", "table", "inet", firewall.DefaultTable)
			},
			gone: true,
		},
		{
			name:    "foreign chain in our table",
			posture: refuse,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "add", "chain", "inet", firewall.DefaultTable, "sneaky", "{ type filter hook input priority 10; policy drop; }")
			},
			drift:       []string{"chain sneaky is not one Apply creates (type filter hook input priority 10 policy drop, 0 rules)"},
			wantClients: firewall.IPv6Refuse,
		},
		{
			name:    "chain policy changed",
			posture: allow,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "add", "chain", "inet", firewall.DefaultTable, "input", "{ type filter hook input priority -1; policy drop; }")
			},
			drift:       []string{"chain input has policy drop; Apply sets accept"},
			wantClients: firewall.IPv6Allow,
		},
		{
			name:    "chain recreated with another hook and priority",
			posture: allow,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "delete", "chain", "inet", firewall.DefaultTable, "forward")
				nft(t, ns, "add", "chain", "inet", firewall.DefaultTable, "forward", "{ type filter hook output priority 5; policy accept; }")
			},
			drift:       []string{"chain forward hooks output; Apply hooks forward", "chain forward has priority 5; Apply sets -1 (filter - 1)"},
			wantClients: firewall.IPv6Allow,
		},
		{
			name:    "chain deleted",
			posture: allow,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "delete", "chain", "inet", firewall.DefaultTable, "forward")
			},
			drift:       []string{"chain forward is missing"},
			wantClients: firewall.IPv6Allow,
		},
		{
			name:    "table made dormant",
			posture: refuse,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "add", "table", "inet", firewall.DefaultTable, "{ flags dormant; }")
			},
			drift:       []string{"table inet dockeripv6 is dormant"},
			wantClients: firewall.IPv6Refuse,
		},
		{
			name:    "extra set",
			posture: refuse,
			human: func(t *testing.T, ns netns.NsHandle) {
				nft(t, ns, "add", "set", "inet", firewall.DefaultTable, "extra", "{ type ipv4_addr; }")
			},
			drift:       []string{"set extra is not one Apply creates"},
			wantClients: firewall.IPv6Refuse,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := newNS(t)
			c := nftConn(t, ns)
			mustApply(t, c, tc.posture)
			readClean(t, c, firewall.DefaultTable)
			baseline := ruleset(t, ns)

			tc.human(t, ns)

			got, found, drift, err := c.Read(ctx, firewall.DefaultTable)
			if err != nil {
				t.Fatalf("Read after drift: %v", err)
			}
			t.Logf("drift: %q", drift)
			if tc.gone {
				if found {
					t.Fatalf("Read found the deleted table")
				}
			} else {
				if !found {
					t.Fatalf("Read: table not found")
				}
				for _, want := range tc.drift {
					if !slices.ContainsFunc(drift, func(d string) bool { return strings.Contains(d, want) }) {
						t.Errorf("drift %q lacks %q", drift, want)
					}
				}
				if len(tc.drift) == 0 && len(drift) != 0 {
					t.Errorf("unexpected drift %q", drift)
				}
				diff := firewall.Diff(tc.posture, *got)
				t.Logf("diff: %q", diff)
				for _, want := range tc.diff {
					if !slices.ContainsFunc(diff, func(d string) bool { return strings.Contains(d, want) }) {
						t.Errorf("Diff %q lacks %q", diff, want)
					}
				}
				if len(tc.diff) == 0 && len(diff) != 0 {
					t.Errorf("unexpected firewall.Diff %q", diff)
				}
				if len(tc.drift) == 0 && len(tc.diff) == 0 {
					t.Errorf("test case detects nothing")
				}
				if got.IPv6Clients != tc.wantClients {
					t.Errorf("Read IPv6Clients = %q, want %q", got.IPv6Clients, tc.wantClients)
				}
				if tc.wantPorts != nil && !slices.Equal(got.Ports, tc.wantPorts) {
					t.Errorf("Read ports = %v, want %v", got.Ports, tc.wantPorts)
				}
			}

			// Apply restores exactly.
			mustApply(t, c, tc.posture)
			readClean(t, c, firewall.DefaultTable)
			if after := ruleset(t, ns); after != baseline {
				t.Errorf("ruleset after re-Apply differs.\nbefore:\n%s\nafter:\n%s", baseline, after)
			}
		})
	}
}

// foreignRuleset makes tables that are not ours: an inet table with a rule,
// Docker-like iptables-nft chains (made with ip6tables/iptables, the
// nf_tables backend) and an nft-made ip6 filter-like table.
func foreignRuleset(t *testing.T, ns netns.NsHandle) {
	t.Helper()
	nftFile(t, ns, `
table inet other {
	set blocked { type ipv6_addr; flags interval; elements = { fd66::/16 } }
	chain in {
		type filter hook input priority filter; policy accept;
		tcp dport 22 counter accept comment "ssh"
		ip6 saddr @blocked drop
	}
}
table ip6 docker-bridges {
	chain forward {
		type filter hook forward priority filter; policy accept;
	}
}
`)
	for _, args := range [][]string{
		{"ip6tables", "-N", "DOCKER"},
		{"ip6tables", "-N", "DOCKER-USER"},
		{"ip6tables", "-A", "FORWARD", "-j", "DOCKER-USER"},
		{"ip6tables", "-A", "FORWARD", "-o", "docker0", "-j", "DOCKER"},
		{"ip6tables", "-A", "DOCKER-USER", "-j", "RETURN"},
		{"ip6tables", "-t", "nat", "-N", "DOCKER"},
		{"ip6tables", "-t", "nat", "-A", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKER"},
		{"ip6tables", "-t", "nat", "-A", "DOCKER", "-p", "tcp", "--dport", "25", "-j", "DNAT", "--to-destination", "[fd00:d0c:9::2]:25"},
		{"iptables", "-N", "DOCKER"},
		{"iptables", "-A", "FORWARD", "-o", "docker0", "-j", "DOCKER"},
	} {
		run(t, ns, "", args...)
	}
}

func TestIsolation(t *testing.T) {
	t.Parallel()
	ns := newNS(t)
	c := nftConn(t, ns)
	foreignRuleset(t, ns)
	before := ruleset(t, ns)
	tables := map[string]string{}
	for _, tb := range [][]string{{"inet", "other"}, {"ip6", "filter"}, {"ip6", "nat"}, {"ip", "filter"}, {"ip6", "docker-bridges"}} {
		tables[strings.Join(tb, " ")] = nft(t, ns, "list", "table", tb[0], tb[1])
	}
	for _, p := range []firewall.Posture{
		{IPv6Clients: firewall.IPv6Refuse},
		{IPv6Clients: firewall.IPv6Allow, AllowIPv6From: mustPrefixes(t, "fd00::/8")},
		{IPv6Clients: firewall.IPv6Refuse, RejectWith: firewall.RejectDrop, Ports: []uint16{25}},
	} {
		mustApply(t, c, p)
		readClean(t, c, firewall.DefaultTable)
		for name, text := range tables {
			f := strings.Fields(name)
			if now := nft(t, ns, "list", "table", f[0], f[1]); now != text {
				t.Errorf("table %s changed while ours exists.\nbefore:\n%s\nnow:\n%s", name, text, now)
			}
		}
	}
	if err := c.Delete(ctx, firewall.DefaultTable); err != nil {
		t.Fatal(err)
	}
	if after := ruleset(t, ns); after != before {
		t.Errorf("ruleset after Delete differs.\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, found, _, err := c.Read(ctx, firewall.DefaultTable); err != nil || found {
		t.Errorf("Read after Delete: found=%v err=%v", found, err)
	}
	if err := c.Delete(ctx, firewall.DefaultTable); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	t.Logf("foreign ruleset, identical before Apply and after Delete:\n%s", before)
}

func TestFailedTransactionChangesNothing(t *testing.T) {
	t.Parallel()
	sabotage := map[string]func(*nftables.Conn, *nftables.Table){
		// A 3-byte key in a set of 2-byte inet_service keys.
		"invalid element": func(c *nftables.Conn, tb *nftables.Table) {
			if err := c.SetAddElements(&nftables.Set{Table: tb, Name: setPorts, ID: setIDPorts, KeyType: nftables.TypeInetService},
				[]nftables.SetElement{{Key: []byte{1, 2, 3}}}); err != nil {
				panic(err)
			}
		},
		// A rule looking up a set that does not exist.
		"rule with a missing set": func(c *nftables.Conn, tb *nftables.Table) {
			exprs := inputExprs(firewall.RejectTCPReset)
			for i, e := range exprs {
				if l, ok := e.(*expr.Lookup); ok && l.SetName == setPorts {
					cp := *l
					cp.SetName, cp.SetID = "no_such_set", 99
					exprs[i] = &cp
				}
			}
			c.AddRule(&nftables.Rule{Table: tb, Chain: &nftables.Chain{Name: chainInput, Table: tb}, Exprs: exprs})
		},
	}
	starts := map[string]*firewall.Posture{
		"no table":       nil,
		"refuse present": {IPv6Clients: firewall.IPv6Refuse, Ports: []uint16{25, 587}, AllowIPv6From: mustPrefixes(t, "fd12:3456:789a::/48")},
		"allow present":  {IPv6Clients: firewall.IPv6Allow},
	}
	for sname, sab := range sabotage {
		for start, p0 := range starts {
			t.Run(sname+"/"+start, func(t *testing.T) {
				t.Parallel()
				ns := newNS(t)
				c := nftConn(t, ns)
				foreignRuleset(t, ns)
				if p0 != nil {
					mustApply(t, c, *p0)
				}
				before := ruleset(t, ns)
				p1, found1, drift1, err := c.Read(ctx, firewall.DefaultTable)
				if err != nil {
					t.Fatal(err)
				}
				err = c.apply(ctx, firewall.Posture{IPv6Clients: firewall.IPv6Refuse, RejectWith: firewall.RejectDrop, Ports: []uint16{993}}, sab)
				if err == nil {
					t.Fatal("sabotaged Apply succeeded")
				}
				t.Logf("Apply error: %v", err)
				if !strings.Contains(err.Error(), "failed (the kernel commits a transaction whole or not at all)") {
					t.Errorf("error %q does not say the ruleset is unchanged", err)
				}
				if after := ruleset(t, ns); after != before {
					t.Errorf("ruleset changed by a failed Apply.\nbefore:\n%s\nafter:\n%s", before, after)
				}
				p2, found2, drift2, err := c.Read(ctx, firewall.DefaultTable)
				if err != nil {
					t.Fatal(err)
				}
				if found1 != found2 || len(drift1) != len(drift2) || (p1 != nil && firewall.Diff(*p1, *p2) != nil) {
					t.Errorf("Read changed: %v %v %v -> %v %v %v", p1, found1, drift1, p2, found2, drift2)
				}
				// The same connection still works afterwards.
				mustApply(t, c, firewall.Posture{IPv6Clients: firewall.IPv6Refuse, Ports: []uint16{993}})
				if got := readClean(t, c, firewall.DefaultTable); !slices.Equal(got.Ports, []uint16{993}) {
					t.Errorf("Apply after a failed Apply: ports %v", got.Ports)
				}
			})
		}
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	ns := newNS(t)
	c := nftConn(t, ns)
	var ports []uint16
	for i := 1; i <= firewall.MaxPorts; i++ {
		ports = append(ports, uint16(i))
	}
	var prefixes []netip.Prefix // firewall.MaxAllowPrefixes prefixes that do not join
	for i := 0; len(prefixes) < firewall.MaxAllowPrefixes; i++ {
		a := [16]byte{0xfd, 0, byte(i >> 8), byte(i), 0, 1}
		prefixes = append(prefixes, netip.PrefixFrom(netip.AddrFrom16(a), 64))
	}
	p := firewall.Posture{IPv6Clients: firewall.IPv6Refuse, Ports: ports, AllowIPv6From: prefixes}
	mustApply(t, c, p)
	got := readClean(t, c, firewall.DefaultTable)
	if d := firewall.Diff(p, *got); d != nil {
		t.Errorf("Diff at the limits: %q", d)
	}
	p.Ports = append(p.Ports, firewall.MaxPorts+1)
	if err := c.Apply(ctx, p); err == nil || !strings.Contains(err.Error(), "ports has 1025 different ports; at most 1024 are supported") {
		t.Errorf("Apply over firewall.MaxPorts = %v", err)
	}
	p.Ports = ports
	p.AllowIPv6From = append(p.AllowIPv6From, netip.MustParsePrefix("fd99::/16"))
	if err := c.Apply(ctx, p); err == nil || !strings.Contains(err.Error(), "allow_ipv6_from has 1025 prefixes (after joining neighbours); at most 1024 are supported") {
		t.Errorf("Apply over firewall.MaxAllowPrefixes = %v", err)
	}
}
