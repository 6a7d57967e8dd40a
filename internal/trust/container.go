package trust

import (
	"net/netip"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// Container is what Read needs to know of a mail container.
type Container struct {
	// Inspect is GET /containers/{id}/json: Config.Env, State.Pid,
	// HostConfig.NetworkMode and NetworkSettings.Networks are read.
	Inspect container.InspectResponse
	// Networks are the container's networks by the names
	// NetworkSettings.Networks uses, from GET /networks/{id}.
	Networks map[string]Network
	// Root is the container's root filesystem as the host sees it; "" means
	// /proc/<State.Pid>/root. Tests point it at a directory.
	Root string
}

// Network is what Read needs of one of the container's networks.
type Network struct {
	// Driver is the network's driver ("bridge", "overlay", "macvlan", ...).
	Driver string
	// Subnets are the network's IPAM subnets.
	Subnets []netip.Prefix
}

// iface is one of the container's interfaces: its address with the length
// of its subnet (not masked), per family, and the network's driver.
type iface struct {
	network string
	driver  string
	v4, v6  netip.Prefix
}

func (c Container) env() map[string]string {
	env := map[string]string{}
	if c.Inspect.Config == nil {
		return env
	}
	for _, kv := range c.Inspect.Config.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

func (c Container) pid() int {
	if c.Inspect.ContainerJSONBase == nil || c.Inspect.State == nil {
		return 0
	}
	return c.Inspect.State.Pid
}

// hostNetwork is whether the container shares the host's network stack.
func (c Container) hostNetwork() bool {
	return c.Inspect.ContainerJSONBase != nil && c.Inspect.HostConfig != nil && c.Inspect.HostConfig.NetworkMode.IsHost()
}

// ifaces are the container's interfaces on its networks, sorted by network
// name (Docker does not say which one is eth0).
func (c Container) ifaces() []iface {
	if c.Inspect.NetworkSettings == nil {
		return nil
	}
	var out []iface
	for name, ep := range c.Inspect.NetworkSettings.Networks {
		if ep == nil {
			continue
		}
		nw := c.Networks[name]
		i := iface{network: name, driver: nw.Driver}
		i.v4 = addrPrefix(ep.IPAddress, ep.IPPrefixLen, nw.Subnets)
		i.v6 = addrPrefix(ep.GlobalIPv6Address, ep.GlobalIPv6PrefixLen, nw.Subnets)
		if i.v4.IsValid() || i.v6.IsValid() {
			out = append(out, i)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].network < out[b].network })
	return out
}

// addrPrefix is addr with its prefix length: the endpoint's own, else that
// of the network subnet that holds it.
func addrPrefix(addr string, bits int, subnets []netip.Prefix) netip.Prefix {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}
	}
	if bits == 0 {
		for _, s := range subnets {
			if s.Contains(a) {
				bits = s.Bits()
				break
			}
		}
	}
	if bits == 0 {
		bits = a.BitLen()
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, p.Bits())
}
