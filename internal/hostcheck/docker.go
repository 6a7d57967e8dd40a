package hostcheck

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// ReadDocker lists the daemon's networks and running containers and returns
// them as FromDocker does.
func ReadDocker(ctx context.Context, cli client.APIClient) ([]Network, []Container, error) {
	nets, err := cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("list networks: %w", err)
	}
	ctrs, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("status", "running"))})
	if err != nil {
		return nil, nil, fmt.Errorf("list containers: %w", err)
	}
	n, nat := FromDocker(nets, ctrs)
	return n, nat, nil
}

// FromDocker turns the answers of GET /networks and GET /containers/json
// into Networks (sorted by name, each with its containers, sorted by name)
// and the running ipv6nat containers. A container's published ports are
// listed under every network it is attached to.
func FromDocker(nets []network.Summary, ctrs []container.Summary) ([]Network, []Container) {
	var out []Network
	byID := map[string]int{}
	for _, n := range nets {
		nw := Network{Name: n.Name, ID: n.ID, Driver: n.Driver, IPv6: n.EnableIPv6, Internal: n.Internal, Options: n.Options}
		for _, c := range n.IPAM.Config {
			if isIPv6Prefix(c.Subnet) {
				nw.IPv6Subnets = append(nw.IPv6Subnets, c.Subnet)
				if c.Gateway != "" {
					nw.IPv6Gateways = append(nw.IPv6Gateways, c.Gateway)
				}
			} else if c.Subnet != "" {
				nw.IPv4Subnets = append(nw.IPv4Subnets, c.Subnet)
				if c.Gateway != "" {
					nw.IPv4Gateways = append(nw.IPv4Gateways, c.Gateway)
				}
			}
		}
		byID[n.ID] = len(out)
		out = append(out, nw)
	}
	var nat []Container
	for _, c := range ctrs {
		if c.State != "" && c.State != container.StateRunning {
			continue
		}
		base := Container{Name: containerName(c), ID: c.ID, Image: c.Image}
		for _, p := range c.Ports {
			if p.PublicPort == 0 {
				continue // exposed, not published
			}
			base.Ports = append(base.Ports, Port{HostIP: p.IP, HostPort: p.PublicPort, ContainerPort: p.PrivatePort, Proto: p.Type})
		}
		slices.SortFunc(base.Ports, comparePorts)
		base.Ports = slices.Compact(base.Ports)
		if IsIPv6NATImage(c.Image) {
			nat = append(nat, base)
		}
		if c.NetworkSettings == nil {
			continue
		}
		for _, ep := range c.NetworkSettings.Networks {
			if ep != nil && ep.GlobalIPv6Address != "" {
				base.HasIPv6 = true
			}
		}
		for _, ep := range c.NetworkSettings.Networks {
			if ep == nil {
				continue
			}
			i, ok := byID[ep.NetworkID]
			if !ok {
				continue
			}
			cc := base
			cc.Ports = slices.Clone(base.Ports)
			cc.IPv6Address = ep.GlobalIPv6Address
			out[i].Containers = append(out[i].Containers, cc)
		}
	}
	for i := range out {
		slices.SortFunc(out[i].Containers, func(a, b Container) int { return strings.Compare(a.Name, b.Name) })
	}
	slices.SortFunc(out, func(a, b Network) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(nat, func(a, b Container) int { return strings.Compare(a.Name, b.Name) })
	return out, nat
}

func comparePorts(a, b Port) int {
	switch {
	case a.ContainerPort != b.ContainerPort:
		return int(a.ContainerPort) - int(b.ContainerPort)
	case a.Proto != b.Proto:
		return strings.Compare(a.Proto, b.Proto)
	case a.HostPort != b.HostPort:
		return int(a.HostPort) - int(b.HostPort)
	}
	return strings.Compare(a.HostIP, b.HostIP)
}

// PublishedPorts lists, sorted and without duplicates, the ports the
// network's containers publish, in Port.String form.
func (n Network) PublishedPorts() []string {
	var ps []Port
	for _, c := range n.Containers {
		ps = append(ps, c.Ports...)
	}
	slices.SortFunc(ps, comparePorts)
	ps = slices.Compact(ps)
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func containerName(c container.Summary) string {
	if len(c.Names) > 0 {
		return strings.TrimPrefix(c.Names[0], "/")
	}
	return shortID(c.ID)
}

func isIPv6Prefix(s string) bool {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	return err == nil && p.Addr().Is6() && !p.Addr().Is4In6()
}

// IsIPv6NATImage reports whether a container's image reference names
// robbertkl/ipv6nat, with any registry, tag or digest
// ("robbertkl/ipv6nat", "docker.io/robbertkl/ipv6nat:0.4.4",
// "ghcr.io/robbertkl/ipv6nat@sha256:...").
func IsIPv6NATImage(ref string) bool {
	ref = strings.ToLower(strings.TrimSpace(ref))
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref == "robbertkl/ipv6nat" || strings.HasSuffix(ref, "/robbertkl/ipv6nat")
}
