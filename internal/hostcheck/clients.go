package hostcheck

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/trust"
)

// Client is what remote clients looked like to a mail container on one of its
// published ports (a per-port measurement), beside what the container
// trusts (trust.Read).
type Client struct {
	// Container names the mail container.
	Container string
	// Port is the published host port, Family the clients' family ("ipv4"
	// or "ipv6").
	Port   uint16
	Family string
	// Masqueraded is the address the container saw in a remote client's
	// place (the network's gateway, docker-proxy's source); the zero Addr
	// when it saw the client itself, or nothing.
	Masqueraded netip.Addr
	// Trust is what the container trusts.
	Trust trust.Set
}

func (f Facts) masqueradedClientsTrusted(add adder) {
	for _, x := range MasqueradedClientsTrusted(f.Clients) {
		add(x.Severity, x.Message, x.Fix)
	}
}

// MasqueradedClientsTrusted is the masqueraded-clients-trusted finding of
// clients: one per container and masqueraded address that the container
// trusts, naming the ports and what trusts it. A trust that is not known
// (trust.Set.Contains nil) or false makes no finding. Pure: same clients,
// same findings, in the order of clients.
func MasqueradedClientsTrusted(clients []Client) []Finding {
	type key struct {
		container string
		addr      netip.Addr
	}
	var order []key
	ports := map[key][]string{}
	why := map[key]string{}
	for _, c := range clients {
		a := c.Masqueraded.Unmap()
		if !a.IsValid() {
			continue
		}
		if t := c.Trust.Contains(a); t == nil || !*t {
			continue
		}
		k := key{c.Container, a}
		if _, seen := ports[k]; !seen {
			order = append(order, k)
			why[k] = c.Trust.Why(a)
		}
		p := fmt.Sprint(c.Port)
		switch c.Family {
		case "ipv4", "ipv6":
			p += " (" + familyName(c.Family) + ")"
		}
		if !slices.Contains(ports[k], p) {
			ports[k] = append(ports[k], p)
		}
	}
	var out []Finding
	for _, k := range order {
		out = append(out, Finding{ID: IDMasqueradedClientsTrusted, Severity: SeverityError,
			Message: fmt.Sprintf("Container %q sees remote clients on %s %s as %s, not as themselves, and it trusts that address: %s. "+
				"So every remote client that arrives this way may relay mail through this server without authentication, an open relay.",
				k.container, verb(len(ports[k]), "port", "ports"), strings.Join(ports[k], ", "), k.addr, why[k]),
			Fix: "Let remote clients keep their own address: put the container on a dockeripv6_network with an IPv6 ULA subnet " +
				"(from dockeripv6_ula_prefix) and make sure ip6tables is on (dockeripv6_daemon_config), so Docker NATs IPv6 to it instead of " +
				"docker-proxy relaying it. Or trust less, so that relaying needs authentication: PERMIT_DOCKER=none for docker-mailserver, " +
				"or a Postfix mynetworks (Mailu: SUBNET) that leaves out " + k.addr.String() + ". Or refuse IPv6 to the mail ports with dockeripv6_firewall (ipv6_clients = \"refuse\").",
		})
	}
	return out
}
