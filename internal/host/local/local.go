// Package local is the machine the provider works on when it is this one:
// daemon.json on its file system, systemd on its system D-Bus, the Docker API
// at docker_host, nftables and /proc in its namespaces. Domain packages reach
// the machine through the small interfaces they declare (daemonconfig.Host,
// ...), which Local implements; tests give them fakes instead.
package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/docker/docker/client"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall/nft"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/hostcheck"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
)

var (
	_ host.Host         = (*Host)(nil)
	_ daemonconfig.Host = (*Host)(nil)
	_ hostcheck.Source  = (*Host)(nil)
)

// Host is the machine this process runs on.
//
// Every call that waits on something else has a bound, also when ctx has
// none (Terraform gives none): one Docker API or D-Bus call takes at most
// CallBound (less when ctx ends sooner), Observe and ReadDaemonJSON CallBound
// in all, Gather and GatherPosture 3*CallBound. The daemon.json transaction
// derives its own from restart.timeout (daemonconfig.Bounds) and hands them
// down in its contexts.
type Host struct {
	Docker *dockerapi.Client
	// DialSystemd connects to systemd's manager; nil means systemd.Dial (the
	// system D-Bus; DBUS_SYSTEM_BUS_ADDRESS is honoured).
	DialSystemd func(ctx context.Context) (*systemd.Client, error)
	// CallBound bounds one call; 0 means daemonconfig.BoundsFor(0).Call (30s).
	CallBound time.Duration
}

// callBound is CallBound or its default.
func (l *Host) callBound() time.Duration {
	if l.CallBound > 0 {
		return l.CallBound
	}
	return daemonconfig.BoundsFor(0).Call
}

// bounded is ctx ending after at most d.
func bounded(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// New is this machine with the Docker API at dockerHost (see
// dockerapi.ResolveHost); it is a host.Factory.
func New(dockerHost string) host.Host { return &Host{Docker: dockerapi.New(dockerHost)} }

// DockerClient is the Docker API client at docker_host.
func (l *Host) DockerClient() *dockerapi.Client { return l.Docker }

// Firewall opens nftables in this process's network namespace.
func (l *Host) Firewall(context.Context) (firewall.Handle, error) {
	c, err := nft.Open("")
	if err != nil {
		return nil, err // never a nil *nft.Conn inside a non-nil interface
	}
	return c, nil
}

// ClientIP runs the client-IP probe against the Docker daemon (probe.Run).
func (l *Host) ClientIP(ctx context.Context, o probe.Options) (probe.Result, error) {
	cli, err := l.Docker.API(ctx)
	if err != nil {
		return probe.Result{}, err
	}
	return probe.Run(ctx, cli, o)
}

// ContainerClientIP measures a running container's own published ports and
// reads what it trusts (probe.VerifyContainer).
func (l *Host) ContainerClientIP(ctx context.Context, o probe.ContainerOptions) (probe.ContainerResult, error) {
	cli, err := l.Docker.API(ctx)
	if err != nil {
		return probe.ContainerResult{}, err
	}
	return probe.VerifyContainer(ctx, cli, o)
}

// ApplyDaemonConfig runs the daemon.json transaction here (daemonconfig.Apply).
func (l *Host) ApplyDaemonConfig(ctx context.Context, req daemonconfig.Request) (daemonconfig.Result, error) {
	return daemonconfig.Apply(ctx, l, req)
}

// PlanDaemonConfig previews it (daemonconfig.Plan).
func (l *Host) PlanDaemonConfig(ctx context.Context, req daemonconfig.Request) (daemonconfig.Preview, error) {
	return daemonconfig.Plan(ctx, l, req)
}

// ReadDaemonJSON reads daemon.json (ReadConfig), within CallBound.
func (l *Host) ReadDaemonJSON(ctx context.Context, path string) ([]byte, bool, error) {
	type read struct {
		data   []byte
		exists bool
	}
	r, err := daemonconfig.Within(ctx, l.callBound(), "reading "+path, daemonconfig.FileHint, func(context.Context) (read, error) {
		data, exists, err := l.ReadConfig(path)
		return read{data, exists}, err
	})
	return r.data, r.exists, err
}

// Gather reads this machine's facts (hostcheck.Gather), within 3*CallBound;
// each Docker API call in it within CallBound.
func (l *Host) Gather(ctx context.Context, daemonJSON, dockerUnit string) (hostcheck.Facts, error) {
	return daemonconfig.Within(ctx, 3*l.callBound(), "reading the host's facts", daemonconfig.DockerHint(dockerUnit),
		func(ctx context.Context) (hostcheck.Facts, error) {
			return hostcheck.Gather(ctx, l, daemonJSON, dockerUnit)
		})
}

// GatherPosture reads the firewall's facts (hostcheck.GatherPosture), within
// 3*CallBound: what does not answer by then is a gap in the facts.
func (l *Host) GatherPosture(ctx context.Context) hostcheck.Facts {
	ctx, cancel := bounded(ctx, 3*l.callBound())
	defer cancel()
	return hostcheck.GatherPosture(ctx, l)
}

// LockConfig takes daemon.json's lock (daemonconfig.Lock).
func (l *Host) LockConfig(ctx context.Context, path string) (func(), error) {
	return daemonconfig.Lock(ctx, path)
}

// ReadConfig reads daemon.json; a missing file reads as (nil, false, nil).
func (l *Host) ReadConfig(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	return b, err == nil, err
}

// WriteConfig writes daemon.json atomically with a backup (daemonconfig.WriteFile).
func (l *Host) WriteConfig(path string, data []byte) (string, error) {
	return daemonconfig.WriteFile(path, data)
}

// RestoreConfig puts earlier bytes back without touching the backup
// (daemonconfig.ReplaceFile).
func (l *Host) RestoreConfig(path string, data []byte) error {
	return daemonconfig.ReplaceFile(path, data)
}

// RemoveConfig removes daemon.json (through a symlink, the target).
func (l *Host) RemoveConfig(path string) error {
	target, err := daemonconfig.ResolvePath(path)
	if err != nil {
		return err
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// DockerVersion is the running daemon's release, for the version rules
// (/version, within CallBound).
func (l *Host) DockerVersion(ctx context.Context) (daemonconfig.DockerVersion, error) {
	v, err := l.serverVersion(ctx)
	if err != nil {
		return daemonconfig.DockerVersion{}, err
	}
	return daemonconfig.ParseVersion(v.Server, v.API)
}

// serverVersion is /version within CallBound.
func (l *Host) serverVersion(ctx context.Context) (dockerapi.Version, error) {
	var v dockerapi.Version
	err := l.Docker.Bounded(ctx, "/version", l.callBound(), func(ctx context.Context, _ *client.Client) (err error) {
		v, err = l.Docker.ServerVersion(ctx)
		return err
	})
	return v, err
}

// WaitReady waits until the Docker API answers.
func (l *Host) WaitReady(ctx context.Context) error { return l.Docker.WaitReady(ctx) }

// DialManager connects to systemd's manager.
func (l *Host) DialManager(ctx context.Context) (*systemd.Client, error) {
	if l.DialSystemd != nil {
		return l.DialSystemd(ctx)
	}
	return systemd.Dial(ctx)
}

// Systemd connects to systemd for the daemon.json transaction.
func (l *Host) Systemd(ctx context.Context) (daemonconfig.Systemd, error) {
	c, err := l.DialManager(ctx)
	if err != nil {
		return nil, err
	}
	return sdAdapter{c}, nil
}

// sdAdapter gives *systemd.Client the shape daemonconfig.Systemd asks for.
type sdAdapter struct{ c *systemd.Client }

func (a sdAdapter) UnitState(ctx context.Context, unit string) (string, string, error) {
	st, err := a.c.UnitState(ctx, unit)
	return st.ActiveState, st.Result, err
}

func (a sdAdapter) TriggeredBy(ctx context.Context, unit string) ([]string, error) {
	return a.c.TriggeredBy(ctx, unit)
}

func (a sdAdapter) ResetFailed(ctx context.Context, units ...string) error {
	return a.c.ResetFailed(ctx, units...)
}

func (a sdAdapter) RestartJob(ctx context.Context, unit string) (daemonconfig.Job, error) {
	j, err := a.c.RestartJob(ctx, unit)
	if err != nil {
		return nil, err
	}
	return j, nil
}

func (a sdAdapter) Close() { a.c.Close() }

// journalWait bounds a journalctl call.
const journalWait = 5 * time.Second
