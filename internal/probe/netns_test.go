package probe

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// probeNetLeftovers lists probe namespaces and links in the current namespace.
func probeNetLeftovers(t testing.TB) []string {
	t.Helper()
	var out []string
	entries, _ := os.ReadDir(NetnsDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), NamePrefix) {
			out = append(out, filepath.Join(NetnsDir, e.Name()))
		}
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if n := l.Attrs().Name; strings.HasPrefix(n, LinkPrefix) || strings.HasPrefix(n, peerPrefix) {
			out = append(out, "link "+n)
		}
	}
	return out
}

func assertNoProbeNet(t testing.TB) {
	t.Helper()
	if left := probeNetLeftovers(t); len(left) > 0 {
		t.Errorf("probe leftovers: %v", left)
	}
}

// hostServer runs the probe server on a dual-stack wildcard port of the
// current namespace (which the remote client reaches through its veth).
func hostServer(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = serve(ln) }()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func askFrom(t testing.TB, rc *RemoteClient, target netip.AddrPort) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rc.DialContext(ctx, "tcp", target.String())
	if err != nil {
		t.Fatalf("dial %s from the client namespace: %v", target, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read from %s: %v", target, err)
	}
	return strings.TrimSpace(line)
}

func TestNetnsRemoteClient(t *testing.T) {
	requireIsolatedNetns(t)
	t.Cleanup(func() { assertNoProbeNet(t) })
	port := hostServer(t)

	start := time.Now()
	rc, err := NewRemoteClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("remote client %s/%s ready in %s: client %s %s, host side %s %s", rc.Netns, rc.HostLink, time.Since(start), rc.ClientIPv6, rc.ClientIPv4, rc.HostIPv6, rc.HostIPv4)

	if !strings.HasPrefix(rc.Netns, NamePrefix) || !strings.HasPrefix(rc.HostLink, LinkPrefix) || len(rc.HostLink) > 15 {
		t.Errorf("names %q %q", rc.Netns, rc.HostLink)
	}
	if _, err := os.Stat(filepath.Join(NetnsDir, rc.Netns)); err != nil {
		t.Errorf("named netns: %v", err)
	}
	if !rc.ClientIPv6.Is6() || rc.ClientIPv6.As16()[0] != 0xfd || !clientIPv4Range.Contains(rc.ClientIPv4) {
		t.Errorf("client addresses %s %s are not ULA / %s", rc.ClientIPv6, rc.ClientIPv4, clientIPv4Range)
	}
	hl, err := netlink.LinkByName(rc.HostLink)
	if err != nil {
		t.Fatal(err)
	}
	if hl.Attrs().Alias != aliasPrefix+selfOwner() {
		t.Errorf("alias %q", hl.Attrs().Alias)
	}
	// The client side is eth0 in the client namespace, lo is up there.
	if err := rc.Do(func() error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		var got []string
		for _, a := range addrs {
			got = append(got, a.IPNet.String())
		}
		s := strings.Join(got, " ")
		if !strings.Contains(s, rc.ClientIPv6.String()+"/64") || !strings.Contains(s, rc.ClientIPv4.String()+"/30") {
			return fmt.Errorf("eth0 addresses: %s", s)
		}
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if lo.Attrs().Flags&net.FlagUp == 0 {
			return fmt.Errorf("lo is down in the client namespace")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}

	// Connections leave from the client namespace: the server sees the client's address at once (no DAD wait).
	for _, fam := range []string{FamilyIPv6, FamilyIPv4} {
		client, host := rc.Addrs(fam)
		if got := askFrom(t, rc, netip.AddrPortFrom(host, uint16(port))); got != client.String() {
			t.Errorf("%s: server saw %s, want %s", fam, got, client)
		}
	}

	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	assertNoProbeNet(t)
	if isLive("n/"+rc.Netns) || isLive("l/"+rc.HostLink) {
		t.Error("closed client still registered")
	}
}

func TestNetnsConcurrentClients(t *testing.T) {
	requireIsolatedNetns(t)
	t.Cleanup(func() { assertNoProbeNet(t) })
	port := hostServer(t)
	const n = 4
	var wg sync.WaitGroup
	clients := make([]*RemoteClient, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clients[i], errs[i] = NewRemoteClient(context.Background())
			if errs[i] == nil {
				_ = Cleanup(context.Background(), nil) // must not touch live clients
			}
		}()
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for i, rc := range clients {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer rc.Close()
		for _, fam := range []string{FamilyIPv6, FamilyIPv4} {
			client, host := rc.Addrs(fam)
			if seen[client] {
				t.Errorf("address %s handed out twice", client)
			}
			seen[client] = true
			if got := askFrom(t, rc, netip.AddrPortFrom(host, uint16(port))); got != client.String() {
				t.Errorf("client %d %s: server saw %s, want %s", i, fam, got, client)
			}
		}
	}
	for _, rc := range clients {
		if err := rc.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestNetnsPrefixesAvoidHostAddresses(t *testing.T) {
	requireIsolatedNetns(t)
	// Occupy the lower halves of the client range and fd00::/8 (on a veth: this
	// kernel may lack the dummy driver).
	d := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "dip6test0"}, PeerName: "dip6test1"}
	if err := netlink.LinkAdd(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(d) })
	taken := []string{"198.19.0.1/18", "fd00::1/9"}
	for _, a := range taken {
		addr, _ := netlink.ParseAddr(a)
		if err := netlink.AddrAdd(d, addr); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		seed := ""
		if i%2 == 1 {
			seed = fmt.Sprint("seed-", i)
		}
		v6, v4, err := pickClientPrefixes(seed)
		if err != nil {
			t.Fatal(err)
		}
		releasePrefixes(v6, v4)
		for _, a := range taken {
			p := netip.MustParsePrefix(a).Masked()
			if p.Overlaps(v6) || p.Overlaps(v4) {
				t.Fatalf("picked %s / %s inside the host's %s", v6, v4, p)
			}
		}
	}
}

// A seed gives the same client prefixes run after run, so the data source's
// client_address is stable; a prefix in use moves it to the next candidate.
func TestPickClientPrefixesSeeded(t *testing.T) {
	requireIsolatedNetns(t)
	a6, a4, err := pickClientPrefixes("bridge/ipv6")
	if err != nil {
		t.Fatal(err)
	}
	releasePrefixes(a6, a4)
	b6, b4, err := pickClientPrefixes("bridge/ipv6")
	if err != nil {
		t.Fatal(err)
	}
	if a6 != b6 || a4 != b4 {
		t.Fatalf("same seed gave %s/%s then %s/%s", a6, a4, b6, b4)
	}
	// While b is reserved, the same seed must pick something else.
	c6, c4, err := pickClientPrefixes("bridge/ipv6")
	if err != nil {
		t.Fatal(err)
	}
	releasePrefixes(b6, b4, c6, c4)
	if c6 == b6 || c4 == b4 {
		t.Fatalf("a reserved prefix was handed out twice: %s/%s", c6, c4)
	}
	o6, o4, err := pickClientPrefixes("bridge/ipv4")
	if err != nil {
		t.Fatal(err)
	}
	releasePrefixes(o6, o4)
	if o6 == a6 {
		t.Fatalf("different seeds gave the same prefix %s", o6)
	}
}

func TestNetnsCleanupLeftovers(t *testing.T) {
	requireIsolatedNetns(t)
	t.Cleanup(func() { _ = Cleanup(context.Background(), nil); assertNoProbeNet(t) })

	veth := func(suffix, alias string) {
		t.Helper()
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: LinkPrefix + suffix}, PeerName: peerPrefix + suffix}
		if err := netlink.LinkAdd(v); err != nil {
			t.Fatal(err)
		}
		if alias != "" {
			if err := netlink.LinkSetAlias(v, alias); err != nil {
				t.Fatal(err)
			}
		}
	}
	namedNetns := func(suffix string) {
		t.Helper()
		ns, err := newNamedNetns(NamePrefix + suffix)
		if err != nil {
			t.Fatal(err)
		}
		ns.Close()
	}
	initStart, err := procStartTime(1)
	if err != nil {
		t.Fatal(err)
	}
	liveOther := aliasPrefix + "1." + initStart // pid 1 is alive and not us

	// Leftovers: a namespace alone, a veth of a dead process, a veth of this
	// process not in use, a stale file in /run/netns. A bare veth whose name
	// starts like a probe's was not made by one: it stays.
	namedNetns("00000001")
	veth("00000002", "")
	veth("00000003", aliasPrefix+"999999999.1")
	namedNetns("00000003")
	veth("00000004", aliasPrefix+selfOwner())
	if err := os.WriteFile(filepath.Join(NetnsDir, NamePrefix+"00000005"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	// In use: a live measurement of this process, and one of another live process.
	register("n/"+NamePrefix+"00000006", "l/"+LinkPrefix+"00000006")
	t.Cleanup(func() { unregister("n/"+NamePrefix+"00000006", "l/"+LinkPrefix+"00000006") })
	veth("00000006", aliasPrefix+selfOwner())
	namedNetns("00000006")
	veth("00000007", liveOther)
	namedNetns("00000007")

	if err := Cleanup(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	left := strings.Join(probeNetLeftovers(t), " ")
	for _, keep := range []string{"00000006", "00000007"} {
		if !strings.Contains(left, NamePrefix+keep) || !strings.Contains(left, LinkPrefix+keep) {
			t.Errorf("Cleanup removed the live measurement %s: left %s", keep, left)
		}
	}
	if !strings.Contains(left, LinkPrefix+"00000002") {
		t.Errorf("Cleanup removed %s00000002, a link no probe made: left %s", LinkPrefix, left)
	}
	for _, gone := range []string{"00000001", "00000003", "00000004", "00000005"} {
		if strings.Contains(left, gone) {
			t.Errorf("Cleanup left %s: %s", gone, left)
		}
	}
	// Once nobody owns them, they go too.
	unregister("n/"+NamePrefix+"00000006", "l/"+LinkPrefix+"00000006")
	if l, err := netlink.LinkByName(LinkPrefix + "00000007"); err == nil {
		_ = netlink.LinkSetAlias(l, aliasPrefix+"999999999.1")
	}
	if err := Cleanup(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if l, err := netlink.LinkByName(LinkPrefix + "00000002"); err != nil {
		t.Errorf("the link no probe made is gone: %v", err)
	} else if err := netlink.LinkDel(l); err != nil {
		t.Fatal(err)
	}
	assertNoProbeNet(t)
}
