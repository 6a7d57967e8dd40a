// Package systemd is the provider's client for systemd's manager over the
// D-Bus system bus (github.com/coreos/go-systemd/v22/dbus): restart a unit
// and wait for the job, read a unit's state, its ExecStart command line (as
// systemd holds it, and expanded with the unit's environment as systemd
// runs it), and which of some units are active.
//
// The bus address is DBUS_SYSTEM_BUS_ADDRESS when set, else the standard
// unix:path=/var/run/dbus/system_bus_socket; that is how tests point it at
// the sandbox's private bus (internal/sandbox).
package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd/unitenv"
)

// DefaultBusAddress is the system bus when DBUS_SYSTEM_BUS_ADDRESS is unset.
const DefaultBusAddress = "unix:path=/var/run/dbus/system_bus_socket"

// Job results systemd reports (JobRemoved). Only JobDone is success.
const (
	JobDone       = "done"
	JobFailed     = "failed"
	JobCanceled   = "canceled"
	JobTimeout    = "timeout"
	JobDependency = "dependency"
	JobSkipped    = "skipped"
)

// State is a unit's state as systemd reports it.
type State struct {
	LoadState   string // loaded, not-found, masked, error, ...
	ActiveState string // active, inactive, failed, activating, deactivating, ...
	SubState    string // running, dead, failed, exited, ... (type specific)
	MainPID     uint32 // services only; 0 when none
	// Result is a service's or socket's last result ("success", "exit-code",
	// "start-limit-hit", "service-start-limit-hit", ...); "" when not told.
	Result string
}

// Failed tells whether systemd holds the unit in its failed state (after a
// failed start, or refusing starts after start-limit-hit).
func (s State) Failed() bool { return s.ActiveState == "failed" }

// Manager is what the provider needs from systemd; *Client implements it and
// tests can substitute their own.
type Manager interface {
	Restart(ctx context.Context, unit string, timeout time.Duration) (string, error)
	RestartJob(ctx context.Context, unit string) (*Job, error)
	ResetFailed(ctx context.Context, units ...string) error
	TriggeredBy(ctx context.Context, unit string) ([]string, error)
	UnitState(ctx context.Context, unit string) (State, error)
	ExecStart(ctx context.Context, unit string) (path string, argv []string, err error)
	ActiveUnits(ctx context.Context, names ...string) (map[string]string, error)
}

var _ Manager = (*Client)(nil)

// BusAddress is the system bus address this package connects to.
func BusAddress() string {
	if a := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); a != "" {
		return a
	}
	return DefaultBusAddress
}

// Client is a connection to systemd's manager.
type Client struct {
	conn *sd.Conn
	addr string
}

// Dial connects to systemd on the system bus. The connection is closed when
// ctx is done or Close is called, whichever comes first.
func Dial(ctx context.Context) (*Client, error) {
	addr := BusAddress()
	conn, err := sd.NewSystemConnectionContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot reach systemd over D-Bus at %s: %w", addr, err)
	}
	return &Client{conn: conn, addr: addr}, nil
}

// Close closes the connection.
func (c *Client) Close() { c.conn.Close() }

// wrap turns a D-Bus call error into one that says where it came from.
func (c *Client) wrap(what string, err error) error {
	var derr dbus.Error
	if errors.As(err, &derr) {
		switch derr.Name {
		case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
			return fmt.Errorf("%s: systemd is not running on the D-Bus system bus at %s (no owner of org.freedesktop.systemd1): %w", what, c.addr, err)
		case "org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired":
			return fmt.Errorf("%s: systemd refused the request (run as root or grant polkit rights): %w", what, err)
		}
		return fmt.Errorf("%s: systemd answered %s: %w", what, derr.Name, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: D-Bus call to systemd at %s failed: %w", what, c.addr, err)
}

// Restart asks systemd to restart unit (mode "replace") and waits for the
// job to end, at most timeout (if > 0) and while ctx lives. It returns the
// job result; anything but "done" comes with an error that names the unit,
// the result and the unit's state afterwards.
func (c *Client) Restart(ctx context.Context, unit string, timeout time.Duration) (string, error) {
	job, err := c.RestartJob(ctx, unit)
	if err != nil {
		return "", err
	}
	return job.Wait(ctx, timeout)
}

// Job is a restart job queued in systemd.
type Job struct {
	c    *Client
	unit string
	id   int
	ch   chan string
}

// RestartJob queues a restart of unit (mode "replace", which also starts a
// stopped unit) and returns without waiting; Wait waits for its result.
func (c *Client) RestartJob(ctx context.Context, unit string) (*Job, error) {
	ch := make(chan string, 1)
	id, err := c.conn.RestartUnitContext(ctx, unit, "replace", ch)
	if err != nil {
		return nil, c.wrap("systemd: restart "+unit, err)
	}
	return &Job{c: c, unit: unit, id: id, ch: ch}, nil
}

// Wait waits for the job to end, at most timeout (if > 0) and while ctx
// lives, and returns its result; anything but "done" comes with an error that
// names the unit, the result and the unit's state afterwards.
func (j *Job) Wait(ctx context.Context, timeout time.Duration) (string, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	select {
	case result := <-j.ch:
		if result == JobDone {
			return result, nil
		}
		return result, fmt.Errorf("systemd: restart of %s finished with job result %q%s", j.unit, result, j.c.describe(j.unit))
	case <-ctx.Done():
		return "", fmt.Errorf("systemd: gave up waiting for the restart of %s (job %d still queued or running in systemd): %w", j.unit, j.id, ctx.Err())
	}
}

// ResetFailed clears the failed state and the start-limit counter of each
// unit, as `systemctl reset-failed UNIT...` does, so that a unit that hit
// "start request repeated too quickly" can be started again. Units that are
// not loaded are passed over.
func (c *Client) ResetFailed(ctx context.Context, units ...string) error {
	for _, u := range units {
		if err := c.conn.ResetFailedUnitContext(ctx, u); err != nil {
			var derr dbus.Error
			if errors.As(err, &derr) && derr.Name == "org.freedesktop.systemd1.NoSuchUnit" {
				continue
			}
			return c.wrap("systemd: reset-failed "+u, err)
		}
	}
	return nil
}

// TriggeredBy lists the units that activate unit (for docker.service,
// Debian's docker.socket).
func (c *Client) TriggeredBy(ctx context.Context, unit string) ([]string, error) {
	p, err := c.conn.GetUnitPropertyContext(ctx, unit, "TriggeredBy")
	if err != nil {
		return nil, c.wrap("systemd: TriggeredBy of "+unit, err)
	}
	var out []string
	if err := dbus.Store([]any{p.Value.Value()}, &out); err != nil {
		return nil, fmt.Errorf("systemd: TriggeredBy of %s has an unexpected type %s: %w", unit, p.Value.Signature(), err)
	}
	return out, nil
}

// describe summarises a unit's state after a failed job, best effort.
func (c *Client) describe(unit string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	props, err := c.conn.GetAllPropertiesContext(ctx, unit)
	if err != nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, " (unit is %v/%v", props["ActiveState"], props["SubState"])
	if r, ok := props["Result"].(string); ok && r != "" {
		fmt.Fprintf(&b, ", service result %s", r)
		if r == "start-limit-hit" {
			b.WriteString(": systemd refuses to start it, \"start request repeated too quickly\" (StartLimitBurst within StartLimitIntervalSec); systemctl reset-failed clears it")
		}
	}
	if code, ok := props["ExecMainCode"].(int32); ok && code != 0 {
		status, _ := props["ExecMainStatus"].(int32)
		switch code {
		case 1:
			fmt.Fprintf(&b, ", main process exited with status %d", status)
		default:
			fmt.Fprintf(&b, ", main process killed by signal %d", status)
		}
	}
	b.WriteString(")")
	return b.String()
}

// UnitState reads a unit's load, active and sub state and main PID. A unit
// systemd does not know is not an error: LoadState is "not-found".
func (c *Client) UnitState(ctx context.Context, unit string) (State, error) {
	props, err := c.conn.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return State{}, c.wrap("systemd: state of "+unit, err)
	}
	st := State{}
	st.LoadState, _ = props["LoadState"].(string)
	st.ActiveState, _ = props["ActiveState"].(string)
	st.SubState, _ = props["SubState"].(string)
	if typ := unitType(unit); typ != "" && st.LoadState == "loaded" {
		if r, err := c.conn.GetUnitTypePropertyContext(ctx, unit, typ, "Result"); err == nil {
			st.Result, _ = r.Value.Value().(string)
		}
	}
	if strings.HasSuffix(unit, ".service") && st.LoadState == "loaded" {
		p, err := c.conn.GetServicePropertyContext(ctx, unit, "MainPID")
		if err != nil {
			return st, c.wrap("systemd: main PID of "+unit, err)
		}
		st.MainPID, _ = p.Value.Value().(uint32)
	}
	return st, nil
}

// unitType is the D-Bus interface suffix of the units that have a Result property.
func unitType(unit string) string {
	switch {
	case strings.HasSuffix(unit, ".service"):
		return "Service"
	case strings.HasSuffix(unit, ".socket"):
		return "Socket"
	}
	return ""
}

// ExecCommand is one element of systemd's ExecStart property; its field
// order is systemd's D-Bus signature a(sasbttttuii): path, argv (before
// $VAR expansion), ignore errors, start and exit timestamps (realtime,
// monotonic), PID, si_code, status. The sandbox's stand-in manager serves
// the same type.
type ExecCommand struct {
	Path                    string
	Argv                    []string
	IgnoreErrors            bool
	StartTimestamp          uint64
	StartTimestampMonotonic uint64
	ExitTimestamp           uint64
	ExitTimestampMonotonic  uint64
	PID                     uint32
	Code                    int32
	Status                  int32
}

// ExecCommandEx is one element of systemd's ExecStartEx property (systemd
// 243 and later), a(sasasttttuii): ExecCommand with the command's prefixes as
// words instead of IgnoreErrors ("ignore-failure" for "-", "no-env-expand"
// for ":", ...).
type ExecCommandEx struct {
	Path                    string
	Argv                    []string
	Flags                   []string
	StartTimestamp          uint64
	StartTimestampMonotonic uint64
	ExitTimestamp           uint64
	ExitTimestampMonotonic  uint64
	PID                     uint32
	Code                    int32
	Status                  int32
}

// FlagNoEnvExpand is ExecStartEx's flag for the ":" prefix: systemd runs
// the argv as it is, without expanding $VAR.
const FlagNoEnvExpand = "no-env-expand"

// EnvironmentFile is one element of systemd's EnvironmentFiles property,
// a(sb): the path and whether it had the "-" prefix (errors ignored).
type EnvironmentFile struct {
	Path         string
	IgnoreErrors bool
}

// ExecStart returns the binary and the full argv (argv[0] included) of a
// service's first ExecStart command as systemd holds it, before $VAR
// expansion, e.g. "/usr/sbin/dockerd" and ["/usr/sbin/dockerd", "-H",
// "fd://", "--containerd=...", "$DOCKER_OPTS"]. Command expands it.
func (c *Client) ExecStart(ctx context.Context, unit string) (string, []string, error) {
	p, err := c.conn.GetServicePropertyContext(ctx, unit, "ExecStart")
	if err != nil {
		return "", nil, c.wrap("systemd: ExecStart of "+unit, err)
	}
	var cmds []ExecCommand
	if err := dbus.Store([]any{p.Value.Value()}, &cmds); err != nil {
		return "", nil, fmt.Errorf("systemd: ExecStart of %s has an unexpected type %s: %w", unit, p.Value.Signature(), err)
	}
	if len(cmds) == 0 {
		return "", nil, fmt.Errorf("systemd: %s has no ExecStart (is the unit loaded? a service?)", unit)
	}
	return cmds[0].Path, cmds[0].Argv, nil
}

// Environment returns a service's Environment= assignments ("KEY=VALUE")
// and its EnvironmentFile= files, in order.
func (c *Client) Environment(ctx context.Context, unit string) ([]string, []EnvironmentFile, error) {
	var env []string
	var files []EnvironmentFile
	for _, prop := range []struct {
		name string
		dst  any
	}{{"Environment", &env}, {"EnvironmentFiles", &files}} {
		p, err := c.conn.GetServicePropertyContext(ctx, unit, prop.name)
		if err != nil {
			return nil, nil, c.wrap("systemd: "+prop.name+" of "+unit, err)
		}
		if err := dbus.Store([]any{p.Value.Value()}, prop.dst); err != nil {
			return nil, nil, fmt.Errorf("systemd: %s of %s has an unexpected type %s: %w", prop.name, unit, p.Value.Signature(), err)
		}
	}
	return env, files, nil
}

// Command returns a service's first ExecStart command as systemd runs it:
// ExecStart's argv (as it is with the ":" prefix; otherwise) with $VAR and
// ${VAR} expanded from the unit's
// Environment= and EnvironmentFile= settings (package unitenv), the files
// read with read (as the host where the unit runs sees them). An error
// says why the command line is not known: systemd could not be asked, or
// the argv cannot be expanded here as systemd would (a required file
// missing or unreadable, a variable only systemd knows).
func (c *Client) Command(ctx context.Context, unit string, read unitenv.ReadFunc) (string, []string, error) {
	path, argv, err := c.ExecStart(ctx, unit)
	if err != nil {
		return "", nil, err
	}
	if !hasVariable(argv) {
		return path, argv, nil
	}
	if noExpand, err := c.noEnvExpand(ctx, unit); err != nil || noExpand {
		return path, argv, err
	}
	assign, files, err := c.Environment(ctx, unit)
	if err != nil {
		return "", nil, err
	}
	ufiles := make([]unitenv.File, len(files))
	for i, f := range files {
		ufiles[i] = unitenv.File{Path: f.Path, Optional: f.IgnoreErrors}
	}
	env, err := unitenv.Environment(assign, ufiles, read)
	if err == nil {
		argv, err = unitenv.Expand(argv, env)
	}
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", &NotExpandedError{Unit: unit}, err)
	}
	return path, argv, nil
}

// NotExpandedError is Command's error when systemd answered but the argv
// cannot be expanded here as systemd would.
type NotExpandedError struct{ Unit string }

func (e *NotExpandedError) Error() string {
	return "systemd: cannot expand the ExecStart of " + e.Unit + " as systemd would"
}

// noEnvExpand tells whether the service's first ExecStart has the ":"
// prefix (ExecStartEx flag no-env-expand). A systemd without ExecStartEx
// (before 243) has no such prefix either.
func (c *Client) noEnvExpand(ctx context.Context, unit string) (bool, error) {
	p, err := c.conn.GetServicePropertyContext(ctx, unit, "ExecStartEx")
	if err != nil {
		var derr dbus.Error
		if errors.As(err, &derr) && derr.Name == "org.freedesktop.DBus.Error.UnknownProperty" {
			return false, nil
		}
		return false, c.wrap("systemd: ExecStartEx of "+unit, err)
	}
	var cmds []ExecCommandEx
	if err := dbus.Store([]any{p.Value.Value()}, &cmds); err != nil {
		return false, fmt.Errorf("systemd: ExecStartEx of %s has an unexpected type %s: %w", unit, p.Value.Signature(), err)
	}
	return len(cmds) > 0 && slices.Contains(cmds[0].Flags, FlagNoEnvExpand), nil
}

// hasVariable tells whether a word of argv has a $.
func hasVariable(argv []string) bool {
	for _, a := range argv {
		if strings.Contains(a, "$") {
			return true
		}
	}
	return false
}

// ActiveUnits returns the ActiveState of each named unit ("active",
// "inactive", "failed", ...); units systemd does not know are "inactive"
// (their LoadState is not-found). Used to detect ufw.service and
// firewalld.service.
func (c *Client) ActiveUnits(ctx context.Context, names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	if len(names) == 0 {
		return out, nil
	}
	units, err := c.conn.ListUnitsByNamesContext(ctx, names)
	if err != nil {
		return nil, c.wrap("systemd: list units "+strings.Join(names, ", "), err)
	}
	for _, u := range units {
		out[u.Name] = u.ActiveState
	}
	return out, nil
}

// Restart dials systemd, restarts unit and waits (see Client.Restart).
func Restart(ctx context.Context, unit string, timeout time.Duration) (string, error) {
	c, err := Dial(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.Restart(ctx, unit, timeout)
}

// UnitState dials systemd and reads a unit's state (see Client.UnitState).
func UnitState(ctx context.Context, unit string) (State, error) {
	c, err := Dial(ctx)
	if err != nil {
		return State{}, err
	}
	defer c.Close()
	return c.UnitState(ctx, unit)
}

// ExecStart dials systemd and reads a service's ExecStart (see Client.ExecStart).
func ExecStart(ctx context.Context, unit string) (string, []string, error) {
	c, err := Dial(ctx)
	if err != nil {
		return "", nil, err
	}
	defer c.Close()
	return c.ExecStart(ctx, unit)
}

// ActiveUnits dials systemd and reads units' active states (see Client.ActiveUnits).
func ActiveUnits(ctx context.Context, names ...string) (map[string]string, error) {
	c, err := Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ActiveUnits(ctx, names...)
}
