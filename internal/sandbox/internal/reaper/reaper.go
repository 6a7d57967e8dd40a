// Package reaper lets the sandbox's PID 1 start child processes with os/exec
// and still reap orphans (processes re-parented to PID 1 when their parent
// exits, e.g. daemonising shims) without stealing exit statuses that an
// exec.Cmd is waiting for.
//
// Every child started by the sandbox goes through Start, which records its PID
// while holding the same lock the reaper takes. The reaper only calls wait4 on
// zombie children whose PID is not recorded, found by scanning /proc, so
// exec.Cmd.Wait always gets its own child's status.
package reaper

import (
	"bytes"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

var (
	mu      sync.Mutex
	tracked = map[int]bool{}
)

// Start starts cmd and records its PID so that the reaper leaves it to cmd.Wait.
func Start(cmd *exec.Cmd) error {
	mu.Lock()
	defer mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	tracked[cmd.Process.Pid] = true
	return nil
}

// Wait waits for a command started with Start and forgets its PID.
func Wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	mu.Lock()
	delete(tracked, cmd.Process.Pid)
	mu.Unlock()
	return err
}

// Run reaps untracked zombie children until stop is closed. It wakes on
// SIGCHLD and, as a safety net, once a second.
func Run(stop <-chan struct{}) {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, syscall.SIGCHLD)
	defer signal.Stop(ch)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		ReapOrphans()
		select {
		case <-stop:
			return
		case <-ch:
		case <-tick.C:
		}
	}
}

// ReapOrphans reaps every zombie child of this process that was not started
// through Start. It returns how many it reaped.
func ReapOrphans() int {
	mu.Lock()
	defer mu.Unlock()
	self := os.Getpid()
	n := 0
	for _, pid := range zombieChildren(self) {
		if tracked[pid] {
			continue
		}
		var ws syscall.WaitStatus
		if p, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err == nil && p == pid {
			n++
		}
	}
	return n
}

// zombieChildren lists the PIDs in /proc whose parent is ppid and whose state is Z.
func zombieChildren(ppid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		state, parent, ok := parseStat(b)
		if ok && state == 'Z' && parent == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// parseStat extracts the state and the parent PID from a /proc/PID/stat line.
// The command name may contain spaces and parentheses, so it looks for the
// last ')'.
func parseStat(b []byte) (state byte, ppid int, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 2 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	p, err := strconv.Atoi(string(fields[1]))
	if err != nil {
		return 0, 0, false
	}
	return fields[0][0], p, true
}
