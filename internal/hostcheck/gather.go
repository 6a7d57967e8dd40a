package hostcheck

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
)

// Source is the machine Gather reads (internal/host/local.Host for this one). Each
// method is one read; Gather calls each once.
type Source interface {
	// ReadConfig reads daemon.json; a missing file is (nil, false, nil).
	ReadConfig(path string) ([]byte, bool, error)
	// Units reads, over one systemd connection, the ExecStart flags of the
	// Docker unit (without argv[0] and --config-file) and the ActiveState of
	// each other unit. flags is nil when the Docker unit's are unknown.
	Units(ctx context.Context, dockerUnit string, others ...string) (flags []string, states map[string]string, err error)
	// Daemon reads the Docker daemon once (/version, /info) and what it shows
	// of the owned daemon.json settings, given the unit's flags.
	Daemon(ctx context.Context, flags []string) (Daemon, error)
	// DockerAPI is the Docker API client (networks, containers).
	DockerAPI(ctx context.Context) (client.APIClient, error)
	// OtherFirewalls lists the nftables tables of other firewalls (not ours).
	OtherFirewalls(ctx context.Context) ([]firewall.Finding, error)
}

// Daemon is one read of the running Docker daemon.
type Daemon struct {
	Server, API string // what /version says
	Info        system.Info
	Running     daemonconfig.RunningState
}

// Gather collects Facts from src and this machine's kernel (/proc/sys,
// routes, addresses, gai.conf: read where the process runs, which for a
// remote host is its agent). Only an unreachable daemon or an unreadable
// daemon.json is an error; anything else that cannot be read is a gap,
// reported as the facts-incomplete finding.
func Gather(ctx context.Context, src Source, daemonJSON, dockerUnit string) (Facts, error) {
	f := Facts{DaemonJSONPath: daemonJSON}
	gap := f.gap

	flags, uerr := f.readUnits(ctx, src, dockerUnit)
	if uerr == nil && flags == nil {
		gap(dockerUnit+" ExecStart", fmt.Errorf("not found"))
	}
	f.DaemonFlags = flags
	d, err := src.Daemon(ctx, flags)
	if err != nil {
		return f, err
	}
	f.DockerVersion, f.APIVersion = d.Server, d.API
	if f.Version, err = daemonconfig.ParseVersion(d.Server, d.API); err != nil {
		gap("Docker version", err)
	}
	if fb := d.Info.FirewallBackend; fb != nil {
		f.FirewallBackend = fb.Driver
		f.FirewallBackendInfo = map[string]string{}
		for _, kv := range fb.Info {
			f.FirewallBackendInfo[kv[0]] = kv[1]
		}
	}
	f.Running = d.Running

	raw, exists, err := src.ReadConfig(daemonJSON)
	if err != nil {
		return f, fmt.Errorf("reading %s: %w", daemonJSON, err)
	}
	f.DaemonJSONExists = exists
	if file, perr := daemonconfig.Parse(raw); perr != nil {
		f.DaemonJSONError = perr.Error()
	} else {
		f.DaemonJSON = file
		f.PendingKeys = daemonconfig.PendingKeys(file, d.Running)
	}

	cli, err := src.DockerAPI(ctx)
	if err != nil {
		return f, err
	}
	if f.Networks, f.IPv6NAT, err = ReadDocker(ctx, cli); err != nil {
		return f, err
	}
	f.readFirewalls(ctx, src)

	if f.IPv6Forwarding, err = ReadForwarding(DefaultProcSys); err != nil {
		gap("IPv6 forwarding", err)
	}
	if f.DefaultRoute, err = DefaultRoute(); err != nil {
		gap("default route", err)
	}
	if f.DefaultRoute.Interface != "" {
		if f.AcceptRA, err = ReadAcceptRA(DefaultProcSys, f.DefaultRoute.Interface); err != nil {
			gap("accept_ra", err)
		}
	}
	if f.GlobalIPv6, err = GlobalIPv6Addresses(); err != nil {
		gap("host IPv6 addresses", err)
	}
	if f.GaiConf, err = ReadGaiConf(DefaultGaiConf); err != nil {
		gap(DefaultGaiConf, err)
	}
	return f, nil
}

// gap records what could not be observed.
func (f *Facts) gap(what string, err error) { f.Gaps = append(f.Gaps, what+": "+err.Error()) }

// readUnits reads, over one systemd connection, the flags of dockerUnit (none
// when "") and the states of the firewall frontends' units into f.Units.
func (f *Facts) readUnits(ctx context.Context, src Source, dockerUnit string) ([]string, error) {
	flags, units, err := src.Units(ctx, dockerUnit, firewall.FrontendUnits()...)
	if err != nil {
		f.gap("systemd", err)
		return nil, err
	}
	f.Units = units
	return flags, nil
}

// readFirewalls reads the other firewalls and merges f.Units into them.
func (f *Facts) readFirewalls(ctx context.Context, src Source) {
	others, err := src.OtherFirewalls(ctx)
	if err != nil {
		f.gap("nftables", err)
	}
	f.OtherFirewalls = firewall.MergeUnitStates(others, f.Units)
}

// GatherPosture collects the facts the posture rules (PostureFindings) are
// judged on: the firewall frontends' units, the other firewalls, and Docker's
// networks with their running containers. Nothing is an error: what cannot be
// read is a gap, and the rules that need it stay silent.
func GatherPosture(ctx context.Context, src Source) Facts {
	var f Facts
	_, _ = f.readUnits(ctx, src, "")
	f.readFirewalls(ctx, src)
	cli, err := src.DockerAPI(ctx)
	if err == nil {
		f.Networks, _, err = ReadDocker(ctx, cli)
	}
	if err != nil {
		f.Networks = nil
		f.gap("Docker", err)
	}
	return f
}
