package provider

import (
	"context"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
)

// observeRunning gathers what the running dockerd shows of the daemon.json keys
// the provider owns (for restart_pending and the verification after a restart):
// /info, the default bridge, Docker's ip6 nat chain, docker-proxy processes and
// the flags on docker.service's ExecStart. It also returns the version as the
// version rules see it.
func observeRunning(ctx context.Context, data *providerData) (daemonconfig.RunningState, string, error) {
	var rs daemonconfig.RunningState
	info, err := data.Docker.Info(ctx)
	if err != nil {
		return rs, "", err
	}
	sv, err := data.Docker.ServerVersion(ctx)
	if err != nil {
		return rs, "", err
	}
	v, err := daemonconfig.ParseVersion(sv.Server, sv.API)
	if err != nil {
		return rs, "", err
	}
	rs.Version = v
	rs.Experimental = daemonconfig.Bool(info.ExperimentalBuild)
	rs.LiveRestore = daemonconfig.Bool(info.LiveRestoreEnabled)
	if n, err := data.Docker.NetworkInspect(ctx, "bridge"); err == nil {
		rs.IPv6 = daemonconfig.Bool(n.EnableIPv6)
		for _, c := range n.IPAM.Config {
			if strings.Contains(c.Subnet, ":") {
				rs.FixedCIDRv6 = daemonconfig.String(c.Subnet)
			}
		}
	}
	nftBackend := info.FirewallBackend != nil && strings.Contains(info.FirewallBackend.Driver, "nftables")
	if !nftBackend {
		rs.IP6TablesChain = dockerIP6Chain()
	}
	rs.UserlandProxy = observeUserlandProxy(ctx, data)
	if mgr, err := data.systemd(ctx); err == nil {
		if _, argv, err := mgr.ExecStart(ctx, "docker.service"); err == nil {
			rs.AbsentMeansDefault = !hasOwnedFlag(argv)
		}
		mgr.Close()
	}
	return rs, v.String(), nil
}

// observeUserlandProxy: with published ports, whether docker-proxy processes serve them.
func observeUserlandProxy(ctx context.Context, data *providerData) *bool {
	cli, err := data.Docker.API(ctx)
	if err != nil {
		return nil
	}
	list, err := cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return nil
	}
	published := false
	for _, c := range list {
		for _, p := range c.Ports {
			if p.PublicPort != 0 {
				published = true
			}
		}
	}
	if !published {
		return nil
	}
	seen := countProcesses("docker-proxy") > 0
	return &seen
}
