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

// Frontend is a firewall frontend that filters only what is addressed to the
// host (its rules sit in the INPUT chain): IPv6 that Docker NATs to a
// container passes it. What it does and does not filter is written here once,
// for other_firewalls, the host's findings and the firewall's plan warnings.
type Frontend struct {
	// Unit is its systemd unit, Kind the Kind of its findings, Name how it is called.
	Unit, Kind, Name string
	// Filters is one clause: what it filters, and what it does not.
	Filters string
	// bypass says why its rules stop applying to IPv6 for some ports once
	// Docker NATs IPv6; %[1]s is the ports ("published ports", "ports 25, 587").
	bypass string
}

// Bypass explains, in a few sentences, which IPv6 connections the frontend
// still decides and why its rules stop applying to ports (for example "ports
// 25, 587" or "published ports") once Docker NATs IPv6.
func (f Frontend) Bypass(ports string) string { return fmt.Sprintf(f.bypass, ports) }

// The frontends: UFW and firewalld.
var (
	UFW = Frontend{Unit: "ufw.service", Kind: KindUFW, Name: "UFW",
		Filters: "UFW filters IPv6 addressed to the host (docker-proxy), not what Docker DNATs to containers",
		bypass: "UFW filters only traffic addressed to the host: its rules sit in the INPUT chain. They still decide IPv6 connections " +
			"addressed to the host itself: SSH, and published ports that docker-proxy answers because the container has no IPv6 address. " +
			"Once Docker NATs IPv6 (ip6tables on and the container on a network with an IPv6 subnet), Docker rewrites the destination in " +
			"the nat table's PREROUTING chain, before INPUT, and forwards the connection to the container: UFW's allow and deny rules for " +
			"%[1]s then no longer apply to IPv6, just as they never applied to published IPv4 ports (ufw-docker's IPv6 rules are a " +
			"separate after6.rules block)."}
	Firewalld = Frontend{Unit: "firewalld.service", Kind: KindFirewalld, Name: "firewalld",
		Filters: "firewalld filters IPv6 addressed to the host; Docker puts its bridges in zone \"docker\" (target ACCEPT)",
		bypass: "firewalld's zones still decide IPv6 connections addressed to the host itself: SSH, and published ports that " +
			"docker-proxy answers because the container has no IPv6 address. Once Docker NATs IPv6 (ip6tables on and the container " +
			"on a network with an IPv6 subnet), Docker DNATs the connection before input filtering and forwards it to its bridges, " +
			"which it puts in firewalld's zone \"docker\" (target ACCEPT; Docker 27.0.1+ adds the policy \"docker-forwarding\"): the " +
			"services and ports of firewalld's zones then no longer apply to IPv6 for %[1]s."}
	Frontends = []Frontend{UFW, Firewalld}
)

// DockerUserAdvice is where rules for Docker-published ports belong.
const DockerUserAdvice = "To restrict who reaches published ports over IPv4 (and IPv6 once Docker NATs it), use Docker's " +
	"DOCKER-USER chain: UFW's and firewalld's own rules do not reach them."

// FrontendUnits are the Frontends' systemd units.
func FrontendUnits() []string {
	units := make([]string, len(Frontends))
	for i, f := range Frontends {
		units[i] = f.Unit
	}
	return units
}

// MergeUnitStates adds the systemd state of ufw.service and
// firewalld.service to findings. units maps a unit name to its ActiveState
// ("active", "inactive", "failed", ...), as the provider reads it over D-Bus;
// units not in the map are skipped, as are units that are inactive or failed
// while none of their chains are in nftables (nothing filters then).
func MergeUnitStates(findings []Finding, units map[string]string) []Finding {
	out := slices.Clone(findings)
	for _, u := range Frontends {
		state, ok := units[u.Unit]
		if !ok {
			continue
		}
		traced := slices.ContainsFunc(findings, func(f Finding) bool { return f.Kind == u.Kind })
		stopped := Stopped(state)
		if stopped && !traced {
			continue
		}
		d := fmt.Sprintf("systemd unit %s is %s", u.Unit, state)
		switch {
		case !stopped:
			d += "; " + u.Filters
		case traced:
			d += ", but its rules are still in the kernel"
		}
		out = append(out, Finding{Name: u.Unit, Kind: u.Kind, Detail: d})
	}
	return out
}

// Stopped tells whether a unit's ActiveState means it runs nothing ("" is unknown or absent).
func Stopped(state string) bool { return state == "" || state == "inactive" || state == "failed" }
