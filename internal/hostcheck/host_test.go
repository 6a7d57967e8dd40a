package hostcheck

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHostPort(t *testing.T) {
	for _, c := range []struct {
		p      Port
		s      string
		onIPv6 bool
	}{
		{Port{"0.0.0.0", 25, 25, "tcp"}, "0.0.0.0:25->25/tcp", false},
		{Port{"::", 25, 25, "tcp"}, "[::]:25->25/tcp", true},
		{Port{"", 587, 587, ""}, ":587->587/tcp", true},
		{Port{"2a01:4f8:c17:1b2c::25", 25, 2525, "tcp"}, "[2a01:4f8:c17:1b2c::25]:25->2525/tcp", true},
		{Port{"::ffff:192.0.2.1", 25, 25, "tcp"}, "[::ffff:192.0.2.1]:25->25/tcp", false},
		{Port{"127.0.0.1", 53, 53, "udp"}, "127.0.0.1:53->53/udp", false},
	} {
		if got := c.p.String(); got != c.s {
			t.Errorf("%+v: String %q, want %q", c.p, got, c.s)
		}
		if got := c.p.OnIPv6(); got != c.onIPv6 {
			t.Errorf("%+v: OnIPv6 %v, want %v", c.p, got, c.onIPv6)
		}
	}
}

func TestHostIsIPv6NATImage(t *testing.T) {
	for ref, want := range map[string]bool{
		"robbertkl/ipv6nat":                           true,
		"robbertkl/ipv6nat:latest":                    true,
		"robbertkl/ipv6nat:0.4.4":                     true,
		"docker.io/robbertkl/ipv6nat:0.4.4":           true,
		"registry.example.com:5000/robbertkl/ipv6nat": true,
		"ghcr.io/robbertkl/ipv6nat@sha256:0123abcd":   true,
		"RobbertKL/IPv6NAT":                           true,
		"robbertkl/ipv6nat-fork":                      false,
		"someone/ipv6nat":                             false,
		"mailserver/docker-mailserver:15":             false,
		"sha256:4f0b1c":                               false,
		"":                                            false,
	} {
		if got := IsIPv6NATImage(ref); got != want {
			t.Errorf("IsIPv6NATImage(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestHostSysctls(t *testing.T) {
	root := t.TempDir()
	write := func(rel, v string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// No IPv6 at all: nothing, and no error.
	if fwd, err := ReadForwarding(root); fwd != nil || err != nil {
		t.Fatalf("no ipv6 sysctls: %v, %v", fwd, err)
	}
	write("net/ipv6/conf/all/forwarding", "1\n")
	write("net/ipv6/conf/eth0/accept_ra", "2\n")
	write("net/ipv6/conf/ens3/accept_ra", "x\n")
	if fwd, err := ReadForwarding(root); err != nil || fwd == nil || !*fwd {
		t.Fatalf("forwarding: %v, %v", fwd, err)
	}
	if ra, err := ReadAcceptRA(root, "eth0"); err != nil || ra == nil || *ra != 2 {
		t.Fatalf("accept_ra: %v, %v", ra, err)
	}
	if ra, err := ReadAcceptRA(root, "wg0"); err != nil || ra != nil {
		t.Fatalf("missing interface: %v, %v", ra, err)
	}
	if _, err := ReadAcceptRA(root, "ens3"); err == nil {
		t.Fatal("a non-number was accepted")
	}
	if _, err := ReadAcceptRA(root, "../all"); err == nil {
		t.Fatal("a path was accepted as an interface name")
	}
	write("net/ipv6/conf/all/forwarding", "0")
	if fwd, err := ReadForwarding(root); err != nil || fwd == nil || *fwd {
		t.Fatalf("forwarding off: %v, %v", fwd, err)
	}
}

func TestHostReadGaiConf(t *testing.T) {
	dir := t.TempDir()
	g, err := ReadGaiConf(filepath.Join(dir, "missing"))
	if err != nil || g.Exists || g.ULAPrecedence != nil {
		t.Fatalf("missing file: %+v, %v", g, err)
	}
	p := filepath.Join(dir, "gai.conf")
	if err := os.WriteFile(p, []byte("precedence fc00::/7 45\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err = ReadGaiConf(p)
	if err != nil || !g.Exists || g.Path != p || g.ULAPrecedence == nil || *g.ULAPrecedence != 45 {
		t.Fatalf("gai.conf: %+v, %v", g, err)
	}
}
