#!/usr/bin/env bash
# Builds and caches OpenTofu, the second client `make test` runs the mail-host
# example with (internal/demo/tofu-e2e.sh). From the Go module proxy: download
# the module, then `go build ./cmd/tofu` inside it (its go.mod has replace
# directives, so `go install module@version` refuses it).
#
# Usage: internal/sandbox/opentofu.sh [--print-path]
# Cache:  TOFU_DIR, default ${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/tofu-1.10.6,
#         the binary is $TOFU_DIR/tofu. It is built only when missing or when
#         `tofu version` reports another version.
set -euo pipefail

TOFU_MOD=github.com/opentofu/opentofu
TOFU_VERSION=v1.10.6
DIR=${TOFU_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/tofu-${TOFU_VERSION#v}}
BIN=$DIR/tofu

if [[ "${1:-}" == "--print-path" ]]; then
	echo "$BIN"
	exit 0
fi

current() { [[ -x "$BIN" ]] && "$BIN" version 2>/dev/null | head -1 | grep -qxF "OpenTofu ${TOFU_VERSION}"; }
if current; then
	echo "opentofu: up to date in $BIN"
	exit 0
fi

echo "opentofu: downloading $TOFU_MOD@$TOFU_VERSION"
src=$(go mod download -json "$TOFU_MOD@$TOFU_VERSION" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')
if [[ -z "$src" || ! -d "$src/cmd/tofu" ]]; then
	echo "opentofu: go mod download gave no module directory for $TOFU_MOD@$TOFU_VERSION" >&2
	exit 1
fi
mkdir -p "$DIR"
start=$(date +%s)
echo "opentofu: building $src/cmd/tofu"
# The module cache is read-only and its go.sum complete: build as it is, with the
# release's version flag (its .goreleaser.yaml), so it says v1.10.6, not v1.10.6-dev.
(cd "$src" && CGO_ENABLED=0 GOFLAGS= go build -trimpath -ldflags "-X github.com/opentofu/opentofu/version.dev=no" -o "$BIN.new" ./cmd/tofu)
mv "$BIN.new" "$BIN"
echo "opentofu: built in $(($(date +%s) - start))s"
current || { echo "opentofu: $BIN reports $("$BIN" version | head -1), not OpenTofu $TOFU_VERSION" >&2; exit 1; }
echo "opentofu: ready in $BIN"
