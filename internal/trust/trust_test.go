package trust

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"golang.org/x/sys/unix"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

// The test networks: "mail" (IPv4 and ULA IPv6) and "backend" (IPv4 only).
var (
	mailNet    = Network{Driver: "bridge", Subnets: []netip.Prefix{pfx("198.18.5.0/24"), pfx("fd7e:3c1a:95d2:5::/64")}}
	backendNet = Network{Driver: "bridge", Subnets: []netip.Prefix{pfx("198.19.9.0/24")}}
	mailEP     = &network.EndpointSettings{IPAddress: "198.18.5.2", IPPrefixLen: 24, Gateway: "198.18.5.1",
		GlobalIPv6Address: "fd7e:3c1a:95d2:5::2", GlobalIPv6PrefixLen: 64, IPv6Gateway: "fd7e:3c1a:95d2:5::1"}
	backendEP = &network.EndpointSettings{IPAddress: "198.19.9.3", IPPrefixLen: 24, Gateway: "198.19.9.1"}
)

// ctr is a container with env on the named networks ("mail", "backend"), whose
// root holds mainCF (a testdata file) as /etc/postfix/main.cf, or nothing.
func ctr(t *testing.T, mainCF string, env []string, nets ...string) Container {
	t.Helper()
	root := t.TempDir()
	if mainCF != "" {
		data, err := os.ReadFile(filepath.Join("testdata", mainCF))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, "etc/postfix"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "etc/postfix/main.cf"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := Container{Root: root, Networks: map[string]Network{}}
	c.Inspect.ContainerJSONBase = &container.ContainerJSONBase{State: &container.State{Pid: 1}, HostConfig: &container.HostConfig{NetworkMode: "mail"}}
	c.Inspect.Config = &container.Config{Env: env}
	c.Inspect.NetworkSettings = &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{}}
	for _, n := range nets {
		switch n {
		case "mail":
			c.Networks[n], c.Inspect.NetworkSettings.Networks[n] = mailNet, mailEP
		case "backend":
			c.Networks[n], c.Inspect.NetworkSettings.Networks[n] = backendNet, backendEP
		default:
			t.Fatalf("no test network %q", n)
		}
	}
	return c
}

type want int

const (
	untrusted want = iota
	trusted
	unknown
)

func (w want) String() string { return [...]string{"false", "true", "nil"}[w] }

func got(b *bool) want {
	switch {
	case b == nil:
		return unknown
	case *b:
		return trusted
	}
	return untrusted
}

func TestRead(t *testing.T) {
	gw4, gw6 := addr("198.18.5.1"), addr("fd7e:3c1a:95d2:5::1")
	tests := []struct {
		name    string
		mainCF  string
		env     []string
		nets    []string
		addr    netip.Addr
		want    want
		sources []string
		why     string // part of Set.Why(addr), or of the Unknown text
	}{
		// docker-mailserver's PERMIT_DOCKER, no main.cf readable yet.
		{"permit none", "", []string{"PERMIT_DOCKER=none"}, []string{"mail"}, gw4, untrusted, []string{"PERMIT_DOCKER=none"}, ""},
		{"permit container", "", []string{"PERMIT_DOCKER=container"}, []string{"mail"}, gw4, untrusted, []string{"PERMIT_DOCKER=container"}, ""},
		{"permit container own address", "", []string{"PERMIT_DOCKER=container"}, []string{"mail"}, addr("198.18.5.2"), trusted, nil, "198.18.5.2/32"},
		{"permit host", "", []string{"PERMIT_DOCKER=host"}, []string{"mail"}, gw4, trusted, []string{"PERMIT_DOCKER=host"}, "198.18.0.0/16"},
		{"permit host two networks, both /16 hold it", "", []string{"PERMIT_DOCKER=host"}, []string{"mail", "backend"}, addr("198.18.9.9"), unknown, nil, ""},
		{"permit host two networks, neither /16", "", []string{"PERMIT_DOCKER=host"}, []string{"mail", "backend"}, addr("198.20.0.1"), untrusted, nil, ""},
		// 172.16.0.0/12 literally: the sandbox's 198.18/15 gateway is not in it.
		{"permit network, gateway outside 172.16/12", "", []string{"PERMIT_DOCKER=network"}, []string{"mail"}, gw4, untrusted, []string{"PERMIT_DOCKER=network"}, ""},
		{"permit network, an address inside 172.16/12", "", []string{"PERMIT_DOCKER=network"}, []string{"mail"}, netip.AddrFrom4([4]byte{172, 17, 0, 1}), trusted, nil, "172.16.0.0/12"},
		{"permit connected-networks", "", []string{"PERMIT_DOCKER=connected-networks"}, []string{"mail", "backend"}, addr("198.19.9.1"), trusted, nil, "198.19.9.0/24"},
		{"permit connected-networks is IPv4 only", "", []string{"PERMIT_DOCKER=connected-networks"}, []string{"mail"}, gw6, untrusted, nil, ""},
		{"permit connected-networks, IPv4-mapped", "", []string{"PERMIT_DOCKER=connected-networks"}, []string{"mail"}, addr("::ffff:198.18.5.1"), trusted, nil, "198.18.5.0/24"},
		{"permit unknown value", "", []string{"PERMIT_DOCKER=everyone"}, []string{"mail"}, gw4, untrusted, []string{"PERMIT_DOCKER=everyone (not a value docker-mailserver knows: it then trusts no network)"}, ""},
		{"permit container without IPv4", "", []string{"PERMIT_DOCKER=container"}, nil, gw4, unknown, nil, ""},
		// Mailu.
		{"mailu subnet", "", []string{"SUBNET=198.18.5.0/24"}, []string{"mail"}, gw4, trusted, []string{"Mailu SUBNET=198.18.5.0/24"}, "198.18.5.0/24"},
		{"mailu subnet6 bracketed", "", []string{"SUBNET=198.18.5.0/24", "SUBNET6=[fd7e:3c1a:95d2:5::]/64"}, []string{"mail"}, gw6, trusted, nil, "fd7e:3c1a:95d2:5::/64"},
		{"mailu relaynets", "", []string{"SUBNET=198.18.6.0/24", "RELAYNETS=198.19.9.0/24,fd7e:3c1a:95d2:9::/64"}, []string{"mail"}, addr("fd7e:3c1a:95d2:9::7"), trusted, nil, "fd7e:3c1a:95d2:9::/64"},
		{"mailu gateway outside", "", []string{"SUBNET=198.18.6.0/24"}, []string{"mail"}, gw4, untrusted, nil, ""},
		// Postfix main.cf.
		{"dms connected-networks main.cf", "dms-connected-networks.cf", nil, []string{"mail"}, gw4, trusted, []string{"main.cf mynetworks"}, "main.cf mynetworks (198.18.5.0/24)"},
		{"dms connected-networks main.cf, IPv6 gateway", "dms-connected-networks.cf", nil, []string{"mail"}, gw6, untrusted, nil, ""},
		{"dms none main.cf", "dms-none.cf", []string{"PERMIT_DOCKER=none"}, []string{"mail"}, gw4, untrusted, []string{"PERMIT_DOCKER=none", "main.cf mynetworks"}, ""},
		{"env and main.cf: either trusts", "dms-none.cf", []string{"PERMIT_DOCKER=connected-networks"}, []string{"mail"}, gw4, trusted, nil, "PERMIT_DOCKER=connected-networks (198.18.5.0/24)"},
		{"debian loopback only", "debian.cf", nil, []string{"mail"}, gw4, untrusted, nil, ""},
		{"debian IPv4-mapped loopback", "debian.cf", nil, []string{"mail"}, addr("::ffff:127.0.0.1"), trusted, nil, "127.0.0.0/8"},
		{"continuation and references", "continued-references.cf", nil, []string{"mail"}, addr("198.19.1.20"), trusted, nil, "198.19.1.0/24"},
		{"continuation: conditional text", "continued-references.cf", nil, []string{"mail"}, addr("fd7e:3c1a:95d2:1::9"), trusted, nil, "[fd7e:3c1a:95d2:1::]/64"},
		{"continuation: mynetworks_style ignored when mynetworks is set", "continued-references.cf", nil, []string{"mail"}, gw4, untrusted, nil, ""},
		// A table before the match could only trust it too.
		{"table before the match", "tables.cf", nil, []string{"mail"}, addr("198.18.8.1"), trusted, nil, "198.18.8.0/24"},
		{"table, loopback matched first", "tables.cf", nil, []string{"mail"}, addr("127.0.0.1"), trusted, nil, "127.0.0.0/8"},
		{"table, no match", "tables.cf", nil, []string{"mail"}, gw4, unknown, nil, ""},
		{"host bits set", "host-bits.cf", nil, []string{"mail"}, gw4, unknown, nil, ""},
		{"negated first", "negated.cf", nil, []string{"mail"}, gw4, untrusted, nil, ""},
		{"negated, then the subnet", "negated.cf", nil, []string{"mail"}, addr("198.18.5.9"), trusted, nil, "198.18.5.0/24"},
		{"host name after no match", "negated.cf", nil, []string{"mail"}, addr("198.19.0.1"), unknown, nil, ""},
		{"style unset, no level: subnet", "style-unset-no-level.cf", nil, []string{"mail"}, gw4, trusted, []string{"main.cf mynetworks_style = subnet (the default without compatibility_level)"}, "198.18.5.0/24"},
		{"style unset, ipv4 only", "style-unset-no-level.cf", nil, []string{"mail"}, gw6, untrusted, nil, ""},
		{"style unset, level 2: host", "style-unset-level-2.cf", nil, []string{"mail"}, gw4, untrusted, []string{"main.cf mynetworks_style = host (the default of compatibility_level = 2)"}, ""},
		{"style host: own address", "style-unset-level-2.cf", nil, []string{"mail"}, addr("fd7e:3c1a:95d2:5::2"), trusted, nil, "fd7e:3c1a:95d2:5::2/128"},
		{"style class: IPv4 class C", "style-class.cf", nil, []string{"mail"}, addr("198.18.5.200"), trusted, nil, "198.18.5.0/24"},
		{"style class: IPv6 is the subnet", "style-class.cf", nil, []string{"mail"}, gw6, trusted, nil, "fd7e:3c1a:95d2:5::/64"},
		{"style class: outside", "style-class.cf", nil, []string{"mail"}, addr("198.18.6.1"), untrusted, nil, ""},
		{"mailcow subnet", "mailcow.cf", nil, []string{"mail", "backend"}, addr("198.19.9.1"), trusted, nil, "198.19.9.0/24"},
		{"undefined reference", "undefined-reference.cf", nil, []string{"mail"}, gw4, unknown, nil, ""},
		{"unbracketed IPv6 is a table", "unbracketed-ipv6.cf", nil, []string{"mail"}, gw6, unknown, nil, ""},
		// Nothing to read.
		{"no source", "", nil, []string{"mail"}, gw4, unknown, []string{}, "what its mail server trusts is not known"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Read(ctr(t, tt.mainCF, tt.env, tt.nets...))
			if g := got(s.Contains(tt.addr)); g != tt.want {
				t.Errorf("Contains(%s) = %s, want %s; set %+v", tt.addr, g, tt.want, s)
			}
			if tt.sources != nil && !slices.Equal(s.Sources(), tt.sources) {
				t.Errorf("Sources() = %q, want %q", s.Sources(), tt.sources)
			}
			text := s.Why(tt.addr) + strings.Join(s.Unknown, "; ")
			if !strings.Contains(text, tt.why) {
				t.Errorf("Why/Unknown = %q, want it to contain %q", text, tt.why)
			}
		})
	}
}

// A main.cf that cannot be read is unknown, with the reason; a stopped
// container (no process) too.
func TestReadUnreadable(t *testing.T) {
	c := ctr(t, "", []string{"PERMIT_DOCKER=none"}, "mail")
	if err := os.MkdirAll(filepath.Join(c.Root, "etc/postfix/main.cf"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := Read(c)
	if got(s.Contains(addr("198.18.5.1"))) != unknown || !strings.Contains(strings.Join(s.Unknown, ""), "/etc/postfix/main.cf in the container is not a regular file") {
		t.Errorf("directory main.cf: %+v", s)
	}
	// A FIFO is not opened for reading (that would block until a writer came).
	c = ctr(t, "", []string{"PERMIT_DOCKER=none"}, "mail")
	if err := os.MkdirAll(filepath.Join(c.Root, "etc/postfix"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(c.Root, "etc/postfix/main.cf"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := Read(c); !strings.Contains(strings.Join(s.Unknown, ""), "is not a regular file") {
		t.Errorf("FIFO main.cf: %+v", s)
	}
	c = ctr(t, "dms-none.cf", nil, "mail")
	c.Root = ""
	c.Inspect.State.Pid = 0
	s = Read(c)
	if got(s.Contains(addr("198.18.5.1"))) != unknown || !strings.Contains(strings.Join(s.Unknown, ""), "the container is not running") {
		t.Errorf("stopped: %+v", s)
	}
}

// A symbolic link is resolved inside the container's root: an absolute
// target starts at the root, not at the host's /.
func TestReadSymlinkStaysInRoot(t *testing.T) {
	c := ctr(t, "", nil, "mail")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(c.Root, "etc/postfix"), 0o755))
	must(os.MkdirAll(filepath.Join(c.Root, "config"), 0o755))
	must(os.WriteFile(filepath.Join(c.Root, "config/main.cf"), []byte("mynetworks = 198.18.5.0/24\n"), 0o644))
	// On the host, /config/main.cf does not exist (or is something else).
	must(os.Symlink("/config/main.cf", filepath.Join(c.Root, "etc/postfix/main.cf")))
	if s := Read(c); got(s.Contains(addr("198.18.5.1"))) != trusted {
		t.Errorf("absolute link inside the root: %+v", s)
	}
	// A link that climbs out with .. stops at the root.
	outside := t.TempDir()
	must(os.WriteFile(filepath.Join(outside, "main.cf"), []byte("mynetworks = 0.0.0.0/0\n"), 0o644))
	must(os.Remove(filepath.Join(c.Root, "etc/postfix/main.cf")))
	rel, err := filepath.Rel(filepath.Join(c.Root, "etc/postfix"), filepath.Join(outside, "main.cf"))
	must(err)
	must(os.Symlink(rel, filepath.Join(c.Root, "etc/postfix/main.cf")))
	s := Read(c)
	if got(s.Contains(addr("198.18.5.1"))) == trusted {
		t.Errorf("a link out of the root was followed: %+v", s)
	}
}
