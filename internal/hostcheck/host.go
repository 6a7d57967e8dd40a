package hostcheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultProcSys is where the kernel's sysctls are.
const DefaultProcSys = "/proc/sys"

// DefaultGaiConf is glibc's address-selection configuration.
const DefaultGaiConf = "/etc/gai.conf"

// ReadForwarding reads net.ipv6.conf.all.forwarding under procSys
// (DefaultProcSys). It returns nil without error when the host has no IPv6
// (the sysctl directory does not exist).
func ReadForwarding(procSys string) (*bool, error) {
	v, err := readIntSysctl(filepath.Join(procSys, "net/ipv6/conf/all/forwarding"))
	if err != nil || v == nil {
		return nil, err
	}
	on := *v != 0
	return &on, nil
}

// ReadAcceptRA reads net.ipv6.conf.<iface>.accept_ra under procSys; nil
// without error when the interface has no IPv6 sysctls.
func ReadAcceptRA(procSys, iface string) (*int, error) {
	if iface == "" || strings.ContainsAny(iface, "/") || iface == "." || iface == ".." {
		return nil, fmt.Errorf("invalid interface name %q", iface)
	}
	return readIntSysctl(filepath.Join(procSys, "net/ipv6/conf", iface, "accept_ra"))
}

func readIntSysctl(p string) (*int, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not a number", p, strings.TrimSpace(string(b)))
	}
	return &v, nil
}

// DefaultRoute finds the interface of the IPv6 default route of the main
// table (lowest metric), else of the IPv4 one. Interface is "" when there
// is neither.
func DefaultRoute() (Route, error) {
	var errs []error
	for _, fam := range []struct {
		nl   int
		name string
	}{{netlink.FAMILY_V6, "ipv6"}, {netlink.FAMILY_V4, "ipv4"}} {
		routes, err := netlink.RouteList(nil, fam.nl)
		if err != nil {
			errs = append(errs, fmt.Errorf("list %s routes: %w", fam.name, err))
			continue
		}
		var best *netlink.Route
		for i, r := range routes {
			if r.Dst != nil {
				if ones, _ := r.Dst.Mask.Size(); ones != 0 {
					continue
				}
			}
			if r.Type != 0 && r.Type != unix.RTN_UNICAST {
				continue
			}
			if best == nil || r.Priority < best.Priority {
				best = &routes[i]
			}
		}
		if best == nil {
			continue
		}
		idx := best.LinkIndex
		if idx == 0 && len(best.MultiPath) > 0 {
			idx = best.MultiPath[0].LinkIndex
		}
		link, err := netlink.LinkByIndex(idx)
		if err != nil {
			errs = append(errs, fmt.Errorf("interface %d of the %s default route: %w", idx, fam.name, err))
			continue
		}
		return Route{Interface: link.Attrs().Name, Family: fam.name, Protocol: best.Protocol.String()}, nil
	}
	return Route{}, errors.Join(errs...)
}

// dockerLink reports interfaces Docker (and the provider's probe) create.
func dockerLink(name string) bool {
	for _, p := range []string{"docker", "br-", "veth", "dip6"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// GlobalIPv6Addresses lists, sorted, the host's global IPv6 addresses
// (not ULA, link-local, loopback or multicast) on interfaces other than
// Docker's bridges and veths: the addresses remote IPv6 clients can reach.
// The result is non-nil (empty when there are none).
func GlobalIPv6Addresses() ([]string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := []string{}
	for _, l := range links {
		if dockerLink(l.Attrs().Name) {
			continue
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_V6)
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", l.Attrs().Name, err)
		}
		for _, a := range addrs {
			ip, ok := netip.AddrFromSlice(a.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.Is6() && ip.IsGlobalUnicast() && !ip.IsPrivate() {
				out = append(out, ip.String())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ReadGaiConf reads glibc's gai.conf at path (DefaultGaiConf); a missing
// file is not an error.
func ReadGaiConf(path string) (GaiConf, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return GaiConf{Path: path}, nil
	}
	if err != nil {
		return GaiConf{Path: path}, err
	}
	g := ParseGaiConf(b)
	g.Path, g.Exists = path, true
	return g, nil
}

// ParseGaiConf reads the precedence lines of a gai.conf file
// (`precedence <prefix> <value>`, # comments) as glibc does: the prefix
// must be an IPv6 prefix and the value a number. The last line for a
// prefix wins.
func ParseGaiConf(data []byte) GaiConf {
	var g GaiConf
	ulaP := netip.MustParsePrefix("fc00::/7")
	v4P := netip.MustParsePrefix("::ffff:0:0/96")
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "precedence" {
			continue
		}
		p, err := netip.ParsePrefix(f[1])
		if err != nil || !p.Addr().Is6() {
			continue
		}
		v, err := strconv.Atoi(f[2])
		if err != nil || v < 0 {
			continue
		}
		g.Precedences++
		switch p.Masked() {
		case ulaP:
			g.ULAPrecedence = &v
		case v4P:
			g.IPv4Precedence = &v
		}
	}
	return g
}
