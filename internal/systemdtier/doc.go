// Package systemdtier holds the tests of the real-systemd tier: the built
// provider binary, driven by the real terraform CLI, restarts Debian's
// docker.service through Debian's systemd (PID 1 of a systemd-nspawn
// container booting this machine's root tree, Debian 12 with systemd 252, or
// a Debian 13 root with systemd 257 and docker.io 26: --root, see
// .ci/debian13-root.sh) over the real system D-Bus.
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
