// Package host is the machine the provider works on. Local is this machine:
// daemon.json on its file system, systemd on its system D-Bus, the Docker API
// at docker_host, nftables and /proc in its namespaces. Domain packages reach
// the machine through the small interfaces they declare (daemonconfig.Host,
// ...), which Local implements; tests give them fakes instead.
package host

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
)

var _ daemonconfig.Host = (*Local)(nil)

// Local is the machine this process runs on.
type Local struct {
	Docker *dockerapi.Client
	// DialSystemd connects to systemd's manager; nil means systemd.Dial (the
	// system D-Bus; DBUS_SYSTEM_BUS_ADDRESS is honoured).
	DialSystemd func(ctx context.Context) (*systemd.Client, error)
}

// NewLocal is this machine with the Docker API at dockerHost (see dockerapi.ResolveHost).
func NewLocal(dockerHost string) *Local { return &Local{Docker: dockerapi.New(dockerHost)} }

// LockConfig takes daemon.json's lock (daemonconfig.Lock).
func (l *Local) LockConfig(ctx context.Context, path string) (func(), error) {
	return daemonconfig.Lock(ctx, path)
}

// ReadConfig reads daemon.json; a missing file reads as (nil, false, nil).
func (l *Local) ReadConfig(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	return b, err == nil, err
}

// WriteConfig writes daemon.json atomically with a backup (daemonconfig.WriteFile).
func (l *Local) WriteConfig(path string, data []byte) (string, error) {
	return daemonconfig.WriteFile(path, data)
}

// RemoveConfig removes daemon.json (through a symlink, the target).
func (l *Local) RemoveConfig(path string) error {
	target, err := daemonconfig.ResolvePath(path)
	if err != nil {
		return err
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// DockerVersion is the running daemon's release, for the version rules.
func (l *Local) DockerVersion(ctx context.Context) (daemonconfig.DockerVersion, error) {
	v, err := l.Docker.ServerVersion(ctx)
	if err != nil {
		return daemonconfig.DockerVersion{}, err
	}
	return daemonconfig.ParseVersion(v.Server, v.API)
}

// WaitReady waits until the Docker API answers.
func (l *Local) WaitReady(ctx context.Context) error { return l.Docker.WaitReady(ctx) }

// DialManager connects to systemd's manager.
func (l *Local) DialManager(ctx context.Context) (*systemd.Client, error) {
	if l.DialSystemd != nil {
		return l.DialSystemd(ctx)
	}
	return systemd.Dial(ctx)
}

// Systemd connects to systemd for the daemon.json transaction.
func (l *Local) Systemd(ctx context.Context) (daemonconfig.Systemd, error) {
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
