package nft

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

var iptablesTables = map[string]bool{"filter": true, "nat": true, "mangle": true, "raw": true, "security": true}

// OtherFirewalls lists, from the kernel's nftables ruleset, what else filters
// this host besides the inet table ownTable (default "dockeripv6" when
// empty): Docker's iptables-nft chains and Docker 29's nftables tables, UFW's
// chains, firewalld's table, and any other inet/ip6/ip table with a chain on
// the input or forward hook. It only reads table and chain lists (never
// rules) and changes nothing. Rules made with iptables-legacy are not in
// nftables and are not seen. Use MergeUnitStates to add the state of the ufw
// and firewalld services.
func (c *Conn) OtherFirewalls(ctx context.Context, ownTable string) ([]firewall.Finding, error) {
	conn := c.nc
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ownTable == "" {
		ownTable = firewall.DefaultTable
	}
	tables, err := conn.ListTables()
	if err != nil {
		return nil, fmt.Errorf("list nftables tables: %w", err)
	}
	chains, err := conn.ListChains()
	if err != nil {
		return nil, fmt.Errorf("list nftables chains: %w", err)
	}
	type key struct {
		fam  nftables.TableFamily
		name string
	}
	byTable := map[key][]*nftables.Chain{}
	for _, c := range chains {
		if c.Table != nil {
			k := key{c.Table.Family, c.Table.Name}
			byTable[k] = append(byTable[k], c)
		}
	}
	slices.SortFunc(tables, func(a, b *nftables.Table) int {
		if c := strings.Compare(familyName(a.Family), familyName(b.Family)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})

	var out []firewall.Finding
	for _, t := range tables {
		if t.Family == nftables.TableFamilyINet && t.Name == ownTable {
			continue
		}
		cs := byTable[key{t.Family, t.Name}]
		slices.SortFunc(cs, func(a, b *nftables.Chain) int { return strings.Compare(a.Name, b.Name) })
		where := familyName(t.Family) + " " + t.Name
		filtersIPv6 := t.Family == nftables.TableFamilyINet || t.Family == nftables.TableFamilyIPv6

		switch t.Name {
		case "firewalld":
			out = append(out, firewall.Finding{Name: where, Kind: firewall.KindFirewalld, Detail: "firewalld's table; " + hookSummary(t, cs)})
			continue
		case "docker-bridges", "docker":
			d := "Docker's nftables firewall backend (Docker 29+)"
			if t.Family == nftables.TableFamilyIPv6 || t.Family == nftables.TableFamilyINet {
				d += ": Docker filters and NATs IPv6 here"
			}
			out = append(out, firewall.Finding{Name: where, Kind: firewall.KindDockerNftables, Detail: d + "; " + hookSummary(t, cs)})
			continue
		}

		var docker, ufw []string
		for _, c := range cs {
			switch {
			case strings.HasPrefix(c.Name, "DOCKER"):
				docker = append(docker, c.Name)
			case strings.HasPrefix(c.Name, "ufw-") || strings.HasPrefix(c.Name, "ufw6-"):
				ufw = append(ufw, c.Name)
			}
		}
		if len(docker) > 0 {
			d := fmt.Sprintf("Docker's iptables chains (iptables-nft): %s", strings.Join(docker, ", "))
			if t.Family == nftables.TableFamilyIPv6 && t.Name == "nat" {
				d += "; Docker NATs IPv6 (ip6tables is on), so IPv6 to published ports bypasses INPUT-based firewalls such as UFW and firewalld"
			}
			out = append(out, firewall.Finding{Name: where, Kind: firewall.KindDockerIptables, Detail: d})
		}
		if len(ufw) > 0 {
			d := fmt.Sprintf("UFW's chains: %d (%s)", len(ufw), shortList(ufw, 4))
			if filtersIPv6 {
				d += "; " + firewall.UFW.Filters
			}
			d += "; " + hookSummary(t, cs)
			out = append(out, firewall.Finding{Name: where, Kind: firewall.KindUFW, Detail: d})
		}
		if len(docker) > 0 || len(ufw) > 0 {
			continue
		}
		if t.Family != nftables.TableFamilyINet && t.Family != nftables.TableFamilyIPv6 && t.Family != nftables.TableFamilyIPv4 {
			continue
		}
		hooked := false
		for _, c := range cs {
			if c.Hooknum != nil && (*c.Hooknum == unix.NF_INET_LOCAL_IN || *c.Hooknum == unix.NF_INET_FORWARD) {
				hooked = true
			}
		}
		if !hooked {
			continue
		}
		kind := firewall.KindNftables
		if t.Family != nftables.TableFamilyINet && iptablesTables[t.Name] {
			kind = firewall.KindIptablesNft
		}
		out = append(out, firewall.Finding{Name: where, Kind: kind, Detail: hookSummary(t, cs)})
	}
	return out, nil
}

// hookSummary describes a table's base chains, e.g.
// "base chains: INPUT (hook input, priority 0, policy drop); 4 chains in all".
func hookSummary(t *nftables.Table, cs []*nftables.Chain) string {
	var base []string
	for _, c := range cs {
		if c.Hooknum == nil || c.Priority == nil {
			continue
		}
		h := fmt.Sprintf("hook#%d", *c.Hooknum)
		if t.Family == nftables.TableFamilyINet || t.Family == nftables.TableFamilyIPv4 || t.Family == nftables.TableFamilyIPv6 {
			h = hookName(*c.Hooknum)
		}
		base = append(base, fmt.Sprintf("%s (%s hook %s, priority %d, policy %s)", c.Name, c.Type, h, *c.Priority, policyName(c.Policy)))
	}
	if len(base) == 0 {
		return fmt.Sprintf("no base chains; %d chains in all", len(cs))
	}
	return fmt.Sprintf("base chains: %s; %d chains in all", strings.Join(base, ", "), len(cs))
}

func shortList(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + ", ..."
}

func familyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyINet:
		return "inet"
	case nftables.TableFamilyIPv4:
		return "ip"
	case nftables.TableFamilyIPv6:
		return "ip6"
	case nftables.TableFamilyARP:
		return "arp"
	case nftables.TableFamilyBridge:
		return "bridge"
	case nftables.TableFamilyNetdev:
		return "netdev"
	}
	return fmt.Sprintf("family%d", f)
}

// DockerIP6Chain tells whether Docker's DOCKER chain exists in the ip6 nat
// table of iptables-nft. nil when that cannot be told: no Docker chain in the
// IPv4 nat table either (iptables-legacy, or iptables off), or nftables
// unreadable.
func (c *Conn) DockerIP6Chain() *bool {
	chains, err := c.nc.ListChains()
	if err != nil {
		return nil
	}
	var v4, v6 bool
	for _, ch := range chains {
		if ch.Name != "DOCKER" || ch.Table == nil || ch.Table.Name != "nat" {
			continue
		}
		switch ch.Table.Family {
		case nftables.TableFamilyIPv4:
			v4 = true
		case nftables.TableFamilyIPv6:
			v6 = true
		}
	}
	if !v4 {
		return nil
	}
	return &v6
}
