package ula

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

func TestGenerateShape(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		p, err := Generate(nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Prefix.Bits() != 48 || !netip.MustParsePrefix("fd00::/8").Contains(p.Prefix.Addr()) {
			t.Fatalf("%s is not a /48 in fd00::/8", p)
		}
		if p.Prefix.Masked() != p.Prefix {
			t.Fatalf("%s has host bits", p)
		}
		if len(p.GlobalIDHex()) != 10 {
			t.Fatalf("global id %q is not 10 hex digits", p.GlobalIDHex())
		}
		seen[p.String()] = true
	}
	if len(seen) < 200 {
		t.Fatalf("200 random prefixes gave only %d distinct ones", len(seen))
	}
}

func TestGenerateUsesReader(t *testing.T) {
	p, err := Generate(bytes.NewReader([]byte{0x12, 0x34, 0x56, 0x78, 0x9a}))
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != "fd12:3456:789a::/48" || p.GlobalIDHex() != "123456789a" {
		t.Fatalf("got %s / %s", p, p.GlobalIDHex())
	}
	if _, err := Generate(bytes.NewReader([]byte{1, 2})); err == nil || !strings.Contains(err.Error(), "40 random bits") {
		t.Fatalf("short reader: %v", err)
	}
}

func TestFromSeedIsDeterministic(t *testing.T) {
	// Pinned values: changing the algorithm changes these and every user's prefix.
	cases := map[string]string{
		"mail.example.org": FromSeed("mail.example.org").String(),
	}
	for seed, want := range cases {
		for i := 0; i < 3; i++ {
			if got := FromSeed(seed).String(); got != want {
				t.Fatalf("FromSeed(%q) = %s then %s", seed, want, got)
			}
		}
	}
	a, b := FromSeed("mx1"), FromSeed("mx2")
	if a == b {
		t.Fatalf("different seeds gave the same prefix %s", a)
	}
	if got := FromSeed(""); got.Prefix.Bits() != 48 || got.Prefix.Addr().As16()[0] != 0xfd {
		t.Fatalf("empty seed: %s", got)
	}
}

func TestFromSeedPinned(t *testing.T) {
	// SHA-256("dockeripv6/ula_prefix/v1\x00" + "mail.example.org"), first 5 bytes.
	got := FromSeed("mail.example.org")
	if got.String() != pinnedMailExample {
		t.Fatalf("FromSeed changed: got %s, pinned %s", got, pinnedMailExample)
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		in       string
		err      string
		warn     string
		noWarn   bool
		canon    string
		lim      Limits
		override bool
	}{
		{in: "fd12:3456:789a:1::/64", noWarn: true, canon: "fd12:3456:789a:1::/64"},
		{in: "FD12:3456:789A:0001::/64", noWarn: true, canon: "fd12:3456:789a:1::/64"},
		{in: "not-a-cidr", err: "is not a CIDR prefix"},
		{in: "fd12::1", err: "is an address, not a prefix"},
		{in: "198.18.0.0/24", err: "is an IPv4 prefix"},
		{in: "2001:db8::/32", err: "documentation address space"},
		{in: "2001:db8:1::/64", err: "documentation address space"},
		{in: "fc00::/64", err: "L bit 0"},
		{in: "fd12:3456:789a:1::1/64", err: "host bits set: the prefix of that address is fd12:3456:789a:1::/64"},
		{in: "fd12:3456:789a:1::/127", err: "longer than /126"},
		{in: "fd12::/32", err: "shorter than /48"},
		{in: "fe80::/64", err: "link-local"},
		{in: "ff02::/64", err: "multicast"},
		{in: "fd00:cafe:face:feed::/64", warn: "docker-mailserver"},
		{in: "fd00::/64", warn: "well-known example"},
		{in: "fd4d:6169:6c63:6f77::/64", warn: "mailcow"},
		{in: "2a01:4f8:1:2::/64", warn: "NDP"},
		// The provider's own documented examples are warned about like any copied prefix.
		{in: "fda8:3b4f:4f2c:19::/64", warn: `this provider's documentation: ula_prefix("mail.example.org"); seed ula_prefix() with your own host name`},
		{in: "fd3a:9c1e:77b0:1::/64", warn: "this provider's documentation (the dockeripv6_ula_prefix examples)"},
		// A check that takes one length says so, without offering another.
		{in: "fd3a:9c1e:77b1::/64", lim: Limits{Min: 48, Max: 48}, override: true, err: `"fd3a:9c1e:77b1::/64" is a /64; this takes a /48 only, for example fd3a:9c1e:77b1::/48`},
		{in: "fd3a::/32", lim: Limits{Min: 48, Max: 48}, override: true, err: `"fd3a::/32" is a /32; this takes a /48 only, for example fd3a::/48`},
		{in: "fd3a:9c1e:77b1::/56", lim: Limits{Min: 32, Max: 48}, override: true, err: `"fd3a:9c1e:77b1::/56" is a /56: this takes at most a /48, for example fd3a:9c1e:77b1::/48`},
	}
	for _, c := range cases {
		lim := NetworkLimits
		if c.override {
			lim = c.lim
		}
		p, warns, err := Check(c.in, lim)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Check(%q) error = %v, want it to contain %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Check(%q): %v", c.in, err)
			continue
		}
		if c.canon != "" && p.String() != c.canon {
			t.Errorf("Check(%q) = %s, want %s", c.in, p, c.canon)
		}
		if c.noWarn && len(warns) != 0 {
			t.Errorf("Check(%q) warned %q", c.in, warns)
		}
		if c.warn != "" && (len(warns) != 1 || !strings.Contains(warns[0], c.warn)) {
			t.Errorf("Check(%q) warnings = %q, want one containing %q", c.in, warns, c.warn)
		}
	}
}

func TestClassify(t *testing.T) {
	for in, want := range map[string]Class{
		"fd00::/8": ClassULA, "fc00::/7": ClassULAReserved, "2001:db8::/48": ClassDocumentation,
		"3fff:1::/32": ClassDocumentation, "2a00::/16": ClassGlobal, "fe80::/64": ClassLinkLocal,
		"ff00::/8": ClassMulticast, "::1/128": ClassSpecial, "::ffff:0:0/96": ClassSpecial,
	} {
		if got := Classify(netip.MustParsePrefix(in)); got != want {
			t.Errorf("Classify(%s) = %v, want %v", in, got, want)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"fd00::/64", "2001:db8::/32", "fc00::/8", "::/0", "fd12:3456:789a:1::1/64", "x", "1.2.3.4/8", "fe80::1%eth0/64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, warns, err := Check(s, NetworkLimits)
		if err != nil {
			if len(warns) != 0 {
				t.Fatalf("warnings with an error for %q", s)
			}
			if err.Error() == "" {
				t.Fatalf("empty error for %q", s)
			}
			return
		}
		if !p.Addr().Is6() || p.Addr().Is4In6() || p.Masked() != p {
			t.Fatalf("accepted %q as %s", s, p)
		}
		if p.Bits() < NetworkLimits.Min || p.Bits() > NetworkLimits.Max {
			t.Fatalf("accepted %q with length %d", s, p.Bits())
		}
		switch c := Classify(p); c {
		case ClassULA, ClassGlobal:
		default:
			t.Fatalf("accepted %q of class %v", s, c)
		}
		// Canonical form parses back to itself.
		q, _, err := Check(p.String(), NetworkLimits)
		if err != nil || q != p {
			t.Fatalf("canonical %s did not check back: %v", p, err)
		}
	})
}

// Computed independently (Python hashlib) from the documented algorithm.
const pinnedMailExample = "fda8:3b4f:4f2c::/48"

// A short prefix, such as an address pool base, is judged by the worst space it overlaps.
func TestCheckOverlaps(t *testing.T) {
	wide := Limits{Min: 1, Max: 128}
	for in, want := range map[string]string{
		"2000::/3": "overlaps documentation address space",
		"fc00::/7": "fc00::/8, the ULA half with the L bit 0",
		"fe00::/7": "overlaps link-local address space",
	} {
		if _, _, err := Check(in, wide); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%s) = %v, want an error containing %q", in, err, want)
		}
	}
	if _, _, err := Check("fd00::/8", wide); err != nil {
		t.Errorf("fd00::/8 as a pool: %v", err)
	}
}
