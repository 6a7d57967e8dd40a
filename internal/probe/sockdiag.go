package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// containerNetns reads the TCP sockets of a container's network namespace
// through a sock_diag netlink socket opened inside it (the calling threads
// never change namespace).
type containerNetns struct {
	ns netns.NsHandle
	mu sync.Mutex // one dump at a time on the handle's socket
	h  *netlink.Handle
}

func openNetns(pid int) (*containerNetns, error) {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return nil, fmt.Errorf("open the network namespace of its process %d (%v): the measurement must run on the Docker host itself, as root", pid, err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_INET_DIAG)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("open a sock_diag socket in its network namespace: %w", err)
	}
	return &containerNetns{ns: ns, h: h}, nil
}

func (c *containerNetns) Close() {
	c.h.Close()
	c.ns.Close()
}

// sockKey identifies one connection socket.
type sockKey struct {
	local, remote netip.AddrPort
	cookie        [2]uint32
}

// accepted lists the connection sockets (neither listening nor half-open)
// whose local port is port, both families (a dual-stack listener's IPv4
// connections are AF_INET6 sockets with mapped addresses).
func (c *containerNetns) accepted(port int) (map[sockKey]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[sockKey]bool{}
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		socks, err := c.h.SocketDiagTCP(fam)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return nil, fmt.Errorf("sock_diag dump: %w", err)
		}
		for _, s := range socks {
			if int(s.ID.SourcePort) != port || s.State == netlink.TCP_LISTEN || s.State == netlink.TCP_SYN_RECV {
				continue
			}
			l, _ := netip.AddrFromSlice(s.ID.Source)
			r, _ := netip.AddrFromSlice(s.ID.Destination)
			out[sockKey{
				local:  netip.AddrPortFrom(l.Unmap(), s.ID.SourcePort),
				remote: netip.AddrPortFrom(r.Unmap(), s.ID.DestinationPort),
				cookie: s.ID.Cookie,
			}] = true
		}
	}
	return out, nil
}

// observation is what one connection showed.
type observation struct {
	dialErr error
	local   netip.AddrPort // the client's end
	peer    netip.Addr     // the peer of the container's socket; invalid = none appeared
}

// observe connects from the client to target and returns the peer address of
// the connection that appears in the container on port: a socket that was not
// there before (see pickPeer for which one when a live server accepts other
// clients meanwhile). It waits for it until ctx ends and resets the
// connection as soon as it is seen.
func observe(ctx context.Context, ns *containerNetns, rc *RemoteClient, target netip.AddrPort, port int, relay func(netip.Addr) bool) (observation, error) {
	before, err := ns.accepted(port)
	if err != nil {
		return observation{}, err
	}
	network := "tcp4"
	if target.Addr().Is6() {
		network = "tcp6"
	}
	c, err := rc.DialContext(ctx, network, target.String())
	if err != nil {
		return observation{dialErr: err}, nil
	}
	defer resetConn(c)
	obs := observation{}
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		obs.local = netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	}
	for delay := 200 * time.Microsecond; ; delay = min(2*delay, 20*time.Millisecond) {
		now, err := ns.accepted(port)
		if err != nil {
			return obs, err
		}
		var fresh []sockKey
		for k := range now {
			if !before[k] {
				fresh = append(fresh, k)
			}
		}
		if len(fresh) > 0 {
			obs.peer = pickPeer(fresh, obs.local, relay)
			return obs, nil
		}
		select {
		case <-ctx.Done():
			return obs, nil
		case <-time.After(delay):
		}
	}
}

// pickPeer chooses among the sockets that appeared: the client's own address
// and port (a kernel NAT path keeps both), else its address, else a relay's
// (an address of the host, such as a gateway docker-proxy connects from, or
// of another container: relay says which), else the lowest (a stranger).
func pickPeer(fresh []sockKey, client netip.AddrPort, relay func(netip.Addr) bool) netip.Addr {
	for _, k := range fresh {
		if k.remote == client {
			return k.remote.Addr()
		}
	}
	for _, k := range fresh {
		if k.remote.Addr() == client.Addr() {
			return k.remote.Addr()
		}
	}
	if relay != nil {
		if slices.ContainsFunc(fresh, func(k sockKey) bool { return relay(k.remote.Addr()) }) {
			fresh = slices.DeleteFunc(slices.Clone(fresh), func(k sockKey) bool { return !relay(k.remote.Addr()) })
		}
	}
	best := fresh[0]
	for _, k := range fresh[1:] {
		if k.remote.Compare(best.remote) < 0 {
			best = k
		}
	}
	return best.remote.Addr()
}

// resetConn closes c with a TCP reset (SO_LINGER 0): no data, no FIN handshake.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// addDefaultRoutes routes everything from the client namespace through the
// host side, so that the client reaches any address of the host (a port
// bound to a specific address) and routed container addresses.
func (rc *RemoteClient) addDefaultRoutes() error {
	nh, err := netlink.NewHandleAt(rc.ns)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", rc.Netns, err)
	}
	defer nh.Close()
	l, err := nh.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("find eth0 in %s: %w", rc.Netns, err)
	}
	for _, gw := range []netip.Addr{rc.HostIPv6, rc.HostIPv4} {
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw.AsSlice()}
		if err := nh.RouteReplace(r); err != nil {
			return fmt.Errorf("default route via %s in %s: %w", gw, rc.Netns, err)
		}
	}
	return nil
}
