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
// environment, and Postfix's mynetworks from its main.cf. It changes nothing
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
		s.List = append(s.List, ParseMainCF(data).mynetworksSource(ifs, c.hostNetwork()))
	case errors.Is(err, fs.ErrNotExist) && len(s.List) > 0:
		// not a Postfix container (a Mailu front): its variables say it all
	case errors.Is(err, fs.ErrNotExist):
		s.Unknown = append(s.Unknown, "the container has no PERMIT_DOCKER or Mailu SUBNET variable and no "+MainCFPath+": what its mail server trusts is not known")
	default:
		s.Unknown = append(s.Unknown, "Postfix's "+MainCFPath+" could not be read: "+err.Error())
	}
	return s
}

func (c Container) readMainCF() ([]byte, error) {
	root := c.Root
	if root == "" {
		pid := c.pid()
		if pid <= 0 {
			return nil, fmt.Errorf("the container is not running, so its files cannot be seen")
		}
		root = "/proc/" + strconv.Itoa(pid) + "/root"
	}
	return readInRoot(root, MainCFPath)
}
