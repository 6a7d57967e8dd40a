package probe

import (
	"net/netip"
	"testing"
)

// The simulated clients' IPv4 range lies in the benchmark range and apart from
// everything the sandbox gives Docker, and every /30 picked lies inside it.
func TestClientIPv4RangeAvoidsDockerPools(t *testing.T) {
	if !netip.MustParsePrefix("198.18.0.0/15").Contains(clientIPv4Range.Addr()) {
		t.Fatalf("client range %s is outside 198.18.0.0/15", clientIPv4Range)
	}
	for _, docker := range []string{
		"198.18.0.0/24",   // the sandbox's bip
		"198.18.64.0/18",  // the sandbox's default-address-pools
		"198.18.128.0/17", // make bench's networks
		"198.19.128.0/17", // left for Docker pools
	} {
		if p := netip.MustParsePrefix(docker); p.Overlaps(clientIPv4Range) {
			t.Errorf("client range %s overlaps %s", clientIPv4Range, p)
		}
	}
	seen := map[netip.Prefix]bool{}
	for _, r := range [][]byte{{0, 0}, {0, 3}, {0x7f, 0xff}, {0x80, 0}, {0xff, 0xff}, {0x12, 0x35}} {
		p := clientIPv4Prefix(r)
		if p.Bits() != 30 || p.Masked() != p || !clientIPv4Range.Contains(p.Addr()) || !clientIPv4Range.Contains(netip.PrefixFrom(p.Addr(), 30).Masked().Addr().Next().Next().Next()) {
			t.Errorf("clientIPv4Prefix(%x) = %s, not a /30 inside %s", r, p, clientIPv4Range)
		}
		seen[p] = true
	}
	if len(seen) != 3 { // {0,0} {0,3} {0x80,0} share a /30, as do {0x7f,0xff} {0xff,0xff}
		t.Errorf("clientIPv4Prefix picks too few different /30s: %v", seen)
	}
}
