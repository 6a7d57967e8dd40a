// Package systemdtier holds the tests of the real-systemd tier: the built
// provider binary, driven by the real terraform CLI, restarts Debian's
// docker.service through Debian's systemd 252 (PID 1 of a systemd-nspawn
// container booting this machine's root tree) over the real system D-Bus.
//
// The tests are behind the build tag systemdtier, so `go test ./...` and the
// fast tier never compile them; with the tag they fail (never skip) outside
// the tier. Run them with `make testsystemd`, or one engine and one test:
//
//	make sandbox build
//	bin/dockeripv6-sandbox --systemd real --engine 20 -- \
//	  go test -tags systemdtier -count=1 -v -run TestRealSystemd_applyVerifyDestroy ./internal/systemdtier/
//
// See ../sandbox/README.md ("The real-systemd tier").
package systemdtier
