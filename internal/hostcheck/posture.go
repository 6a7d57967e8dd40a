package hostcheck

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

// IDs of the posture findings: what else decides whether IPv6 clients reach
// the ports of a planned dockeripv6_firewall (its plan warnings).
const (
	IDPostureBesideUFW         = "posture-beside-ufw"
	IDPostureBesideFirewalld   = "posture-beside-firewalld"
	IDRefuseBesideIPv6Networks = "refuse-beside-ipv6-networks"
	IDPortsNotPublished        = "ports-not-published"
)

// PostureFindings judges the planned posture p against f (see GatherPosture):
// the posture findings of Catalog, in its order. All are warnings; rules
// whose facts were not observed stay silent.
func PostureFindings(f Facts, p firewall.Posture) []Finding {
	return run(Posture, func(e Entry, add adder) { e.posture(f, p, add) })
}

// frontendRule: the frontend runs (its unit, or its rules in nftables) beside
// the posture, and stops filtering IPv6 that Docker NATs.
func frontendRule(fe firewall.Frontend) func(Facts, firewall.Posture, adder) {
	return func(f Facts, p firewall.Posture, add adder) {
		state := f.Units[fe.Unit]
		inNftables := slices.ContainsFunc(f.OtherFirewalls, func(o firewall.Finding) bool { return o.Kind == fe.Kind && o.Name != fe.Unit })
		active := !firewall.Stopped(state)
		if !active && !inNftables {
			return
		}
		var how string
		switch {
		case active:
			how = fmt.Sprintf("systemd reports %s %s.", fe.Unit, state)
		case state != "":
			how = fmt.Sprintf("systemd reports %s %s, but %s's rules are still in nftables.", fe.Unit, state, fe.Name)
		default:
			how = fmt.Sprintf("%s's rules are in nftables.", fe.Name)
		}
		add(SeverityWarning, how+" "+fe.Bypass(portList(p.Ports)),
			"This table refuses or allows IPv6 on both paths, so ipv6_clients = \""+p.IPv6Clients+"\" holds either way. "+firewall.DockerUserAdvice)
	}
}

// refuseBesideIPv6Networks: a refuse posture beside Docker networks with an
// IPv6 subnet, which exist so that IPv6 clients keep their address.
func refuseBesideIPv6Networks(f Facts, p firewall.Posture, add adder) {
	if p.IPv6Clients != firewall.IPv6Refuse {
		return
	}
	var withV6 []string
	for _, n := range f.Networks {
		if !n.IPv6 {
			continue
		}
		var subnets []string
		for _, s := range n.IPv6Subnets {
			if pfx, err := netip.ParsePrefix(s); err == nil && pfx.Addr().Is6() {
				subnets = append(subnets, pfx.String())
			}
		}
		if len(subnets) > 0 {
			withV6 = append(withV6, fmt.Sprintf("%s (%s)", n.Name, strings.Join(subnets, ", ")))
		}
	}
	if len(withV6) == 0 {
		return
	}
	sort.Strings(withV6)
	add(SeverityWarning,
		fmt.Sprintf("ipv6_clients = \"refuse\" turns remote IPv6 clients away from %s so that they fall back to IPv4, but these "+
			"Docker networks have an IPv6 subnet: %s. The two cures for masqueraded IPv6 clients contradict each other: "+
			"a network with IPv6 (and ip6tables) exists so that IPv6 clients reach the mail server with their own address, "+
			"and this table refuses those same clients before they get there.", portList(p.Ports), strings.Join(withV6, "; ")),
		"Choose one: ipv6_clients = \"allow\" to keep native IPv6 on those networks, or keep \"refuse\" and take IPv6 off them.")
}

// portsNotPublished: ports of the posture that no running container publishes
// (over TCP), likely a typo or a different host port.
func portsNotPublished(f Facts, p firewall.Posture, add adder) {
	if f.Networks == nil {
		return // Docker not read
	}
	published := map[uint16]bool{}
	for _, n := range f.Networks {
		for _, c := range n.Containers {
			for _, port := range c.Ports {
				if port.HostPort != 0 && port.Proto == "tcp" {
					published[port.HostPort] = true
				}
			}
		}
	}
	var missing []uint16
	for _, port := range p.Ports {
		if !published[port] {
			missing = append(missing, port)
		}
	}
	if len(missing) == 0 {
		return
	}
	now := "No running container publishes a TCP port."
	if len(published) > 0 {
		ports := make([]uint16, 0, len(published))
		for port := range published {
			ports = append(ports, port)
		}
		slices.Sort(ports)
		now = "Running containers publish " + portList(ports) + "."
	}
	add(SeverityWarning,
		fmt.Sprintf("No running container publishes %s. %s", portList(missing), now),
		"The posture still applies to them (and to a container that publishes them later), but check for a typo or a port "+
			"mapping that differs (compose \"2525:25\" publishes 2525), or drop ports the mail server does not offer.")
}

// portList is "port 25" or "ports 25, 587".
func portList(ports []uint16) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(int(p))
	}
	if len(s) == 1 {
		return "port " + s[0]
	}
	return "ports " + strings.Join(s, ", ")
}
