#!/usr/bin/env bash
# Installs the Debian packages the sandbox needs when any is missing.
set -euo pipefail
need=()
command -v dockerd     >/dev/null || need+=(docker.io)
command -v nft         >/dev/null || need+=(nftables)
command -v iptables    >/dev/null || need+=(iptables)
command -v dbus-daemon >/dev/null || need+=(dbus)
command -v ip          >/dev/null || need+=(iproute2)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)   # the real-systemd tier
command -v mmdebstrap  >/dev/null || need+=(mmdebstrap)       # its Debian 13 root (.ci/debian13-root.sh)
command -v sshd        >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)   # the SSH fleet
command -v sudo        >/dev/null || need+=(sudo)             # the SSH fleet: a user with passwordless sudo
dpkg -s libseccomp-dev >/dev/null 2>&1 || need+=(libseccomp-dev)   # runc for the Docker 29 engine
command -v terraform   >/dev/null || { echo "terraform (1.8+) must be on PATH" >&2; exit 1; }
if ((${#need[@]})); then
  if ! command -v apt-get >/dev/null; then
    echo "missing: ${need[*]} (install them; this machine has no apt-get)" >&2; exit 1
  fi
  if [ "$(id -u)" != 0 ]; then echo "installing ${need[*]} needs root" >&2; exit 1; fi
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Never let the packages start this machine's own dockerd or containerd.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
