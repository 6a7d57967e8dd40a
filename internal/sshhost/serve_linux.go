package sshhost

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// takeStdout moves the stream off fd 1 and points fd 1 at stderr.
func takeStdout() (*os.File, error) {
	fd, err := unix.Dup(1)
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	if err := unix.Dup2(2, 1); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "agent-stream"), nil
}

// closeInheritedOnExec marks the descriptors the process inherited beyond
// 0, 1 and 2 (the start script's fd 3: the agent's own binary)
// close-on-exec, so that the commands the agent runs do not get them.
func closeInheritedOnExec() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}
