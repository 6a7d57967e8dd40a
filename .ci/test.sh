#!/usr/bin/env bash
# make test: every test, on each engine, inside the sandbox, counted from
# `go test -json` events (.ci/testcount): the fast tier (fake systemd), the
# mail-host example end to end with OpenTofu (internal/demo/tofu-e2e.sh), then
# the real-systemd tier (Debian's systemd as PID 1 of a systemd-nspawn
# container), on this machine's tree per engine and on a Debian 13 root.
# Fails when any test fails or is skipped (nothing may skip for lack of a
# prerequisite), when a package fails outside a test, or when a tier runs no
# test.
#
#   .ci/test.sh [ENGINES] [ENGINE29_DIR] [TOFU]    TIERS="fast fleet tofu systemd" by default
set -uo pipefail
engines=${1:-"20 29"}
engine29_dir=${2:-"${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/engine-29"}
tofu=${3:-"${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/tofu-1.10.6/tofu"}
tiers=${TIERS:-"fast fleet tofu systemd"}
root=$(cd "$(dirname "$0")/.." && pwd)
sbx="$root/bin/dockeripv6-sandbox"
provider="$root/bin/terraform-provider-dockeripv6"
count="$root/bin/testcount"
go build -o "$count" ./.ci/testcount || exit 1
unit_pkgs="./internal/ula/... ./internal/daemonconfig/... ./internal/firewall/... ./internal/dockerapi/... ./internal/hostcheck/... ./internal/host/... ./internal/faults/..."
sandbox_pkgs="./internal/sandbox/... ./internal/sshhost/... ./internal/systemd/... ./internal/probe/... ./internal/trust/... ./internal/provider/..."
systemd_pkgs="./internal/systemdtier/"
fleet_pkgs="./internal/fleettier/"
logdir=$(mktemp -d)
status=0
summary=()
tp=0
tf=0

# add_counts "LABEL: N passed, N failed...": adds to the totals.
add_counts() {
  local p f
  p=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/p' <<<"$1")
  f=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/p' <<<"$1")
  tp=$((tp + ${p:-0})); tf=$((tf + ${f:-0}))
}

# go_tier NAME ENGINE SANDBOX-ARGS... -- COMMAND: runs go test -json in the sandbox
# and counts it (testcount fails on failures, skips, package failures, no tests).
go_tier() {
  local name=$1 e=$2; shift 2
  local log="$logdir/$name-$e" start secs counts
  start=$(date +%s)
  echo "=== engine $e: $name tier ==="
  "$sbx" "$@" 2>&1 | tee "$log.json" | "$count" -label "engine $e, $name tier" | tee "$log.txt"
  local rcs=("${PIPESTATUS[@]}")
  secs=$(( $(date +%s) - start ))
  counts=$(tail -1 "$log.txt")
  summary+=("$counts in ${secs}s")
  add_counts "$counts"
  if ((rcs[0] != 0 || rcs[2] != 0)); then status=1; fi
}

first=1
for e in $engines; do
  if [[ " $tiers " == *" fast "* ]]; then
    if ((first)); then pkgs_cmd="go test -json -count=1 $unit_pkgs; go test -json -count=1 -p 1 -timeout 40m $sandbox_pkgs"
    else pkgs_cmd="go test -json -count=1 -p 1 -timeout 40m $sandbox_pkgs"; fi
    first=0
    go_tier fast "$e" --engine "$e" --engine29-dir "$engine29_dir" -- bash -c "$pkgs_cmd ${TESTFLAGS:-}"
  fi
  if [[ " $tiers " == *" fleet "* ]]; then
    # Three hosts over real SSH, driven by the built provider through terraform
    # from a workstation without a Docker socket.
    go_tier fleet "$e" --engine "$e" --engine29-dir "$engine29_dir" -- \
      env DOCKERIPV6_PROVIDER_BIN="$provider" \
      bash -c "go test -json -count=1 -p 1 -timeout 30m $fleet_pkgs ${TESTFLAGS:-}"
  fi
  if [[ " $tiers " == *" tofu "* ]]; then
    # The second client: OpenTofu runs examples/mailserver end to end in the sandbox.
    echo "=== engine $e: examples/mailserver with OpenTofu ==="
    start=$(date +%s)
    "$sbx" --engine "$e" --engine29-dir "$engine29_dir" -- env TOFU="$tofu" bash internal/demo/tofu-e2e.sh 2>&1 | tee "$logdir/tofu-$e.txt"
    rc=${PIPESTATUS[0]}
    secs=$(( $(date +%s) - start ))
    counts=$(grep -E '^opentofu: [0-9]+ passed, [0-9]+ failed' "$logdir/tofu-$e.txt" | tail -1)
    if [ -z "$counts" ]; then counts="opentofu: 0 passed, 1 failed"; fi
    summary+=("engine $e, $counts in ${secs}s")
    add_counts "$counts"
    p=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/p' <<<"$counts"); f=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/p' <<<"$counts")
    if ((rc != 0 || ${f:-1} > 0 || ${p:-0} == 0)); then echo "FAIL: OpenTofu end to end on engine $e"; status=1; fi
  fi
done
# The real-systemd tier: the provider binary `make build` made, through
# terraform, against Debian's docker.service under Debian's systemd.
for e in $engines; do
  if [[ " $tiers " == *" systemd "* ]]; then
    go_tier systemd "$e" --systemd real --engine "$e" --engine29-dir "$engine29_dir" -- \
      env DOCKERIPV6_PROVIDER_BIN="$provider" \
      bash -c "go test -tags systemdtier -json -count=1 -p 1 -timeout 30m $systemd_pkgs ${TESTFLAGS:-}"
  fi
done
# The same tier on a Debian 13 root (.ci/debian13-root.sh): its own systemd,
# docker.service ($DOCKER_OPTS from /etc/default/docker) and docker.io 26
# with --validate, so one run whatever the engines.
if [[ " $tiers " == *" systemd "* ]]; then
  if d13=$(bash "$root/.ci/debian13-root.sh"); then
    go_tier systemd debian13 --systemd real --root "$d13" -- \
      env DOCKERIPV6_PROVIDER_BIN="$provider" \
      bash -c "go test -tags systemdtier -json -count=1 -p 1 -timeout 30m $systemd_pkgs ${TESTFLAGS:-}"
  else
    echo "FAIL: the Debian 13 root could not be made"; summary+=("debian13, systemd tier: 0 passed, 1 failed"); tf=$((tf + 1)); status=1
  fi
fi
echo
for s in "${summary[@]}"; do echo "$s"; done
echo "total: $tp passed, $tf failed"
exit $status
