#!/usr/bin/env bash
# Builds and caches one of the Terraform and OpenTofu releases `make test` runs
# the mail-host example with (internal/demo/client-e2e.sh). From the Go module
# proxy: `go mod download -json` the module, then `go build` its command inside
# the downloaded directory (OpenTofu's go.mod has replace directives, so
# `go install module@version` refuses it; Terraform's builds either way).
# Terraform 1.9 and later need nested modules their module zips leave out, so
# 1.8.5 is the only Terraform built here; 1.11.4 comes from PATH.
#
# Usage: internal/sandbox/client.sh NAME VERSION [--print-path]
#   NAME is terraform or tofu, VERSION e.g. 1.8.5 or 1.12.6.
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/NAME-VERSION/NAME (CLIENTS_DIR
#        replaces ${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6). The binary is built
#        into a temporary file beside it and renamed into place, only when it is
#        missing or `NAME version` reports another release.
set -euo pipefail

usage() { echo "usage: $0 terraform|tofu VERSION [--print-path]" >&2; exit 2; }
(($# >= 2)) || usage
name=$1 version=${2#v}
case $name in
terraform) mod=github.com/hashicorp/terraform pkg=. product=Terraform ;;
tofu) mod=github.com/opentofu/opentofu pkg=./cmd/tofu product=OpenTofu ;;
*) usage ;;
esac
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "client: version $version is not MAJOR.MINOR.PATCH" >&2; exit 2; }
dir=${CLIENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6}/$name-$version
bin=$dir/$name

if [[ "${3:-}" == "--print-path" ]]; then
	echo "$bin"
	exit 0
fi
[[ -z "${3:-}" ]] || usage

label="$name $version"
# The version line; CLI configuration warnings may come before it.
reported() { "$bin" version 2>/dev/null | grep -m1 -E '^(Terraform|OpenTofu) v'; }
current() { [[ -x "$bin" ]] && [[ "$(reported)" == "$product v$version" ]]; }
if current; then
	echo "$label: up to date in $bin"
	exit 0
fi

start=$(date +%s)
echo "$label: downloading $mod@v$version"
src=$(cd / && GOFLAGS= go mod download -json "$mod@v$version" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')
if [[ -z "$src" || ! -f "$src/$pkg/main.go" ]]; then
	echo "$label: go mod download gave no module directory with $pkg/main.go for $mod@v$version" >&2
	exit 1
fi
mkdir -p "$dir"
tmp=$(mktemp "$dir/.$name.XXXXXX")
trap 'rm -f "$tmp"' EXIT
echo "$label: building $src/$pkg"
# The module cache is read-only and its go.sum complete: build as it is, with the
# release's version flag (both projects' .goreleaser.yaml), so it says
# v$version, not v$version-dev; without the symbol table and DWARF (-s -w, as
# the releases are), which makes the link shorter.
(cd "$src" && CGO_ENABLED=0 GOFLAGS= go build -trimpath -ldflags "-s -w -X $mod/version.dev=no" -o "$tmp" "$pkg")
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
current || { echo "$label: $bin reports \"$(reported)\", not $product v$version" >&2; exit 1; }
echo "$label: built in $(($(date +%s) - start))s, ready in $bin"
