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

// dieWithParent: SIGKILL when the parent (sudo, sshd's session) exits.
func dieWithParent() {
	ppid := os.Getppid()
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	if os.Getppid() != ppid { // the parent is already gone
		os.Exit(1)
	}
}
