#!/usr/bin/env bash
# Makes (once) and prints the path of a Debian 13 (trixie) root tree for the
# real-systemd tier: `dockeripv6-sandbox --systemd real --root DIR` boots it
# in systemd-nspawn instead of this machine's tree, so the tier meets
# Debian 13's own docker.service (`-H fd:// ... $DOCKER_OPTS`,
# EnvironmentFile=-/etc/default/docker) and docker.io 26.x with --validate.
#
# The packages come from the same Debian package source as this machine's:
# the trixie sources file is derived at run time from
# /etc/apt/sources.list.d/debian.sources (bookworm suites renamed), so no
# mirror is named here. The tree is cached under
# ${XDG_CACHE_HOME:-~/.cache}/dockeripv6/debian13-root/HASH, HASH being the
# hash of this recipe (a change to it makes a new tree); it is built into a
# temporary directory and renamed into place, so a half-built tree is never
# used. Older trees are removed.
#
#   .ci/debian13-root.sh          prints the root's path (building it if needed)
set -euo pipefail
packages=(systemd systemd-sysv dbus docker.io containerd runc nftables iptables iproute2
  docker-cli procps util-linux ca-certificates)
src=${DEBIAN_SOURCES:-/etc/apt/sources.list.d/debian.sources}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/debian13-root"
hash=$(sha256sum <"$0" | cut -c1-16)   # the recipe: this script
dest="$cache/$hash"
if [ -d "$dest" ]; then echo "$dest"; exit 0; fi

[ "$(id -u)" = 0 ] || { echo "building the Debian 13 root needs root" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing (.ci/deps.sh installs it)" >&2; exit 1; }
[ -r "$src" ] || { echo "no $src to take the Debian package source from" >&2; exit 1; }
mkdir -p "$cache"
# One build at a time; a run that waited finds the tree made.
exec 9>"$cache/.lock"
flock 9
if [ -d "$dest" ]; then echo "$dest"; exit 0; fi
tmp=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# deb822 Suites: bookworm, bookworm-updates, bookworm-security -> trixie*.
sed -E '/^Suites:/ s/\bbookworm(-updates|-security)?\b/trixie\1/g' "$src" >"$tmp/trixie.sources"
grep -q '^Suites:.*trixie' "$tmp/trixie.sources" || { echo "$src names no bookworm suite to derive trixie from" >&2; exit 1; }
include=$(IFS=,; echo "${packages[*]}")
echo "building the Debian 13 root in $dest (packages: $include)" >&2
# The policy-rc.d mmdebstrap installs keeps the packages' services from
# starting during the build. The tier's own docker.service and containerd
# start under the container's systemd.
mmdebstrap --quiet --variant=apt --include="$include" \
  --customize-hook='rm -f "$1"/etc/machine-id; : >"$1"/etc/machine-id' \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
  trixie "$tmp/root" "$tmp/trixie.sources" >&2
mv -T "$tmp/root" "$dest"
for old in "$cache"/*; do
  [ "$old" = "$dest" ] || rm -rf "$old"
done
echo "$dest"
