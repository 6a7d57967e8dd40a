// Package fakesystemd is the sandbox's stand-in for systemd's manager on a
// private D-Bus system bus. It owns org.freedesktop.systemd1 and implements
// the part of org.freedesktop.systemd1.Manager, .Unit and .Service that
// github.com/coreos/go-systemd/v22/dbus (and so internal/systemd) uses:
// unit jobs (start, stop, restart, try-restart, reload, reload-or-restart)
// with JobRemoved signals, GetUnit/LoadUnit, ListUnits/ListUnitsByNames and
// the unit properties (Properties.Get/GetAll) with systemd's signatures.
//
// Units are backed either by a Service (in the sandbox, docker.service is a
// ProcessService running dockerd, with Type=notify-like semantics: a start job
// is done when the readiness check passes, failed when the process exits
// first or the check does not pass in time) or by the fake-units file, which
// lets tests declare other units (for example ufw.service active). Any other
// name reports LoadState "not-found", like systemd does.
package fakesystemd

import (
	"context"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
)

// Unit and job states, as systemd spells them.
const (
	StateActive       = "active"
	StateInactive     = "inactive"
	StateFailed       = "failed"
	StateActivating   = "activating"
	StateDeactivating = "deactivating"

	LoadLoaded   = "loaded"
	LoadNotFound = "not-found"

	JobDone     = "done"
	JobFailed   = "failed"
	JobCanceled = "canceled"
	JobSkipped  = "skipped"
)

// siginfo codes systemd reports in ExecMainCode (CLD_* from waitid(2)).
const (
	CLDExited = 1
	CLDKilled = 2
	CLDDumped = 3
)

// Timestamp is a systemd timestamp pair, in microseconds.
type Timestamp struct {
	Realtime  uint64 // since the Unix epoch
	Monotonic uint64 // CLOCK_MONOTONIC
}

// Now returns the current time as a systemd timestamp.
func Now() Timestamp {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return Timestamp{
		Realtime:  uint64(time.Now().UnixMicro()),
		Monotonic: uint64(ts.Sec)*1e6 + uint64(ts.Nsec)/1e3,
	}
}

// ExecCommand is one entry of a service's ExecStart property: the client's
// own type (systemd's D-Bus signature sasbttttuii), so the two cannot drift.
type ExecCommand = systemd.ExecCommand

// Status is what a unit reports through its properties.
type Status struct {
	Description string
	LoadState   string
	ActiveState string
	SubState    string

	// Service properties.
	Type           string // e.g. "notify"
	Result         string // success, exit-code, signal, core-dump, timeout
	MainPID        uint32
	ExecMainPID    uint32
	ExecMainCode   int32
	ExecMainStatus int32
	NRestarts      uint32 // automatic restarts only (always 0 here: no Restart=)

	ExecMainStart Timestamp
	ExecMainExit  Timestamp
	ActiveEnter   Timestamp
	ActiveExit    Timestamp
	InactiveEnter Timestamp
	InactiveExit  Timestamp
	StateChange   Timestamp

	ExecStart []ExecCommand
	// ExecFlags are ExecStartEx's flags of the command (e.g. no-env-expand).
	ExecFlags []string
	// Environment ("KEY=VALUE") and EnvironmentFiles are the unit's
	// Environment= and EnvironmentFile= settings.
	Environment      []string
	EnvironmentFiles []systemd.EnvironmentFile
}

// Service is a unit whose jobs do real work. Methods block until the job's
// outcome is known; a non-nil error makes the job "failed". They are never
// called concurrently for one unit (the manager serialises jobs per unit).
type Service interface {
	Status() Status
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	// Reload asks the running service to reload its configuration
	// (ExecReload); it fails when the service is not active.
	Reload(ctx context.Context) error
	// Kill sends sig to the main process.
	Kill(sig unix.Signal) error
}
