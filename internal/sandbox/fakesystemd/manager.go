package fakesystemd

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// D-Bus names systemd uses.
const (
	BusName          = "org.freedesktop.systemd1"
	ManagerPath      = dbus.ObjectPath("/org/freedesktop/systemd1")
	ManagerInterface = "org.freedesktop.systemd1.Manager"
	UnitInterface    = "org.freedesktop.systemd1.Unit"
	ServiceInterface = "org.freedesktop.systemd1.Service"
	unitPathPrefix   = "/org/freedesktop/systemd1/unit"
	jobPathPrefix    = "/org/freedesktop/systemd1/job"
	propsInterface   = "org.freedesktop.DBus.Properties"
)

// Options configures a Manager.
type Options struct {
	// Services maps unit names (e.g. "docker.service") to their backends.
	Services map[string]Service
	// FakeUnitsFile, if set, is read on every request; see ReadFakeUnits.
	// Jobs on those units only change the state written in the file.
	FakeUnitsFile string
	// Version is reported as the Manager's Version property.
	Version string
}

// Manager is the org.freedesktop.systemd1 stand-in on one bus connection.
type Manager struct {
	conn  *dbus.Conn
	opts  Options
	ctx   context.Context
	stop  context.CancelFunc
	jobID atomic.Uint32

	mu        sync.Mutex
	unitLocks map[string]*sync.Mutex
	jobs      map[string]jobRef // unit -> running job
	fileMu    sync.Mutex
}

type jobRef struct {
	ID   uint32
	Path dbus.ObjectPath
	Type string
}

// UnitListEntry is one element of ListUnits' a(ssssssouso).
type UnitListEntry struct {
	Name        string
	Description string
	LoadState   string
	ActiveState string
	SubState    string
	Followed    string
	Path        dbus.ObjectPath
	JobID       uint32
	JobType     string
	JobPath     dbus.ObjectPath
}

// Export registers the manager's objects on conn and then takes the name
// org.freedesktop.systemd1.
func Export(conn *dbus.Conn, opts Options) (*Manager, error) {
	if opts.Version == "" {
		opts.Version = "dockeripv6-sandbox"
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		conn: conn, opts: opts, ctx: ctx, stop: cancel,
		unitLocks: map[string]*sync.Mutex{},
		jobs:      map[string]jobRef{},
	}
	if err := conn.Export((*managerObject)(m), ManagerPath, ManagerInterface); err != nil {
		return nil, err
	}
	if err := conn.Export((*managerProps)(m), ManagerPath, propsInterface); err != nil {
		return nil, err
	}
	if err := conn.ExportSubtree((*unitProps)(m), unitPathPrefix, propsInterface); err != nil {
		return nil, err
	}
	reply, err := conn.RequestName(BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return nil, fmt.Errorf("request bus name %s: %w", BusName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return nil, fmt.Errorf("request bus name %s: %s", BusName, reply)
	}
	return m, nil
}

// Close cancels running jobs' context. It does not close the connection.
func (m *Manager) Close() { m.stop() }

// UnitPath is the object path systemd (and go-systemd) use for a unit.
func UnitPath(name string) dbus.ObjectPath {
	return dbus.ObjectPath(unitPathPrefix + "/" + busEscape(name))
}

// busEscape escapes a path element like systemd's bus_label_escape.
func busEscape(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		digit := c >= '0' && c <= '9'
		if alpha || (digit && i > 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return b.String()
}

func busUnescape(s string) string {
	if s == "_" {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+2 < len(s) {
			if v, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				b.Write(v)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var unitSuffixes = map[string]bool{
	"service": true, "socket": true, "target": true, "device": true, "mount": true,
	"automount": true, "swap": true, "timer": true, "path": true, "slice": true, "scope": true,
}

func validUnitName(name string) bool {
	i := strings.LastIndexByte(name, '.')
	return i > 0 && unitSuffixes[name[i+1:]] && !strings.ContainsAny(name, "/ \t\n")
}

func errInvalidName(name string) *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.InvalidArgs", []any{"Unit name " + name + " is not valid."})
}

func errNoSuchUnit(name, how string) *dbus.Error {
	return dbus.NewError("org.freedesktop.systemd1.NoSuchUnit", []any{"Unit " + name + " " + how + "."})
}

// unitKind says what backs a unit name.
type unitKind int

const (
	kindNotFound unitKind = iota
	kindService
	kindFake
)

// lookup returns what backs name and its current status.
func (m *Manager) lookup(name string) (unitKind, Status) {
	if svc, ok := m.opts.Services[name]; ok {
		return kindService, svc.Status()
	}
	if fu, ok := m.fakeUnits()[name]; ok {
		return kindFake, fakeStatus(name, fu)
	}
	return kindNotFound, Status{
		LoadState:   LoadNotFound,
		ActiveState: StateInactive,
		SubState:    "dead",
		Result:      "success",
		Type:        "simple",
	}
}

func (m *Manager) fakeUnits() map[string]FakeUnit {
	if m.opts.FakeUnitsFile == "" {
		return nil
	}
	m.fileMu.Lock()
	defer m.fileMu.Unlock()
	units, err := ReadFakeUnits(m.opts.FakeUnitsFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: fake systemd: %v\n", err)
	}
	return units
}

func (m *Manager) setFakeState(name, active string) error {
	m.fileMu.Lock()
	defer m.fileMu.Unlock()
	return SetFakeUnit(m.opts.FakeUnitsFile, name, active)
}

func (m *Manager) unitLock(name string) *sync.Mutex {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.unitLocks[name]
	if !ok {
		l = &sync.Mutex{}
		m.unitLocks[name] = l
	}
	return l
}

func (m *Manager) currentJob(name string) jobRef {
	m.mu.Lock()
	defer m.mu.Unlock()
	if j, ok := m.jobs[name]; ok {
		return j
	}
	return jobRef{Path: "/"}
}

// enqueue creates a job for unit and runs it in the background. The job's
// result is broadcast with JobRemoved when it ends.
func (m *Manager) enqueue(name, jobType string) (dbus.ObjectPath, *dbus.Error) {
	if !validUnitName(name) {
		return "", errInvalidName(name)
	}
	kind, _ := m.lookup(name)
	if kind == kindNotFound {
		how := "not found"
		if jobType == "stop" {
			how = "not loaded"
		}
		return "", errNoSuchUnit(name, how)
	}
	id := m.jobID.Add(1)
	jp := dbus.ObjectPath(jobPathPrefix + "/" + strconv.FormatUint(uint64(id), 10))
	job := jobRef{ID: id, Path: jp, Type: jobType}
	m.mu.Lock()
	if _, busy := m.jobs[name]; !busy {
		m.jobs[name] = job // visible as the unit's Job at once, like a queued job
	}
	m.mu.Unlock()
	go func() {
		// Let the method reply go out before the job's signals.
		time.Sleep(5 * time.Millisecond)
		_ = m.conn.Emit(ManagerPath, ManagerInterface+".JobNew", id, jp, name)
		result := m.runJob(name, jobType, job)
		_ = m.conn.Emit(ManagerPath, ManagerInterface+".JobRemoved", id, jp, name, result)
	}()
	return jp, nil
}

// RunJob runs a job synchronously (for the sandbox's own start and stop of
// docker.service) and returns its result; it emits no signals.
func (m *Manager) RunJob(name, jobType string) string {
	id := m.jobID.Add(1)
	return m.runJob(name, jobType, jobRef{ID: id, Path: dbus.ObjectPath(jobPathPrefix + "/" + strconv.FormatUint(uint64(id), 10)), Type: jobType})
}

func (m *Manager) runJob(name, jobType string, job jobRef) string {
	l := m.unitLock(name)
	l.Lock()
	defer l.Unlock()
	m.mu.Lock()
	m.jobs[name] = job
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		if m.jobs[name].ID == job.ID {
			delete(m.jobs, name)
		}
		m.mu.Unlock()
		m.UnitChanged(name)
	}()
	m.UnitChanged(name)

	kind, st := m.lookup(name)
	active := st.ActiveState == StateActive
	switch kind {
	case kindService:
		svc := m.opts.Services[name]
		var err error
		switch jobType {
		case "start":
			err = svc.Start(m.ctx)
		case "stop":
			err = svc.Stop(m.ctx)
		case "restart":
			if err = svc.Stop(m.ctx); err == nil {
				err = svc.Start(m.ctx)
			}
		case "try-restart":
			if active {
				if err = svc.Stop(m.ctx); err == nil {
					err = svc.Start(m.ctx)
				}
			}
		case "reload":
			err = svc.Reload(m.ctx)
		case "reload-or-restart":
			if active {
				err = svc.Reload(m.ctx)
			} else {
				err = svc.Start(m.ctx)
			}
		case "reload-or-try-restart":
			if active {
				err = svc.Reload(m.ctx)
			}
		default:
			err = fmt.Errorf("unknown job type %q", jobType)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: fake systemd: %s job for %s failed: %v\n", jobType, name, err)
			if m.ctx.Err() != nil {
				return JobCanceled
			}
			return JobFailed
		}
		return JobDone
	case kindFake:
		var err error
		switch jobType {
		case "start", "restart", "reload-or-restart":
			err = m.setFakeState(name, StateActive)
		case "stop":
			err = m.setFakeState(name, StateInactive)
		case "try-restart", "reload-or-try-restart":
		case "reload":
			if !active {
				return JobFailed
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "dockeripv6-sandbox: fake systemd: %s job for %s: %v\n", jobType, name, err)
			return JobFailed
		}
		return JobDone
	}
	return JobFailed
}

// UnitChanged broadcasts PropertiesChanged for a unit's Unit and Service
// interfaces (go-systemd's SetPropertiesSubscriber listens for these).
func (m *Manager) UnitChanged(name string) {
	kind, st := m.lookup(name)
	if kind == kindNotFound {
		return
	}
	p := UnitPath(name)
	_ = m.conn.Emit(p, propsInterface+".PropertiesChanged", UnitInterface, m.unitProperties(name, st), []string{})
	if strings.HasSuffix(name, ".service") {
		_ = m.conn.Emit(p, propsInterface+".PropertiesChanged", ServiceInterface, serviceProperties(st), []string{})
	}
}

func (m *Manager) listEntry(name string, st Status) UnitListEntry {
	j := m.currentJob(name)
	return UnitListEntry{
		Name: name, Description: st.Description,
		LoadState: st.LoadState, ActiveState: st.ActiveState, SubState: st.SubState,
		Path: UnitPath(name), JobID: j.ID, JobType: j.Type, JobPath: j.Path,
	}
}

// loadedUnits lists every unit the manager knows (services and fake units).
func (m *Manager) loadedUnits() []UnitListEntry {
	var out []UnitListEntry
	for name, svc := range m.opts.Services {
		out = append(out, m.listEntry(name, svc.Status()))
	}
	for name, fu := range m.fakeUnits() {
		if _, dup := m.opts.Services[name]; !dup {
			out = append(out, m.listEntry(name, fakeStatus(name, fu)))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// managerObject carries the exported org.freedesktop.systemd1.Manager methods.
type managerObject Manager

func (o *managerObject) m() *Manager { return (*Manager)(o) }

func (o *managerObject) StartUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return o.m().enqueue(name, "start")
}

func (o *managerObject) StopUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return o.m().enqueue(name, "stop")
}

func (o *managerObject) RestartUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return o.m().enqueue(name, "restart")
}

func (o *managerObject) TryRestartUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return o.m().enqueue(name, "try-restart")
}

func (o *managerObject) ReloadUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return o.m().enqueue(name, "reload")
}

func (o *managerObject) ReloadOrRestartUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return o.m().enqueue(name, "reload-or-restart")
}

func (o *managerObject) ReloadOrTryRestartUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return o.m().enqueue(name, "reload-or-try-restart")
}

// GetUnit returns the path of a loaded unit, NoSuchUnit otherwise.
func (o *managerObject) GetUnit(name string) (dbus.ObjectPath, *dbus.Error) {
	if !validUnitName(name) {
		return "", errInvalidName(name)
	}
	if kind, _ := o.m().lookup(name); kind == kindNotFound {
		return "", errNoSuchUnit(name, "not loaded")
	}
	return UnitPath(name), nil
}

// LoadUnit returns the path of any valid unit name (a missing unit then
// reports LoadState "not-found", like systemd).
func (o *managerObject) LoadUnit(name string) (dbus.ObjectPath, *dbus.Error) {
	if !validUnitName(name) {
		return "", errInvalidName(name)
	}
	return UnitPath(name), nil
}

func (o *managerObject) GetUnitByPID(pid uint32) (dbus.ObjectPath, *dbus.Error) {
	for name, svc := range o.m().opts.Services {
		if st := svc.Status(); st.MainPID != 0 && st.MainPID == pid {
			return UnitPath(name), nil
		}
	}
	return "", dbus.NewError("org.freedesktop.systemd1.NoUnitForPID", []any{fmt.Sprintf("PID %d does not belong to any loaded unit.", pid)})
}

func (o *managerObject) ListUnits() ([]UnitListEntry, *dbus.Error) {
	return o.m().loadedUnits(), nil
}

func (o *managerObject) ListUnitsFiltered(states []string) ([]UnitListEntry, *dbus.Error) {
	return o.ListUnitsByPatterns(states, nil)
}

func (o *managerObject) ListUnitsByPatterns(states, patterns []string) ([]UnitListEntry, *dbus.Error) {
	var out []UnitListEntry
	for _, u := range o.m().loadedUnits() {
		if len(states) > 0 && !contains(states, u.ActiveState) && !contains(states, u.SubState) && !contains(states, u.LoadState) {
			continue
		}
		if len(patterns) > 0 {
			ok := false
			for _, p := range patterns {
				if match, _ := path.Match(p, u.Name); match {
					ok = true
				}
			}
			if !ok {
				continue
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// ListUnitsByNames answers for every name, loaded or not.
func (o *managerObject) ListUnitsByNames(names []string) ([]UnitListEntry, *dbus.Error) {
	out := make([]UnitListEntry, 0, len(names))
	for _, name := range names {
		if !validUnitName(name) {
			return nil, errInvalidName(name)
		}
		_, st := o.m().lookup(name)
		out = append(out, o.m().listEntry(name, st))
	}
	return out, nil
}

func (o *managerObject) Subscribe() *dbus.Error   { return nil }
func (o *managerObject) Unsubscribe() *dbus.Error { return nil }

func (o *managerObject) ResetFailedUnit(name string) *dbus.Error {
	if kind, _ := o.m().lookup(name); kind == kindNotFound {
		return errNoSuchUnit(name, "not loaded")
	}
	return nil
}

func (o *managerObject) KillUnit(name, who string, sig int32) *dbus.Error {
	svc, ok := o.m().opts.Services[name]
	if !ok {
		return errNoSuchUnit(name, "not loaded")
	}
	if err := svc.Kill(unix.Signal(sig)); err != nil {
		return dbus.MakeFailedError(err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
