// Package fleettier holds the acceptance tests of remote mail hosts: the
// built provider, driven by the real terraform from a workstation that has
// no Docker socket and no system bus (fleet.WorkstationCommand), manages a
// fleet of three hosts over real SSH (internal/sandbox/fleet: each host with
// its own namespaces, sshd, dockerd, D-Bus and systemd stand-in). The tests
// run inside the sandbox only (make test; make testfleet alone).
package fleettier
