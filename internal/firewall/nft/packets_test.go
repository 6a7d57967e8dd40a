package nft

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

// The packet tests build, in namespaces of their own:
//
//	client (cli0)  ---  (srv0) server (srv1)  ---  (ctr0) "container"
//	fd00:d0c:1::2/64        fd00:d0c:1::1/64        fd00:d0c:2::1/64      fd00:d0c:2::2/64
//	fd00:d0c:1::3/64        198.18.1.1/24           198.18.2.1/24         198.18.2.2/24
//	198.18.1.2/24
//
// The client also has a route to fd00:d0c:2::/64 via the server, to reach
// the container's address directly (routed, not NATed).
//
// The server listens on [::]:2525 itself (what docker-proxy does) and, like
// Docker with ip6tables on, DNATs port 2526 of its own addresses (IPv6 and
// IPv4) to the container's port 8080, in a nat table the test makes.
// The server namespace forwards. fd00:d0c:1::3 is the client's second address,
// the one inside allow_ipv6_from.

var (
	srvV6   = netip.MustParseAddr("fd00:d0c:1::1")
	srvV4   = netip.MustParseAddr("198.18.1.1")
	cliV6   = netip.MustParseAddr("fd00:d0c:1::2")
	cliV6ok = netip.MustParseAddr("fd00:d0c:1::3")
	cliV4   = netip.MustParseAddr("198.18.1.2")
	ctrV6   = netip.MustParseAddr("fd00:d0c:2::2")
	loV6    = netip.MustParseAddr("::1")
	none    netip.Addr
)

const (
	proxyPort     = 2525 // the server's own listener (docker-proxy)
	publishedPort = 2526 // DNATed to the container
	containerPort = 8080
)

type testbed struct {
	srv, cli, ctr netns.NsHandle
}

func newTestbed(t *testing.T) *testbed {
	t.Helper()
	b := &testbed{srv: newNS(t), cli: newNS(t), ctr: newNS(t)}
	for _, ns := range []netns.NsHandle{b.srv, b.cli, b.ctr} {
		// No duplicate address detection on the links to come: their
		// link-local addresses are usable at once.
		sysctl(t, ns, "net/ipv6/conf/default/accept_dad", "0")
		sysctl(t, ns, "net/ipv6/conf/all/accept_dad", "0")
	}
	veth(t, b.srv, b.cli, "srv0", "cli0")
	veth(t, b.srv, b.ctr, "srv1", "ctr0")
	addr(t, b.srv, "srv0", "fd00:d0c:1::1/64")
	addr(t, b.srv, "srv0", "198.18.1.1/24")
	addr(t, b.cli, "cli0", "fd00:d0c:1::2/64")
	addr(t, b.cli, "cli0", "fd00:d0c:1::3/64")
	addr(t, b.cli, "cli0", "198.18.1.2/24")
	addr(t, b.srv, "srv1", "fd00:d0c:2::1/64")
	addr(t, b.srv, "srv1", "198.18.2.1/24")
	addr(t, b.ctr, "ctr0", "fd00:d0c:2::2/64")
	addr(t, b.ctr, "ctr0", "198.18.2.2/24")
	route(t, b.ctr, "ctr0", "", "fd00:d0c:2::1")
	route(t, b.ctr, "ctr0", "", "198.18.2.1")
	route(t, b.cli, "cli0", "fd00:d0c:2::/64", "fd00:d0c:1::1") // for the routed (not NATed) probe
	sysctl(t, b.srv, "net/ipv6/conf/all/forwarding", "1")
	sysctl(t, b.srv, "net/ipv4/ip_forward", "1")
	nftFile(t, b.srv, `
table ip6 testnat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip6 daddr fd00:d0c:1::1 tcp dport 2526 dnat to [fd00:d0c:2::2]:8080
	}
}
table ip testnat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 198.18.1.1 tcp dport 2526 dnat to 198.18.2.2:8080
	}
}
`)
	listen(t, b.srv, "[::]:2525")
	listen(t, b.ctr, "[::]:8080")
	return b
}

type expect int

const (
	connects expect = iota
	refused         // ECONNREFUSED, quickly
	timesOut        // no answer within the timeout
)

func (e expect) String() string {
	return [...]string{"connects", "refused", "times out"}[e]
}

type probe struct {
	name string
	from netns.NsHandle
	src  netip.Addr
	dst  netip.AddrPort
	want expect
	seen netip.Addr // for connects: the source the server must see
}

const dialTimeout = time.Second

func check(t *testing.T, pr probe) {
	t.Helper()
	o := dial(pr.from, pr.src, pr.dst, dialTimeout)
	t.Logf("%-58s -> %s", pr.name, o)
	switch pr.want {
	case connects:
		if o.err != nil {
			t.Errorf("%s: want a connection, got %s", pr.name, o)
		} else if pr.seen.IsValid() && o.seen != pr.seen.String() {
			t.Errorf("%s: server saw %s, want %s", pr.name, o.seen, pr.seen)
		}
	case refused:
		if !errors.Is(o.err, unix.ECONNREFUSED) {
			t.Errorf("%s: want connection refused, got %s", pr.name, o)
		} else if o.elapsed > 500*time.Millisecond {
			t.Errorf("%s: refused only after %v; a reset should be immediate", pr.name, o.elapsed)
		}
	case timesOut:
		if !isTimeout(o.err) {
			t.Errorf("%s: want a time-out, got %s", pr.name, o)
		}
	}
}

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

func TestPackets(t *testing.T) {
	b := newTestbed(t)
	c := nftConn(t, b.srv)
	allowList := mustPrefixes(t, "fd00:d0c:1::3/128", "fd12:3456:789a::/48")
	ports := []uint16{25, proxyPort, publishedPort}

	// Probes, by path.
	proxy := func(want6 expect) []probe {
		return []probe{
			{"docker-proxy path: IPv6 client", b.cli, cliV6, ap(srvV6, proxyPort), want6, cliV6},
			{"docker-proxy path: IPv4 client", b.cli, cliV4, ap(srvV4, proxyPort), connects, cliV4},
			{"docker-proxy path: IPv6 client in allow_ipv6_from", b.cli, cliV6ok, ap(srvV6, proxyPort), connects, cliV6ok},
			{"docker-proxy path: local [::1]", b.srv, none, ap(loV6, proxyPort), connects, loV6},
			{"docker-proxy path: local to own address (lo)", b.srv, none, ap(srvV6, proxyPort), connects, srvV6},
		}
	}
	dnat := func(want6 expect) []probe {
		return []probe{
			{"DNAT path: IPv6 client", b.cli, cliV6, ap(srvV6, publishedPort), want6, cliV6},
			{"DNAT path: IPv4 client", b.cli, cliV4, ap(srvV4, publishedPort), connects, cliV4},
			{"DNAT path: IPv6 client in allow_ipv6_from", b.cli, cliV6ok, ap(srvV6, publishedPort), connects, cliV6ok},
		}
	}

	steps := []struct {
		name   string
		p      *firewall.Posture // nil: Delete
		probes []probe
	}{
		{"no table", nil, append(proxy(connects), dnat(connects)...)},
		{"refuse, tcp-reset", &firewall.Posture{IPv6Clients: firewall.IPv6Refuse, Ports: ports, AllowIPv6From: allowList}, append(proxy(refused), dnat(refused)...)},
		{"allow", &firewall.Posture{IPv6Clients: firewall.IPv6Allow, Ports: ports, AllowIPv6From: allowList}, append(proxy(connects), dnat(connects)...)},
		{"refuse, drop", &firewall.Posture{IPv6Clients: firewall.IPv6Refuse, RejectWith: firewall.RejectDrop, Ports: ports, AllowIPv6From: allowList}, append(proxy(timesOut), dnat(timesOut)...)},
		// The forward rule matches the port the client asked for (2526),
		// not the container's port after DNAT (8080): with only 8080 in
		// the set nothing on the DNAT path is refused ...
		// IPv6 routed to the container's own address (no DNAT, so the
		// client address is preserved anyway) is not refused either:
		// the forward rule requires "ct status dnat".
		{"refuse, ports {8080} only", &firewall.Posture{IPv6Clients: firewall.IPv6Refuse, Ports: []uint16{containerPort}}, append(dnat(connects),
			probe{"routed, not NATed: IPv6 client to the container's address", b.cli, cliV6, ap(ctrV6, containerPort), connects, cliV6})},
		// ... and with 2526 alone it is.
		{"refuse, ports {2526} only", &firewall.Posture{IPv6Clients: firewall.IPv6Refuse, Ports: []uint16{publishedPort}}, append(dnat(refused)[:1],
			probe{"docker-proxy path: IPv6 client, port not in set", b.cli, cliV6, ap(srvV6, proxyPort), connects, cliV6})},
		{"deleted", nil, append(proxy(connects), dnat(connects)...)},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.p == nil {
				if err := c.Delete(ctx, firewall.DefaultTable); err != nil {
					t.Fatal(err)
				}
			} else {
				mustApply(t, c, *st.p)
				readClean(t, c, firewall.DefaultTable)
			}
			for _, pr := range st.probes {
				check(t, pr)
			}
		})
	}
}

// The host's own outgoing IPv6 connections from a local port in the set are not
// refused: their replies arrive on the input hook with that port as destination.
func TestRefuseKeepsHostOutgoingConnections(t *testing.T) {
	b := newTestbed(t)
	listen(t, b.cli, "[::]:2527")
	p := firewall.Posture{IPv6Clients: firewall.IPv6Refuse, Ports: []uint16{proxyPort, 46000}}
	if err := nftConn(t, b.srv).Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	// Still refused inbound: the posture is in force.
	check(t, probe{name: "client to proxy port", from: b.cli, src: cliV6, dst: ap(srvV6, proxyPort), want: refused})
	err := inNS(b.srv, func() error {
		d := net.Dialer{Timeout: dialTimeout, LocalAddr: &net.TCPAddr{IP: srvV6.AsSlice(), Port: 46000}}
		c, err := d.Dial("tcp", ap(cliV6, 2527).String())
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(dialTimeout))
		_, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	if err != nil {
		t.Fatalf("the host's outgoing connection from local port 46000 failed under refuse: %v", err)
	}
}
