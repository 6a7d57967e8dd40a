#!/usr/bin/env bash
# Builds and caches the Docker 29 engine the sandbox runs with --engine 29
# (internal/sandbox/README.md, section "Engines", says why each piece is there):
#   dockerd and docker-proxy from github.com/moby/moby/v2 (Go module proxy),
#   runc 1.2 with seccomp (Debian's runc 1.1.5 fails with "namespace time does
#   not exist"; this build needs cgo and Debian's libseccomp-dev).
# Containerd is Debian's (1.6), supervised by dockerd.
#
# Usage: internal/sandbox/engine29.sh [--print-stamp]
# Cache:  ENGINE29_DIR, default ${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/engine-29
#         binaries in $ENGINE29_DIR/bin, pinned versions in $ENGINE29_DIR/stamp.
# A binary is rebuilt only when it is missing or `go version -m` shows another
# module version or build setting; the stamp is rewritten when all three match.
set -euo pipefail

MOBY_MOD=github.com/moby/moby/v2
MOBY_VERSION=v2.0.0-beta.24
RUNC_MOD=github.com/opencontainers/runc
RUNC_VERSION=v1.2.6
# `go install` leaves dockerd's version as "library-import", which no version
# check can parse; stamp it with the release this module version carries in its
# releases/versions.yaml ("last: 29.8.0") and keep the module version as the
# commit, so /version and /info say ServerVersion 29.8.0, GitCommit moby-v2.0.0-beta.24.
DOCKER_VERSION=29.8.0
DOCKERD_LDFLAGS="-X $MOBY_MOD/dockerversion.Version=$DOCKER_VERSION -X $MOBY_MOD/dockerversion.GitCommit=moby-$MOBY_VERSION"

stamp() {
	cat <<STAMP
dockerd $MOBY_MOD/cmd/dockerd@$MOBY_VERSION version=$DOCKER_VERSION
docker-proxy $MOBY_MOD/cmd/docker-proxy@$MOBY_VERSION
runc $RUNC_MOD@$RUNC_VERSION tags=seccomp cgo=1
STAMP
}

if [[ "${1:-}" == "--print-stamp" ]]; then
	stamp
	exit 0
fi

DIR=${ENGINE29_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/engine-29}
BIN=$DIR/bin
mkdir -p "$BIN"

if [[ -f "$DIR/stamp" ]] && [[ "$(cat "$DIR/stamp")" == "$(stamp)" ]] &&
	[[ -x "$BIN/dockerd" && -x "$BIN/docker-proxy" && -x "$BIN/runc" ]]; then
	echo "engine29: up to date in $BIN"
	exit 0
fi
rm -f "$DIR/stamp"

# has BINARY MODULE VERSION [SETTING...]: the binary exists and was built from
# MODULE@VERSION with every given build setting (lines of `go version -m`).
has() {
	local bin=$1 mod=$2 ver=$3
	shift 3
	[[ -x "$bin" ]] || return 1
	local info
	info=$(go version -m "$bin" 2>/dev/null) || return 1
	grep -qE "^[[:space:]]+mod[[:space:]]+$mod[[:space:]]+$ver([[:space:]]|$)" <<<"$info" || return 1
	local s
	for s in "$@"; do
		grep -qF -- "$s" <<<"$info" || return 1
	done
}

build() { # NAME CGO TAGS LDFLAGS PACKAGE@VERSION
	local name=$1 cgo=$2 tags=$3 ldflags=$4 pkg=$5 start end
	echo "engine29: building $name ($pkg, CGO_ENABLED=$cgo${tags:+, tags $tags}${ldflags:+, ldflags $ldflags})"
	start=$(date +%s)
	GOBIN=$BIN CGO_ENABLED=$cgo GOFLAGS= go install ${tags:+-tags "$tags"} ${ldflags:+-ldflags "$ldflags"} "$pkg"
	end=$(date +%s)
	echo "engine29: built $name in $((end - start))s"
}

# dockerd and docker-proxy: built with the toolchain's default cgo setting
# (cgo on when gcc is present); both run.
has "$BIN/dockerd" "$MOBY_MOD" "$MOBY_VERSION" "dockerversion.Version=$DOCKER_VERSION " ||
	build dockerd "$(go env CGO_ENABLED)" "" "$DOCKERD_LDFLAGS" "$MOBY_MOD/cmd/dockerd@$MOBY_VERSION"
has "$BIN/docker-proxy" "$MOBY_MOD" "$MOBY_VERSION" ||
	build docker-proxy "$(go env CGO_ENABLED)" "" "" "$MOBY_MOD/cmd/docker-proxy@$MOBY_VERSION"
has "$BIN/runc" "$RUNC_MOD" "$RUNC_VERSION" "-tags=seccomp" "CGO_ENABLED=1" ||
	build runc 1 seccomp "" "$RUNC_MOD@$RUNC_VERSION"

"$BIN/dockerd" --version | grep -qF "version $DOCKER_VERSION," || { echo "engine29: $BIN/dockerd does not report $DOCKER_VERSION" >&2; exit 1; }
"$BIN/runc" --version | grep -q '^libseccomp:' || { echo "engine29: $BIN/runc has no seccomp support" >&2; exit 1; }
stamp >"$DIR/stamp"
echo "engine29: ready in $BIN"
