package probe

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-connections/nat"
)

func TestParseBinding(t *testing.T) {
	for _, c := range []struct {
		ip, fam, text string
		specific      bool
	}{
		{"", FamilyBoth, "*:2525", false},
		{"0.0.0.0", FamilyIPv4, "0.0.0.0:2525", false},
		{"::", FamilyIPv6, "[::]:2525", false},
		{"[::]", FamilyIPv6, "[::]:2525", false},
		{"198.18.0.25", FamilyIPv4, "198.18.0.25:2525", true},
		{"fd00:25::1", FamilyIPv6, "[fd00:25::1]:2525", true},
		{"::ffff:198.18.0.25", FamilyIPv4, "198.18.0.25:2525", true},
	} {
		b := parseBinding(25, nat.PortBinding{HostIP: c.ip, HostPort: "2525"})
		if b.fam != c.fam || b.text != c.text || b.hostIP.IsValid() != c.specific || b.hostPort != 2525 || b.port != 25 {
			t.Errorf("HostIP %q: %+v, want family %s, text %s, specific %v", c.ip, b, c.fam, c.text, c.specific)
		}
	}
}

func testClient() *RemoteClient {
	return &RemoteClient{
		HostIPv6: netip.MustParseAddr("fd00:c::1"), ClientIPv6: netip.MustParseAddr("fd00:c::2"),
		HostIPv4: netip.MustParseAddr("198.19.0.1"), ClientIPv4: netip.MustParseAddr("198.19.0.2"),
	}
}

func targetText(ts []rowTarget) []string {
	var out []string
	for _, t := range ts {
		out = append(out, strings.Join([]string{t.fam, netip.AddrPortFrom(t.addr, uint16(t.hostPort)).String(), t.path, t.binding, t.via}, " "))
	}
	return out
}

func TestTargets(t *testing.T) {
	rc := testClient()
	both := []string{FamilyIPv6, FamilyIPv4}
	bind := func(port int, ips ...string) []binding {
		var out []binding
		for _, ip := range ips {
			out = append(out, parseBinding(port, nat.PortBinding{HostIP: ip, HostPort: "2525"}))
		}
		return out
	}
	for _, c := range []struct {
		name string
		mc   measuredContainer
		fams []string
		want []string
	}{
		{"Docker's default binding: one row per family on the client's host-side address",
			measuredContainer{ports: []int{25}, binds: bind(25, "0.0.0.0", "::")}, both,
			[]string{"ipv6 [fd00:c::1]:2525 dnat [::]:2525 ", "ipv4 198.19.0.1:2525 dnat 0.0.0.0:2525 "}},
		{"0.0.0.0 only: the IPv6 row still goes to the host's address, with no binding",
			measuredContainer{ports: []int{25}, binds: bind(25, "0.0.0.0")}, both,
			[]string{"ipv6 [fd00:c::1]:2525 dnat  ", "ipv4 198.19.0.1:2525 dnat 0.0.0.0:2525 "}},
		{"a specific address of each family",
			measuredContainer{ports: []int{25}, binds: bind(25, "198.18.0.25", "fd00:25::1")}, both,
			[]string{"ipv6 [fd00:25::1]:2525 dnat [fd00:25::1]:2525 ", "ipv4 198.18.0.25:2525 dnat 198.18.0.25:2525 "}},
		{"a specific IPv4 address, IPv6 asked: the host's IPv6 address",
			measuredContainer{ports: []int{25}, binds: bind(25, "198.18.0.25")}, []string{FamilyIPv6},
			[]string{"ipv6 [fd00:c::1]:2525 dnat  "}},
		{"host network",
			measuredContainer{host: true, ports: []int{25, 587}}, []string{FamilyIPv4},
			[]string{"ipv4 198.19.0.1:25 host  ", "ipv4 198.19.0.1:587 host  "}},
		{"routed IPv6: the container's own address and port",
			measuredContainer{ports: []int{25}, binds: bind(25, "0.0.0.0", "::"), routed6: netip.MustParseAddr("fd00:7::2")}, both,
			[]string{"ipv6 [fd00:7::2]:25 routed  ", "ipv4 198.19.0.1:2525 dnat 0.0.0.0:2525 "}},
		{"published by a front proxy",
			measuredContainer{ports: []int{25}, binds: []binding{{port: 25, fam: FamilyIPv6, hostPort: 25, text: "[::]:25", via: "traefik"}}}, []string{FamilyIPv6},
			[]string{"ipv6 [fd00:c::1]:25 dnat [::]:25 traefik"}},
	} {
		got := targetText(c.mc.targets(rc, c.fams))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got  %q\n want %q", c.name, got, c.want)
		}
	}
}

func TestSummarizeTakesTheWorstRow(t *testing.T) {
	r := ContainerResult{Ports: []PortResult{
		{Port: 25, Family: FamilyIPv6, HostAddress: "fd00:c::1", HostPort: 25, Verdict: VerdictPreserved, ObservedAddress: "fd00:c::2", Detail: "fine."},
		{Port: 587, Family: FamilyIPv6, HostAddress: "fd00:c::1", HostPort: 587, Verdict: VerdictRefused, Detail: "refused."},
		{Port: 465, Family: FamilyIPv4, HostAddress: "198.19.0.1", HostPort: 465, Verdict: VerdictUnreachable, Detail: "dropped."},
	}}
	r.summarize()
	if r.Verdict != VerdictUnreachable || r.Preserved || r.Detail != "Port 465/tcp (IPv4, 198.19.0.1:465): dropped." {
		t.Errorf("%s %v %q", r.Verdict, r.Preserved, r.Detail)
	}
	r.Ports = append(r.Ports, PortResult{Port: 993, Family: FamilyIPv6, HostAddress: "fd00:c::1", HostPort: 993, Verdict: VerdictMasqueraded, ObservedAddress: "198.18.0.1", Detail: "gateway."})
	r.summarize()
	if r.Verdict != VerdictMasqueraded || r.ObservedAddress != "198.18.0.1" || !strings.HasPrefix(r.Detail, "Port 993/tcp (IPv6, [fd00:c::1]:993)") {
		t.Errorf("%s %s %q", r.Verdict, r.ObservedAddress, r.Detail)
	}
	r.Ports = r.Ports[:1]
	r.summarize()
	if !r.Preserved || r.ObservedAddress != "fd00:c::2" {
		t.Errorf("one preserved row: %s %v %s", r.Verdict, r.Preserved, r.ObservedAddress)
	}
}

func TestPickPeer(t *testing.T) {
	client := netip.MustParseAddrPort("[fd00:c::2]:40000")
	k := func(remote string) sockKey { return sockKey{remote: netip.MustParseAddrPort(remote)} }
	for _, c := range []struct {
		fresh []sockKey
		want  string
	}{
		{[]sockKey{k("198.18.0.1:51000")}, "198.18.0.1"},                          // a relay's own port
		{[]sockKey{k("198.51.100.7:40000"), k("[fd00:c::2]:40000")}, "fd00:c::2"}, // another client at the same time
		{[]sockKey{k("198.18.0.9:1"), k("198.18.0.1:2")}, "198.18.0.1"},           // stable choice among strangers
		{[]sockKey{k("[fd00:c::2]:40001"), k("198.18.0.1:40000")}, "fd00:c::2"},   // the client's address, another port
		{[]sockKey{k("198.18.0.0:7"), k("198.18.0.1:51000")}, "198.18.0.1"},       // a relay (the gateway) before a stranger
	} {
		relay := func(a netip.Addr) bool { return a == netip.MustParseAddr("198.18.0.1") }
		if got := pickPeer(c.fresh, client, relay).String(); got != c.want {
			t.Errorf("%v: %s, want %s", c.fresh, got, c.want)
		}
	}
}

func TestContainerOptionsNormalize(t *testing.T) {
	o := ContainerOptions{Container: "mail", Ports: []int{587, 25, 587}}
	if err := o.normalize(); err != nil {
		t.Fatal(err)
	}
	if o.Family != FamilyIPv6 || o.Timeout != DefaultTimeout || !slices.Equal(o.Ports, []int{25, 587}) {
		t.Errorf("%+v: want family ipv6, the default timeout, ports [25 587]", o)
	}
	if got := (ContainerOptions{Family: FamilyBoth}).families(); !slices.Equal(got, []string{FamilyIPv6, FamilyIPv4}) {
		t.Errorf("both: %v", got)
	}
	for _, c := range []struct {
		o    ContainerOptions
		want string
	}{
		{ContainerOptions{Container: " "}, "no container given"},
		{ContainerOptions{Container: "mail", Family: "ipv5"}, `family must be "ipv6", "ipv4" or "both", not "ipv5"`},
		{ContainerOptions{Container: "mail", Ports: []int{0}}, `port 0 of container "mail" is out of range`},
		{ContainerOptions{Container: "mail", Timeout: -time.Second}, "negative timeout"},
	} {
		if err := c.o.normalize(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}
