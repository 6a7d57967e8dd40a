package sshhost

import (
	"os"

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
