package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall/nft"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/hostcheck"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
)

// Observe gathers what the running dockerd shows of the daemon.json keys the
// provider owns (for restart_pending and the verification after a restart):
// /info, /version, the default bridge, Docker's ip6 nat chain, docker-proxy
// processes and the flags on unit's ExecStart. An error means the Docker API
// could not be asked, or did not answer within CallBound (the unit's flags
// are read from systemd meanwhile, and only lost when systemd is slow).
func (l *Host) Observe(ctx context.Context, unit string) (daemonconfig.RunningState, error) {
	if unit == "" {
		unit = "docker.service"
	}
	return daemonconfig.Within(ctx, l.callBound(), "reading what the running dockerd does", daemonconfig.DockerHint(unit),
		func(ctx context.Context) (daemonconfig.RunningState, error) {
			flagsCh := make(chan []string, 1)
			go func() {
				flags, _, _ := l.Units(ctx, unit)
				flagsCh <- flags
			}()
			d, err := l.Daemon(ctx, nil)
			var stuck *dockerapi.StuckError
			if errors.As(err, &stuck) {
				stuck.Unit = unit
			}
			if err != nil {
				return d.Running, err
			}
			flags := <-flagsCh
			d.Running.AbsentMeansDefault = flags != nil && !daemonconfig.SetsOwnedKey(flags)
			return d.Running, nil
		})
}

// Units reads the unit's ExecStart flags as systemd expands them (without argv[0] and --config-file;
// nil when unknown or unit is "") and the ActiveState of each other unit,
// over one connection to systemd, within CallBound.
func (l *Host) Units(ctx context.Context, unit string, others ...string) ([]string, map[string]string, error) {
	ctx, cancel := bounded(ctx, l.callBound())
	defer cancel()
	mgr, err := l.DialManager(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer mgr.Close()
	var flags []string
	if unit != "" {
		// As systemd runs it: $DOCKER_OPTS from EnvironmentFile= expanded. A
		// command line that cannot be expanded leaves the flags unknown.
		if _, argv, err := mgr.Command(ctx, unit, os.ReadFile); err == nil {
			flags = daemonconfig.DockerdFlags(argv)
			if flags == nil {
				flags = []string{}
			}
		}
	}
	states, err := mgr.ActiveUnits(ctx, others...)
	return flags, states, err
}

// Daemon reads the running dockerd once (/version, /info) and what it shows of
// the owned settings, each request within CallBound. flags are its unit's (nil
// when unknown): without an owned flag there, a key absent from daemon.json
// means dockerd's default.
func (l *Host) Daemon(ctx context.Context, flags []string) (hostcheck.Daemon, error) {
	var d hostcheck.Daemon
	sv, err := l.serverVersion(ctx)
	if err != nil {
		return d, err
	}
	d.Server, d.API = sv.Server, sv.API
	if err := l.Docker.Bounded(ctx, "/info", l.callBound(), func(ctx context.Context, cli *client.Client) (err error) {
		d.Info, err = cli.Info(ctx)
		return err
	}); err != nil {
		return d, err
	}
	rs := &d.Running
	rs.Version, _ = daemonconfig.ParseVersion(sv.Server, sv.API) // unknown stays zero; Gather reports the gap
	rs.Experimental = daemonconfig.Bool(d.Info.ExperimentalBuild)
	rs.LiveRestore = daemonconfig.Bool(d.Info.LiveRestoreEnabled)
	var n network.Inspect
	if err := l.Docker.Bounded(ctx, "/networks/bridge", l.callBound(), func(ctx context.Context, _ *client.Client) (err error) {
		n, err = l.Docker.NetworkInspect(ctx, "bridge")
		return err
	}); err == nil {
		rs.IPv6 = daemonconfig.Bool(n.EnableIPv6)
		for _, c := range n.IPAM.Config {
			if strings.Contains(c.Subnet, ":") {
				rs.FixedCIDRv6 = daemonconfig.String(c.Subnet)
			}
		}
	} else if isStuck(err) {
		return d, err
	}
	nftBackend := d.Info.FirewallBackend != nil && strings.Contains(d.Info.FirewallBackend.Driver, "nftables")
	if !nftBackend {
		rs.IP6TablesChain = DockerIP6Chain()
	}
	if rs.UserlandProxy, err = l.observeUserlandProxy(ctx); err != nil {
		return d, err
	}
	rs.AbsentMeansDefault = flags != nil && !daemonconfig.SetsOwnedKey(flags)
	return d, nil
}

// isStuck tells a request that did not answer in time.
func isStuck(err error) bool {
	var s *dockerapi.StuckError
	return errors.As(err, &s)
}

// DockerAPI is the Docker API client.
func (l *Host) DockerAPI(ctx context.Context) (client.APIClient, error) { return l.Docker.API(ctx) }

// OtherFirewalls lists other firewalls' nftables tables (firewall.OtherFirewalls).
func (l *Host) OtherFirewalls(ctx context.Context) ([]firewall.Finding, error) {
	conn, err := nft.Open("")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.OtherFirewalls(ctx, "")
}

// observeUserlandProxy: with published ports, whether docker-proxy
// processes serve them; an error only when /containers/json hangs.
func (l *Host) observeUserlandProxy(ctx context.Context) (*bool, error) {
	var list []container.Summary
	err := l.Docker.Bounded(ctx, "/containers/json", l.callBound(), func(ctx context.Context, cli *client.Client) (err error) {
		list, err = cli.ContainerList(ctx, container.ListOptions{})
		return err
	})
	if err != nil {
		if isStuck(err) {
			return nil, err
		}
		return nil, nil
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
		return nil, nil
	}
	seen := countProcesses("docker-proxy") > 0
	return &seen, nil
}

// DockerIP6Chain tells whether Docker's DOCKER chain exists in the ip6 nat
// table of iptables-nft (nft.Conn.DockerIP6Chain); nil when that cannot be told.
func DockerIP6Chain() *bool {
	conn, err := nft.Open("")
	if err != nil {
		return nil
	}
	defer conn.Close()
	return conn.DockerIP6Chain()
}

func countProcesses(comm string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err == nil && strings.TrimSpace(string(b)) == comm {
			n++
		}
	}
	return n
}

// DaemonFlags is the unit's dockerd command line as systemd runs it ($VAR
// and ${VAR} expanded from the unit's Environment= and EnvironmentFile=,
// the files read here, where dockerd runs), without argv[0] and without
// --config-file (the flags a daemon.json must not repeat). A
// *systemd.NotExpandedError means systemd answered but the command line
// cannot be told.
func (l *Host) DaemonFlags(ctx context.Context, unit string) (bin string, flags []string, err error) {
	mgr, err := l.DialManager(ctx)
	if err != nil {
		return "", nil, err
	}
	defer mgr.Close()
	bin, argv, err := mgr.Command(ctx, unit, os.ReadFile)
	if err != nil {
		return "", nil, err
	}
	return bin, daemonconfig.DockerdFlags(argv), nil
}

// ValidateConfig runs `dockerd --validate` (23.0+) on candidate with the
// unit's own flags, so a key given both as a flag and in the file is caught.
// An error means the check could not run (no dockerd binary found, the
// unit's command line cannot be expanded, ...).
func (l *Host) ValidateConfig(ctx context.Context, unit string, v daemonconfig.DockerVersion, candidate []byte) (bool, string, error) {
	bin, args, err := l.DaemonFlags(ctx, unit)
	var notExpanded *systemd.NotExpandedError
	if errors.As(err, &notExpanded) {
		// Without its own flags dockerd could refuse a file the unit accepts,
		// or accept one the unit's flags conflict with.
		return false, "", fmt.Errorf("dockerd --validate did not run: %w", err)
	}
	if err != nil || bin == "" {
		// Without the unit's command line, only a dockerd on PATH of the running
		// daemon's own release can judge the file (another one would judge it
		// by other rules, or not know --validate at all).
		if bin, err = exec.LookPath("dockerd"); err != nil {
			return false, "", fmt.Errorf("no dockerd binary found for --validate: %w", err)
		}
		bv, err := daemonconfig.DockerdVersion(ctx, bin)
		if err != nil {
			return false, "", err
		}
		if bv.Major != v.Major || bv.Minor != v.Minor {
			return false, "", fmt.Errorf("%w: %s is Docker %s, the running daemon is %s", daemonconfig.ErrValidateUnsupported, bin, bv, v)
		}
		args = nil
	}
	return daemonconfig.ValidateWithDockerdVersion(ctx, v, bin, args, candidate)
}

// Journal is what the unit logged about its failure, from journalctl when it
// exists: the error lines among its last 80 (dockerd's info chatter left out), or
// its last 5 lines when none looks like an error.
func (l *Host) Journal(ctx context.Context, unit string) string {
	bin, err := exec.LookPath("journalctl")
	if err != nil {
		return ""
	}
	jctx, cancel := context.WithTimeout(ctx, journalWait)
	defer cancel()
	out, err := exec.CommandContext(jctx, bin, "-u", unit, "-n", "80", "--no-pager", "-o", "cat").Output()
	if err != nil {
		return ""
	}
	return ErrorLines(strings.Split(strings.TrimSpace(string(out)), "\n"), 8, 5)
}

// ErrorLines keeps the last max lines that look like errors, or the last fallback lines.
func ErrorLines(lines []string, max, fallback int) string {
	var errs []string
	for _, l := range lines {
		low := strings.ToLower(l)
		if strings.Contains(low, "level=info") || strings.Contains(low, "level=debug") || strings.Contains(low, "level=warn") {
			continue
		}
		if strings.Contains(low, "error") || strings.Contains(low, "fail") || strings.Contains(low, "level=fatal") {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		errs = lines
		max = fallback
	}
	if len(errs) > max {
		errs = errs[len(errs)-max:]
	}
	return strings.Join(errs, "\n")
}
