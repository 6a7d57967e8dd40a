// Package faults holds the provider's crash points, for tests that kill an
// apply at the worst moment and then check that the next plan tells the truth
// and the next apply converges.
//
// A point fires only when DOCKERIPV6_CRASH_AT names it and the process runs as
// a Terraform plugin (TF_PLUGIN_MAGIC_COOKIE is set by Terraform and OpenTofu
// for their plugins): it sends SIGKILL to its parent (terraform) and then to
// itself, as an operator's kill -9 or a lost CI runner would. Nothing else
// reads the variable; without it every point is a no-op.
package faults

import (
	"os"
	"syscall"
)

// Env names the crash point to fire.
const Env = "DOCKERIPV6_CRASH_AT"

// The crash points of the daemon.json transaction.
const (
	// AfterWrite: daemon.json holds the new bytes; no restart job was asked for.
	AfterWrite = "after-write"
	// DuringRestart: the restart job is queued in systemd; nobody waits for it.
	DuringRestart = "during-restart"
	// DuringRollback: the previous daemon.json is back and its restart job is
	// queued; nobody waits for it.
	DuringRollback = "during-rollback"
)

// At fires the crash point named point when it is the one asked for.
func At(point string) {
	if os.Getenv(Env) != point || os.Getenv("TF_PLUGIN_MAGIC_COOKIE") == "" {
		return
	}
	_ = syscall.Kill(os.Getppid(), syscall.SIGKILL)
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
