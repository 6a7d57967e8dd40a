package fakesystemd

import (
	"path"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/systemd"
)

// JobProperty is the Unit's Job property, systemd signature (uo).
type JobProperty struct {
	ID   uint32
	Path dbus.ObjectPath
}

// LoadErrorProperty is the Unit's LoadError property, signature (ss).
type LoadErrorProperty struct {
	Name    string
	Message string
}

func ts(props map[string]dbus.Variant, name string, t Timestamp) {
	props[name] = dbus.MakeVariant(t.Realtime)
	props[name+"Monotonic"] = dbus.MakeVariant(t.Monotonic)
}

// unitProperties are the org.freedesktop.systemd1.Unit properties.
func (m *Manager) unitProperties(name string, st Status) map[string]dbus.Variant {
	j := m.currentJob(name)
	loadErr := LoadErrorProperty{}
	unitFileState := "enabled"
	if st.LoadState == LoadNotFound {
		loadErr = LoadErrorProperty{"org.freedesktop.systemd1.NoSuchUnit", "Unit " + name + " not found."}
		unitFileState = ""
	}
	loaded := st.LoadState == LoadLoaded
	props := map[string]dbus.Variant{
		"Id":            dbus.MakeVariant(name),
		"Names":         dbus.MakeVariant([]string{name}),
		"Description":   dbus.MakeVariant(st.Description),
		"LoadState":     dbus.MakeVariant(st.LoadState),
		"ActiveState":   dbus.MakeVariant(st.ActiveState),
		"SubState":      dbus.MakeVariant(st.SubState),
		"UnitFileState": dbus.MakeVariant(unitFileState),
		"Job":           dbus.MakeVariant(JobProperty{j.ID, j.Path}),
		"LoadError":     dbus.MakeVariant(loadErr),
		"CanStart":      dbus.MakeVariant(loaded),
		"CanStop":       dbus.MakeVariant(loaded),
		"CanReload":     dbus.MakeVariant(loaded),
	}
	ts(props, "ActiveEnterTimestamp", st.ActiveEnter)
	ts(props, "ActiveExitTimestamp", st.ActiveExit)
	ts(props, "InactiveEnterTimestamp", st.InactiveEnter)
	ts(props, "InactiveExitTimestamp", st.InactiveExit)
	ts(props, "StateChangeTimestamp", st.StateChange)
	return props
}

// serviceProperties are the org.freedesktop.systemd1.Service properties.
func serviceProperties(st Status) map[string]dbus.Variant {
	execStart := st.ExecStart
	if execStart == nil {
		execStart = []ExecCommand{}
	}
	env, files := st.Environment, st.EnvironmentFiles
	if env == nil {
		env = []string{}
	}
	if files == nil {
		files = []systemd.EnvironmentFile{}
	}
	execStartEx := make([]systemd.ExecCommandEx, len(execStart))
	for i, c := range execStart {
		flags := append([]string{}, st.ExecFlags...)
		execStartEx[i] = systemd.ExecCommandEx{Path: c.Path, Argv: c.Argv, Flags: flags,
			StartTimestamp: c.StartTimestamp, StartTimestampMonotonic: c.StartTimestampMonotonic,
			ExitTimestamp: c.ExitTimestamp, ExitTimestampMonotonic: c.ExitTimestampMonotonic,
			PID: c.PID, Code: c.Code, Status: c.Status}
	}
	props := map[string]dbus.Variant{
		"ExecStartEx":      dbus.MakeVariant(execStartEx),
		"Environment":      dbus.MakeVariant(env),
		"EnvironmentFiles": dbus.MakeVariant(files),
		"Type":             dbus.MakeVariant(st.Type),
		"Restart":          dbus.MakeVariant("no"),
		"Result":           dbus.MakeVariant(st.Result),
		"MainPID":          dbus.MakeVariant(st.MainPID),
		"ControlPID":       dbus.MakeVariant(uint32(0)),
		"ExecMainPID":      dbus.MakeVariant(st.ExecMainPID),
		"ExecMainCode":     dbus.MakeVariant(st.ExecMainCode),
		"ExecMainStatus":   dbus.MakeVariant(st.ExecMainStatus),
		"NRestarts":        dbus.MakeVariant(st.NRestarts),
		"ExecStart":        dbus.MakeVariant(execStart),
		"ExecReload":       dbus.MakeVariant([]ExecCommand{}),
		"StatusText":       dbus.MakeVariant(""),
	}
	ts(props, "ExecMainStartTimestamp", st.ExecMainStart)
	ts(props, "ExecMainExitTimestamp", st.ExecMainExit)
	return props
}

func errUnknownInterface(iface string) *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.UnknownInterface", []any{"Unknown interface " + iface + "."})
}

func errUnknownProperty(prop string) *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{"Unknown property " + prop + "."})
}

// UnitPropertiesFor returns the properties of a unit for one interface
// (UnitInterface, ServiceInterface, or "" for both), as Properties.GetAll
// answers them.
func (m *Manager) UnitPropertiesFor(name, iface string) (map[string]dbus.Variant, *dbus.Error) {
	_, st := m.lookup(name)
	isService := strings.HasSuffix(name, ".service")
	switch iface {
	case UnitInterface:
		return m.unitProperties(name, st), nil
	case ServiceInterface:
		if !isService {
			return nil, errUnknownInterface(iface)
		}
		return serviceProperties(st), nil
	case "":
		all := m.unitProperties(name, st)
		if isService {
			for k, v := range serviceProperties(st) {
				all[k] = v
			}
		}
		return all, nil
	}
	return nil, errUnknownInterface(iface)
}

// unitProps serves org.freedesktop.DBus.Properties for every unit path.
type unitProps Manager

func unitFromMessage(msg dbus.Message) (string, *dbus.Error) {
	p, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	name := busUnescape(path.Base(string(p)))
	if !strings.HasPrefix(string(p), unitPathPrefix+"/") || !validUnitName(name) {
		return "", dbus.NewError("org.freedesktop.DBus.Error.UnknownObject", []any{"Unknown object '" + string(p) + "'."})
	}
	return name, nil
}

func (u *unitProps) Get(msg dbus.Message, iface, prop string) (dbus.Variant, *dbus.Error) {
	name, derr := unitFromMessage(msg)
	if derr != nil {
		return dbus.Variant{}, derr
	}
	props, derr := (*Manager)(u).UnitPropertiesFor(name, iface)
	if derr != nil {
		return dbus.Variant{}, derr
	}
	v, ok := props[prop]
	if !ok {
		return dbus.Variant{}, errUnknownProperty(prop)
	}
	return v, nil
}

func (u *unitProps) GetAll(msg dbus.Message, iface string) (map[string]dbus.Variant, *dbus.Error) {
	name, derr := unitFromMessage(msg)
	if derr != nil {
		return nil, derr
	}
	return (*Manager)(u).UnitPropertiesFor(name, iface)
}

func (u *unitProps) Set(msg dbus.Message, iface, prop string, v dbus.Variant) *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.PropertyReadOnly", []any{"Property " + prop + " is read-only."})
}

// managerProps serves org.freedesktop.DBus.Properties on the manager object.
type managerProps Manager

func (p *managerProps) all() map[string]dbus.Variant {
	m := (*Manager)(p)
	return map[string]dbus.Variant{
		"Version":        dbus.MakeVariant(m.opts.Version),
		"Features":       dbus.MakeVariant(""),
		"Virtualization": dbus.MakeVariant(""),
		"Architecture":   dbus.MakeVariant("x86-64"),
		"SystemState":    dbus.MakeVariant("running"),
		"NNames":         dbus.MakeVariant(uint32(len(m.loadedUnits()))),
	}
}

func (p *managerProps) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	if iface != ManagerInterface {
		return dbus.Variant{}, errUnknownInterface(iface)
	}
	v, ok := p.all()[prop]
	if !ok {
		return dbus.Variant{}, errUnknownProperty(prop)
	}
	return v, nil
}

func (p *managerProps) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	if iface != ManagerInterface && iface != "" {
		return nil, errUnknownInterface(iface)
	}
	return p.all(), nil
}

func (p *managerProps) Set(iface, prop string, v dbus.Variant) *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.PropertyReadOnly", []any{"Property " + prop + " is read-only."})
}
