package probe

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/trust"
)

// VerifyContainer is MeasureContainer and, for each row, whether the
// container's mail server trusts the address it saw (trust.Read: its
// PERMIT_DOCKER, Mailu's SUBNET, Postfix's mynetworks, read through its root
// file system as the host sees it, read-only, no exec). Rows the server
// trusts say so in their detail; a trusted masqueraded row is the worst of
// all and decides the overall verdict and detail. Like MeasureContainer it
// must run on the container's host.
func VerifyContainer(ctx context.Context, cli client.APIClient, o ContainerOptions) (ContainerResult, error) {
	res, err := MeasureContainer(ctx, cli, o)
	if err != nil {
		return res, err
	}
	set, err := readTrust(ctx, cli, res.ContainerID)
	if err != nil {
		res.TrustUnknown = fmt.Sprintf("what container %q trusts could not be read: %v", res.Container, err)
	} else {
		res.Trust = set
	}
	res.annotateTrust()
	return res, nil
}

// annotateTrust sets each row's Trusted from r.Trust (nil when it is not
// known or the row saw nobody) and re-picks the worst row.
func (r *ContainerResult) annotateTrust() {
	for i := range r.Ports {
		row := &r.Ports[i]
		a, err := netip.ParseAddr(row.ObservedAddress)
		if err != nil || r.TrustUnknown != "" {
			continue
		}
		row.Trusted = r.Trust.Contains(a.Unmap())
		if row.Trusted != nil && *row.Trusted && row.Verdict == VerdictMasqueraded {
			row.Detail += fmt.Sprintf(" And the mail server trusts %s (%s): every remote client that arrives this way may relay mail "+
				"through it without authentication, an open relay. Keep the clients' own address (an IPv6 ULA network with ip6tables), "+
				"or trust less (PERMIT_DOCKER=none, a mynetworks without %s).", a, r.Trust.Why(a.Unmap()), a)
		}
	}
	r.summarize()
}

// worseRow orders rows from the worst: a masqueraded address the server
// trusts, then verdictRank.
func worseRow(a, b PortResult) int {
	return rowRank(a) - rowRank(b)
}

func rowRank(p PortResult) int {
	if p.Verdict == VerdictMasqueraded && p.Trusted != nil && *p.Trusted {
		return -1
	}
	return verdictRank(p.Verdict)
}

// MasqueradedTrusted lists the rows whose masqueraded address the server
// trusts.
func (r ContainerResult) MasqueradedTrusted() []PortResult {
	return slices.DeleteFunc(slices.Clone(r.Ports), func(p PortResult) bool { return rowRank(p) != -1 })
}

// readTrust reads what the container trusts, with its networks' subnets.
func readTrust(ctx context.Context, cli client.APIClient, id string) (trust.Set, error) {
	in, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		return trust.Set{}, err
	}
	nets := map[string]trust.Network{}
	if in.NetworkSettings != nil {
		for name := range in.NetworkSettings.Networks {
			ni, err := cli.NetworkInspect(ctx, name, network.InspectOptions{})
			if err != nil {
				return trust.Set{}, fmt.Errorf("network %q: %w", name, err)
			}
			var subnets []netip.Prefix
			for _, c := range ni.IPAM.Config {
				if p, err := netip.ParsePrefix(c.Subnet); err == nil {
					subnets = append(subnets, p)
				}
			}
			nets[name] = trust.Network{Driver: ni.Driver, Subnets: subnets}
		}
	}
	return trust.Read(trust.Container{Inspect: in, Networks: nets}), nil
}
