package trust

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
)

// MainCFPath is where Read looks for Postfix's configuration in the container.
const MainCFPath = "/etc/postfix/main.cf"

// Read reads what c trusts: PERMIT_DOCKER and Mailu's variables from its
// environment, Postfix's mynetworks from its main.cf, and the mynetworks of
// master.cf's inet services that set their own (the Set then says whether
// any of the container's services trusts an address). It changes nothing
// and runs nothing in the container; it must run on the container's host (it
// reads /proc/<pid>/root there).
func Read(c Container) Set {
	var s Set
	env := c.env()
	ifs := c.ifaces()
	if v, ok := env["PERMIT_DOCKER"]; ok {
		s.List = append(s.List, permitDocker(v, ifs))
	}
	if m := mailu(env); m != nil {
		s.List = append(s.List, *m)
	}
	data, err := c.readMainCF()
	switch {
	case err == nil:
		cf := ParseMainCF(data)
		s.List = append(s.List, cf.mynetworksSource(ifs, c.hostNetwork()))
		s.List = append(s.List, c.masterOverrides(cf, ifs)...)
	case errors.Is(err, fs.ErrNotExist) && len(s.List) > 0:
		// not a Postfix container (a Mailu front): its variables say it all
	case errors.Is(err, fs.ErrNotExist):
		s.Unknown = append(s.Unknown, "the container has no PERMIT_DOCKER or Mailu SUBNET variable and no "+MainCFPath+": what its mail server trusts is not known")
	default:
		s.Unknown = append(s.Unknown, "Postfix's "+MainCFPath+" could not be read: "+err.Error())
	}
	return s
}

// masterOverrides are the sources of master.cf's inet services that set
// their own mynetworks; a master.cf that is not there adds none, one that
// cannot be read makes the set unknown.
func (c Container) masterOverrides(cf MainCF, ifs []iface) []Source {
	data, err := c.readFile(MasterCFPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return []Source{{Name: "master.cf", Entries: []Entry{{Text: MasterCFPath, Unknown: "could not be read: " + err.Error()}}}}
	}
	var out []Source
	for _, o := range parseMasterCF(data) {
		out = append(out, o.source(cf, ifs, c.hostNetwork()))
	}
	return out
}

func (c Container) readMainCF() ([]byte, error) { return c.readFile(MainCFPath) }

func (c Container) readFile(name string) ([]byte, error) {
	root := c.Root
	if root == "" {
		pid := c.pid()
		if pid <= 0 {
			return nil, fmt.Errorf("the container is not running, so its files cannot be seen")
		}
		root = "/proc/" + strconv.Itoa(pid) + "/root"
	}
	return readInRoot(root, name)
}
