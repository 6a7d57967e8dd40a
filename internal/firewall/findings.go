package firewall

import (
	"fmt"
	"slices"
)

// Kinds of Finding.
const (
	// KindDockerIptables: Docker's chains (DOCKER, DOCKER-USER, ...) in an
	// ip/ip6 table made through iptables-nft.
	KindDockerIptables = "docker-iptables"
	// KindDockerNftables: the tables of Docker's nftables firewall backend
	// (Docker 29+): "docker-bridges", "docker".
	KindDockerNftables = "docker-nftables"
	// KindUFW: UFW's chains (ufw-*, ufw6-*), or the ufw.service unit.
	KindUFW = "ufw"
	// KindFirewalld: firewalld's table, or the firewalld.service unit.
	KindFirewalld = "firewalld"
	// KindIptablesNft: other base chains that hook input or forward in an
	// iptables-nft table (ip/ip6 filter and friends).
	KindIptablesNft = "iptables-nft"
	// KindNftables: any other inet/ip6/ip table with a chain on the input
	// or forward hook.
	KindNftables = "nftables"
)

// Finding is one other thing that filters (or NATs) this host's traffic.
type Finding struct {
	// Name says where: "ip6 filter", "inet firewalld", "ufw.service".
	Name string
	// Kind is one of the Kind constants.
	Kind string
	// Detail is one line for a human.
	Detail string
}

// MergeUnitStates adds the systemd state of ufw.service and
// firewalld.service to findings. units maps a unit name to its ActiveState
// ("active", "inactive", "failed", ...), as the provider reads it over D-Bus;
// units not in the map are skipped, as are units that are inactive or failed
// while none of their chains are in nftables (nothing filters then).
func MergeUnitStates(findings []Finding, units map[string]string) []Finding {
	out := slices.Clone(findings)
	for _, u := range []struct{ unit, kind, does string }{
		{"ufw.service", KindUFW, "UFW filters IPv6 addressed to the host (docker-proxy) but not IPv6 that Docker NATs to containers"},
		{"firewalld.service", KindFirewalld, "firewalld filters IPv6 addressed to the host; Docker puts its bridges in zone \"docker\" (target ACCEPT)"},
	} {
		state, ok := units[u.unit]
		if !ok {
			continue
		}
		traced := slices.ContainsFunc(findings, func(f Finding) bool { return f.Kind == u.kind })
		stopped := state == "" || state == "inactive" || state == "failed"
		if stopped && !traced {
			continue
		}
		d := fmt.Sprintf("systemd unit %s is %s", u.unit, state)
		switch {
		case !stopped:
			d += "; " + u.does
		case traced:
			d += ", but its rules are still in the kernel"
		}
		out = append(out, Finding{u.unit, u.kind, d})
	}
	return out
}
