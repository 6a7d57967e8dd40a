package trust

import (
	"net/netip"
	"testing"
)

// Any main.cf parses, expands (or says why not) and yields a Source without
// panicking; an entry is either judged (prefixes) or says why not.
func FuzzMainCF(f *testing.F) {
	for _, seed := range []string{
		"mynetworks = 127.0.0.0/8 [::1]/128 $a\na = ${b?198.18.0.0/15} $(c)\nb = x\nc = !198.18.0.1\n",
		"mynetworks_style = class\ncompatibility_level = 3.6\ninet_protocols = ipv4\n",
		"mynetworks = ${{$x} == {y}?z} [fd7e::]/64, hash:/t /f host.example.org\n  [::ffff:127.0.0.0]/104",
		"mynetworks = $mynetworks\n",
	} {
		f.Add(seed)
	}
	ifs := []iface{{network: "mail", driver: "bridge", v4: pfx("198.18.5.2/24"), v6: pfx("fd7e:3c1a:95d2:5::2/64")}}
	f.Fuzz(func(t *testing.T, data string) {
		src := ParseMainCF([]byte(data)).mynetworksSource(ifs, false)
		for _, e := range src.Entries {
			if (e.Unknown == "") == (len(e.Prefixes) == 0) {
				t.Fatalf("entry %+v is neither judged nor unknown", e)
			}
		}
		_ = src.Contains(netip.MustParseAddr("198.18.5.1"))
	})
}
