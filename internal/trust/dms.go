package trust

import (
	"fmt"
	"net/netip"
)

// docker-mailserver's PERMIT_DOCKER values.
const (
	PermitNone              = "none"
	PermitContainer         = "container"
	PermitHost              = "host"
	PermitNetwork           = "network"
	PermitConnectedNetworks = "connected-networks"
)

// dockerNetwork is what PERMIT_DOCKER=network adds, whatever the container's
// networks are.
var dockerNetwork = netip.MustParsePrefix("172.16.0.0/12")

// permitDocker is the source docker-mailserver's _setup_docker_permit makes
// of PERMIT_DOCKER (target/scripts/startup/setup.d/networking.sh). It reads
// the IPv4 address of NETWORK_INTERFACE (eth0) and of every veth interface;
// Docker does not say which network is eth0, so with several networks
// "container" and "host" are alternatives (see Entry.Prefixes).
func permitDocker(value string, ifs []iface) Source {
	src := Source{Name: "PERMIT_DOCKER=" + value}
	var v4 []netip.Prefix
	for _, i := range ifs {
		if i.v4.IsValid() {
			v4 = append(v4, i.v4)
		}
	}
	noIPv4 := Entry{Text: value, Unknown: "the container has no IPv4 address, and docker-mailserver stops at start-up without one"}
	switch value {
	case PermitNone:
	case PermitContainer:
		if len(v4) == 0 {
			src.Entries = append(src.Entries, noIPv4)
			break
		}
		e := Entry{}
		for _, p := range v4 {
			e.Prefixes = append(e.Prefixes, netip.PrefixFrom(p.Addr(), 32))
		}
		e.Text = alternatives(e.Prefixes)
		src.Entries = append(src.Entries, e)
	case PermitHost:
		if len(v4) == 0 {
			src.Entries = append(src.Entries, noIPv4)
			break
		}
		e := Entry{}
		for _, p := range v4 {
			b := p.Addr().As4()
			e.Prefixes = append(e.Prefixes, netip.PrefixFrom(netip.AddrFrom4([4]byte{b[0], b[1], 0, 0}), 16))
		}
		e.Text = alternatives(e.Prefixes)
		src.Entries = append(src.Entries, e)
	case PermitNetwork:
		src.Entries = append(src.Entries, known(dockerNetwork))
	case PermitConnectedNetworks:
		for _, i := range ifs {
			if !i.v4.IsValid() {
				continue
			}
			switch i.driver {
			case "bridge", "overlay":
				src.Entries = append(src.Entries, known(i.v4.Masked()))
			case "macvlan", "ipvlan", "host", "null":
				// not a veth interface: docker-mailserver skips it
			default:
				src.Entries = append(src.Entries, Entry{Text: i.v4.Masked().String(),
					Unknown: fmt.Sprintf("network %q has driver %q: whether its interface is a veth (which docker-mailserver trusts) is not known", i.network, i.driver)})
			}
		}
	default:
		src.Name += " (not a value docker-mailserver knows: it then trusts no network)"
	}
	return src
}

func alternatives(ps []netip.Prefix) string {
	if len(ps) == 1 {
		return ps[0].String()
	}
	s := "one of"
	for i, p := range ps {
		if i > 0 {
			s += ","
		}
		s += " " + p.String()
	}
	return s
}
