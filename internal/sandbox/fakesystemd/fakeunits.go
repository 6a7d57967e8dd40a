package fakesystemd

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FakeUnit is a unit declared in the fake-units file.
type FakeUnit struct {
	ActiveState string
	SubState    string // empty: derived from ActiveState
}

// ReadFakeUnits parses the fake-units file: one unit a line,
// "NAME ACTIVESTATE [SUBSTATE]", '#' starts a comment. A missing file is no
// units. Example: "ufw.service active exited".
func ReadFakeUnits(file string) (map[string]FakeUnit, error) {
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseFakeUnits(b)
}

// ParseFakeUnits parses the fake-units file format (see ReadFakeUnits).
func ParseFakeUnits(b []byte) (map[string]FakeUnit, error) {
	units := map[string]FakeUnit{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 || len(f) > 3 || !validUnitName(f[0]) {
			return units, fmt.Errorf("fake units line %d: want \"NAME.service ACTIVESTATE [SUBSTATE]\", got %q", n, sc.Text())
		}
		u := FakeUnit{ActiveState: f[1]}
		if len(f) == 3 {
			u.SubState = f[2]
		}
		units[f[0]] = u
	}
	return units, sc.Err()
}

// FormatFakeUnits renders units in the file format, sorted by name.
func FormatFakeUnits(units map[string]FakeUnit) []byte {
	names := make([]string, 0, len(units))
	for n := range units {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("# dockeripv6-sandbox fake systemd units: NAME ACTIVESTATE [SUBSTATE]\n")
	for _, n := range names {
		u := units[n]
		fmt.Fprintf(&b, "%s %s", n, u.ActiveState)
		if u.SubState != "" {
			fmt.Fprintf(&b, " %s", u.SubState)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// SetFakeUnit sets (or, with activeState "", removes) one unit in the file,
// keeping the others; the file is replaced atomically.
func SetFakeUnit(file, name, activeState string) error {
	if !validUnitName(name) {
		return fmt.Errorf("invalid unit name %q", name)
	}
	units, err := ReadFakeUnits(file)
	if err != nil {
		return err
	}
	if units == nil {
		units = map[string]FakeUnit{}
	}
	if activeState == "" {
		delete(units, name)
	} else {
		units[name] = FakeUnit{ActiveState: activeState}
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".fake-units-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(FormatFakeUnits(units)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// fakeStatus is the Status a fake unit reports.
func fakeStatus(name string, u FakeUnit) Status {
	sub := u.SubState
	if sub == "" {
		switch u.ActiveState {
		case StateActive:
			sub = "running"
		case StateFailed:
			sub = "failed"
		default:
			sub = "dead"
		}
	}
	now := Now()
	st := Status{
		Description: name + " (dockeripv6-sandbox fake unit)",
		LoadState:   LoadLoaded,
		ActiveState: u.ActiveState,
		SubState:    sub,
		Type:        "simple",
		Result:      "success",
		StateChange: now,
	}
	if u.ActiveState == StateActive {
		st.ActiveEnter = now
	} else {
		st.InactiveEnter = now
	}
	return st
}
