package probe

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// clientIPv4Range is where simulated clients take their IPv4 /30s from: the
// lower half of 198.19.0.0/16 in the benchmark range 198.18.0.0/15, apart from
// everything the sandbox gives Docker (bip 198.18.0.0/24, the address pool
// 198.18.64.0/18, the networks make bench creates in 198.18.128.0/17) and from
// 198.19.128.0/17, left for Docker pools too. pickClientPrefixes also skips any
// prefix an address or route of the namespace already uses.
var clientIPv4Range = netip.MustParsePrefix("198.19.0.0/17")

// RemoteClient is a simulated remote host: a named network namespace
// (/run/netns/dockeripv6-probe-<random>) joined to the current network
// namespace by a veth pair. The host side (dip6h<random>) holds HostIPv6/64
// and HostIPv4/30; the client side, eth0 in the namespace, holds ClientIPv6
// and ClientIPv4. Connections made with DialContext leave from the client
// namespace, so they reach the host the way an outside client's do.
type RemoteClient struct {
	Netns                string // name under /run/netns
	HostLink             string // host side of the veth pair
	HostIPv6, ClientIPv6 netip.Addr
	HostIPv4, ClientIPv4 netip.Addr

	ns        netns.NsHandle
	prefixes  []netip.Prefix
	closeOnce sync.Once
	closeErr  error
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// NewRemoteClient creates a simulated remote client in a new network namespace
// with ULA and 198.19.0.0/17 addresses that no interface or route of the
// current namespace uses. It needs CAP_NET_ADMIN and CAP_SYS_ADMIN. Close
// removes it; on error nothing is left behind.
func NewRemoteClient(ctx context.Context) (*RemoteClient, error) {
	return newRemoteClient(ctx, "")
}

// newRemoteClient is NewRemoteClient with the client prefixes derived from seed:
// the same seed gives the same addresses run after run (so a data source's
// client_address does not change at every plan) unless they are taken; an
// empty seed picks them at random.
func newRemoteClient(ctx context.Context, seed string) (rc *RemoteClient, err error) {
	suffix := randomHex(4)
	rc = &RemoteClient{Netns: NamePrefix + suffix, HostLink: LinkPrefix + suffix, ns: netns.None()}
	register("n/"+rc.Netns, "l/"+rc.HostLink)
	defer func() {
		if err != nil {
			_ = rc.Close()
			rc = nil
		}
	}()
	if err := ctx.Err(); err != nil {
		return rc, err
	}
	v6, v4, err := pickClientPrefixes(seed)
	if err != nil {
		return rc, err
	}
	rc.prefixes = []netip.Prefix{v6, v4}
	rc.HostIPv6, rc.ClientIPv6 = v6.Addr().Next(), v6.Addr().Next().Next()
	rc.HostIPv4, rc.ClientIPv4 = v4.Addr().Next(), v4.Addr().Next().Next()

	// The veth comes first, with the owner in its alias: a Cleanup in another
	// process then knows the namespace created next is in use.
	peer := peerPrefix + suffix
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: rc.HostLink}, PeerName: peer}
	if err := netlink.LinkAdd(veth); err != nil {
		return rc, fmt.Errorf("create veth %s: %w", rc.HostLink, err)
	}
	// The kernel ignores IFLA_IFALIAS on creation; set it right after.
	if err := netlink.LinkSetAlias(veth, aliasPrefix+selfOwner()); err != nil {
		return rc, fmt.Errorf("set alias of %s: %w", rc.HostLink, err)
	}
	if rc.ns, err = newNamedNetns(rc.Netns); err != nil {
		return rc, err
	}
	peerLink, err := netlink.LinkByName(peer)
	if err != nil {
		return rc, fmt.Errorf("find veth peer %s: %w", peer, err)
	}
	if err := netlink.LinkSetNsFd(peerLink, int(rc.ns)); err != nil {
		return rc, fmt.Errorf("move %s into %s: %w", peer, rc.Netns, err)
	}

	// Client side, through a netlink socket opened in the client namespace.
	nh, err := netlink.NewHandleAt(rc.ns)
	if err != nil {
		return rc, fmt.Errorf("netlink in %s: %w", rc.Netns, err)
	}
	defer nh.Close()
	cl, err := nh.LinkByName(peer)
	if err != nil {
		return rc, fmt.Errorf("find %s in %s: %w", peer, rc.Netns, err)
	}
	if err := nh.LinkSetName(cl, "eth0"); err != nil {
		return rc, fmt.Errorf("rename %s to eth0: %w", peer, err)
	}
	if err := rc.Do(func() error {
		writeSysctl("/proc/sys/net/ipv6/conf/eth0/accept_dad", "0")
		writeSysctl("/proc/sys/net/ipv6/conf/eth0/disable_ipv6", "0")
		return nil
	}); err != nil {
		return rc, err
	}
	if err := addAddrs(nh.AddrAdd, cl, netip.PrefixFrom(rc.ClientIPv6, 64), netip.PrefixFrom(rc.ClientIPv4, 30)); err != nil {
		return rc, fmt.Errorf("client side: %w", err)
	}
	lo, err := nh.LinkByName("lo")
	if err != nil {
		return rc, fmt.Errorf("find lo in %s: %w", rc.Netns, err)
	}
	for _, l := range []netlink.Link{lo, cl} {
		if err := nh.LinkSetUp(l); err != nil {
			return rc, fmt.Errorf("set %s up in %s: %w", l.Attrs().Name, rc.Netns, err)
		}
	}

	// Host side.
	hl, err := netlink.LinkByName(rc.HostLink)
	if err != nil {
		return rc, fmt.Errorf("find %s: %w", rc.HostLink, err)
	}
	writeSysctl("/proc/sys/net/ipv6/conf/"+rc.HostLink+"/accept_dad", "0")
	writeSysctl("/proc/sys/net/ipv6/conf/"+rc.HostLink+"/disable_ipv6", "0")
	if err := addAddrs(netlink.AddrAdd, hl, netip.PrefixFrom(rc.HostIPv6, 64), netip.PrefixFrom(rc.HostIPv4, 30)); err != nil {
		return rc, fmt.Errorf("host side: %w", err)
	}
	if err := netlink.LinkSetUp(hl); err != nil {
		return rc, fmt.Errorf("set %s up: %w", rc.HostLink, err)
	}
	// Permanent neighbour entries both ways: no ARP/NDP round trip whose first
	// probe may be lost on a link this fresh (costing a 1 s retransmission).
	cl, err = nh.LinkByName("eth0")
	if err != nil {
		return rc, fmt.Errorf("find eth0 in %s: %w", rc.Netns, err)
	}
	for _, fam := range []string{FamilyIPv6, FamilyIPv4} {
		client, host := rc.Addrs(fam)
		if err := nh.NeighSet(permanentNeigh(cl, host, hl.Attrs().HardwareAddr)); err != nil {
			return rc, fmt.Errorf("neighbour %s in %s: %w", host, rc.Netns, err)
		}
		if err := netlink.NeighSet(permanentNeigh(hl, client, cl.Attrs().HardwareAddr)); err != nil {
			return rc, fmt.Errorf("neighbour %s on %s: %w", client, rc.HostLink, err)
		}
	}
	if err := waitOperUp(ctx, netlink.LinkByName, rc.HostLink); err != nil {
		return rc, err
	}
	if err := waitOperUp(ctx, nh.LinkByName, "eth0"); err != nil {
		return rc, err
	}
	for _, fam := range []string{FamilyIPv6, FamilyIPv4} {
		client, host := rc.Addrs(fam)
		if err := waitLocalRoute(ctx, netlink.RouteGet, host); err != nil {
			return rc, err
		}
		if err := waitLocalRoute(ctx, nh.RouteGet, client); err != nil {
			return rc, err
		}
	}
	return rc, nil
}

func permanentNeigh(l netlink.Link, ip netip.Addr, mac net.HardwareAddr) *netlink.Neigh {
	fam := netlink.FAMILY_V4
	if ip.Is6() {
		fam = netlink.FAMILY_V6
	}
	return &netlink.Neigh{LinkIndex: l.Attrs().Index, Family: fam, State: netlink.NUD_PERMANENT, IP: ip.AsSlice(), HardwareAddr: mac}
}

// waitLocalRoute waits until the kernel routes a just-added address as local.
// The local route of an IPv6 address is installed by a work queue after the
// link comes up; a SYN arriving before that is not delivered (and costs a 1 s
// retransmission).
func waitLocalRoute(ctx context.Context, get func(net.IP) ([]netlink.Route, error), a netip.Addr) error {
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		routes, err := get(a.AsSlice())
		if err == nil && len(routes) > 0 && routes[0].Type == unix.RTN_LOCAL {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not become a local address: %w", a, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// waitOperUp waits until the kernel reports the link operationally up: only
// then does it carry packets (until the link watcher has run, a fresh veth
// may drop them, and a dropped SYN costs a 1 s retransmission).
func waitOperUp(ctx context.Context, byName func(string) (netlink.Link, error), name string) error {
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		l, err := byName(name)
		if err != nil {
			return fmt.Errorf("find %s: %w", name, err)
		}
		if l.Attrs().OperState == netlink.OperUp {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not come up (operstate %s): %w", name, l.Attrs().OperState, ctx.Err())
		case <-time.After(delay):
		}
	}
}

func addAddrs(add func(netlink.Link, *netlink.Addr) error, l netlink.Link, ps ...netip.Prefix) error {
	for _, p := range ps {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD // usable at once, no duplicate address detection
		}
		if err := add(l, a); err != nil {
			return fmt.Errorf("add %s to %s: %w", p, l.Attrs().Name, err)
		}
	}
	return nil
}

func writeSysctl(path, value string) {
	_ = os.WriteFile(path, []byte(value), 0o644) // best effort: IFA_F_NODAD is what matters
}

// newNamedNetns creates /run/netns/<name> and returns a handle to it, leaving
// the calling thread in the namespace it was in.
func newNamedNetns(name string) (netns.NsHandle, error) {
	runtime.LockOSThread()
	origin, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return netns.None(), fmt.Errorf("current netns: %w", err)
	}
	defer origin.Close()
	ns, nerr := netns.NewNamed(name) // switches this thread into the new namespace
	if err := netns.Set(origin); err != nil {
		// The thread stays locked: the runtime ends it with this goroutine.
		if nerr == nil {
			ns.Close()
		}
		return netns.None(), fmt.Errorf("return to the original netns: %w", err)
	}
	runtime.UnlockOSThread()
	if nerr != nil {
		return netns.None(), fmt.Errorf("create netns %s: %w", name, nerr)
	}
	return ns, nil
}

// Do runs fn on a thread that is inside the client's network namespace, then
// returns the thread to its namespace. Sockets created in fn stay in the client
// namespace; processes started in fn (os/exec) run in it.
func (rc *RemoteClient) Do(fn func() error) error {
	runtime.LockOSThread()
	origin, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("current netns: %w", err)
	}
	defer origin.Close()
	if err := netns.Set(rc.ns); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter %s: %w", rc.Netns, err)
	}
	ferr := fn()
	if err := netns.Set(origin); err != nil {
		// Leave the thread locked so the runtime discards it.
		return errors.Join(ferr, fmt.Errorf("leave %s: %w", rc.Netns, err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// DialContext connects from inside the client namespace (see net.Dialer.DialContext).
func (rc *RemoteClient) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var c net.Conn
	err := rc.Do(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// Addrs returns the client's address and the host side's address for family
// "ipv6" or "ipv4".
func (rc *RemoteClient) Addrs(family string) (client, host netip.Addr) {
	if family == FamilyIPv4 {
		return rc.ClientIPv4, rc.HostIPv4
	}
	return rc.ClientIPv6, rc.HostIPv6
}

// Close removes the veth pair and the namespace. It is safe to call more than
// once and does not depend on any context.
func (rc *RemoteClient) Close() error {
	rc.closeOnce.Do(func() {
		var errs []error
		if l, err := netlink.LinkByName(rc.HostLink); err == nil {
			if err := netlink.LinkDel(l); err != nil && !isNotExist(err) {
				errs = append(errs, fmt.Errorf("delete %s: %w", rc.HostLink, err))
			}
		} else if !isNotExist(err) {
			errs = append(errs, fmt.Errorf("find %s: %w", rc.HostLink, err))
		}
		if rc.ns.IsOpen() {
			rc.ns.Close()
		}
		if err := deleteNamedNetns(rc.Netns); err != nil {
			errs = append(errs, err)
		}
		releasePrefixes(rc.prefixes...)
		unregister("n/"+rc.Netns, "l/"+rc.HostLink)
		rc.closeErr = errors.Join(errs...)
	})
	return rc.closeErr
}

// pickClientPrefixes picks a ULA /64 and a /30 in clientIPv4Range that overlap no
// address or route of the current namespace and no other remote client of this
// process: the candidates are SHA-256(seed, i) for i = 0, 1, ... when seed is
// set, random otherwise.
func pickClientPrefixes(seed string) (v6, v4 netip.Prefix, err error) {
	used, err := usedPrefixes()
	if err != nil {
		return v6, v4, err
	}
	free := func(p netip.Prefix) bool {
		for _, u := range used {
			if u.Overlaps(p) {
				return false
			}
		}
		return true
	}
	for i := range 100 {
		var b [16]byte
		r := make([]byte, 2)
		if seed != "" {
			sum := sha256.Sum256([]byte(fmt.Sprintf("dockeripv6 probe client\x00%s\x00%d", seed, i)))
			copy(b[1:8], sum[:7])
			copy(r, sum[7:9])
		} else {
			if _, err := rand.Read(b[1:8]); err != nil {
				return v6, v4, err
			}
			if _, err := rand.Read(r); err != nil {
				return v6, v4, err
			}
		}
		b[0] = 0xfd // RFC 4193, L=1; 40-bit Global ID + subnet ID from the seed or random
		v6 = netip.PrefixFrom(netip.AddrFrom16(b), 64)
		v4 = clientIPv4Prefix(r)
		if free(v6) && free(v4) && reservePrefixes(v6, v4) {
			return v6, v4, nil
		}
	}
	return v6, v4, fmt.Errorf("no free client prefix found in fd00::/8 and %s", clientIPv4Range)
}

// clientIPv4Prefix is the /30 of clientIPv4Range that the two bytes r pick.
func clientIPv4Prefix(r []byte) netip.Prefix {
	base := clientIPv4Range.Masked().Addr().As4()
	span := uint32(1)<<(32-clientIPv4Range.Bits()) - 1
	n := binary.BigEndian.Uint32(base[:]) + (uint32(r[0])<<8|uint32(r[1]))&span&^3
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], n)
	return netip.PrefixFrom(netip.AddrFrom4(a), 30)
}

// usedPrefixes lists the prefixes of all addresses and (non-default) routes of
// the current network namespace.
func usedPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if p, ok := ipNetPrefix(a.IPNet); ok {
			out = append(out, p)
		}
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := netlink.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return nil, fmt.Errorf("list routes: %w", err)
		}
		for _, r := range routes {
			if p, ok := ipNetPrefix(r.Dst); ok && p.Bits() > 0 {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func ipNetPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	ones, bits := n.Mask.Size()
	if bits == 0 {
		return netip.Prefix{}, false
	}
	if a.Is4() && bits == 128 {
		ones -= 96
	}
	return netip.PrefixFrom(a, ones).Masked(), true
}
