#!/usr/bin/env bash
# make test: every test, on each engine, inside the sandbox, counted from
# `go test -json` events (.ci/testcount): the fast tier (fake systemd), the
# fleet tier, the mail-host example end to end with each client
# (internal/demo/client-e2e.sh), then the real-systemd tier (Debian's systemd as
# PID 1 of a systemd-nspawn container), on this machine's tree per engine and on
# a Debian 13 root. Fails when any test fails or is skipped (nothing may skip
# for lack of a prerequisite), when a package fails outside a test, or when a
# tier runs no test. Ends with each tier's counts and a table of each build's
# and tier's time (.ci/timed, DOCKERIPV6_TIMINGS).
#
#   .ci/test.sh [ENGINES] [ENGINE29_DIR] [CLIENTS] [CLIENTS_DIR]    TIERS="fast fleet clients systemd" by default
#
# CLIENTS are NAME-VERSION (terraform-1.8.5 tofu-1.12.6 ...): CLIENTS_DIR/NAME-VERSION/NAME
# (make clients builds them), or else the NAME on PATH, which must be that version.
set -uo pipefail
engines=${1:-"20 29"}
engine29_dir=${2:-"${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/engine-29"}
clients=${3:-"terraform-1.8.5 terraform-1.11.4 tofu-1.10.6 tofu-1.12.6"}
clients_dir=${4:-"${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6"}
tiers=${TIERS:-"fast fleet clients systemd"}
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
  bash "$root/.ci/timed" --add "engine $e, $name tier" "$secs" $((rcs[0] || rcs[2]))
}

# client_bin NAME-VERSION: the binary make clients built, else NAME on PATH.
client_bin() {
  local name=${1%-*}
  if [[ -x "$clients_dir/$1/$name" ]]; then echo "$clients_dir/$1/$name"; else command -v "$name" || echo "$clients_dir/$1/$name"; fi
}

# clients_tier ENGINE: examples/mailserver end to end with each client, one
# sandbox (a fresh dockerd) each, one after the other; writes LOGDIR/clients-ENGINE-*.
clients_tier() {
  local e=$1 c start rc secs
  for c in $clients; do
    start=$(date +%s)
    "$sbx" --engine "$e" --engine29-dir "$engine29_dir" -- bash internal/demo/client-e2e.sh "$(client_bin "$c")" "${c##*-}" \
      >"$logdir/clients-$e-$c.txt" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    echo "$rc $secs" >"$logdir/clients-$e-$c.rc"
  done
}


# clients_report ENGINE: prints each client's log and adds its counts.
clients_report() {
  local e=$1 c rc secs counts p f
  for c in $clients; do
    echo "=== engine $e: examples/mailserver with $c ==="
    cat "$logdir/clients-$e-$c.txt"
    read -r rc secs <"$logdir/clients-$e-$c.rc" || { rc=1; secs=0; }
    counts=$(grep -E "^$c: [0-9]+ passed, [0-9]+ failed" "$logdir/clients-$e-$c.txt" | tail -1)
    if [ -z "$counts" ]; then counts="$c: 0 passed, 1 failed"; fi
    summary+=("engine $e, clients tier, $counts in ${secs}s")
    add_counts "$counts"
    p=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/p' <<<"$counts"); f=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/p' <<<"$counts")
    if ((rc != 0 || ${f:-1} > 0 || ${p:-0} == 0)); then echo "FAIL: $c end to end on engine $e"; status=1; client_failed=1; rc=1; fi
    client_times+=("$secs $rc engine $e, $c")
  done
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
done
if [[ " $tiers " == *" clients "* ]]; then
  # examples/mailserver with every client on every engine: the engines' sandboxes
  # are independent, so they run at once (each engine's clients one after the other).
  echo "=== clients tier: $clients on engine(s) $engines, at once per engine ==="
  start=$(date +%s)
  pids=()
  for e in $engines; do clients_tier "$e" & pids+=($!); done
  wait "${pids[@]}"
  secs=$(( $(date +%s) - start ))
  echo "clients tier: ${#pids[@]} engine(s) in ${secs}s"
  client_times=()
  client_failed=0
  for e in $engines; do clients_report "$e"; done
  bash "$root/.ci/timed" --add "engine ${engines// /+}, clients tier (the engines at once)" "$secs" "$client_failed"
  for t in "${client_times[@]}"; do
    read -r secs rc name <<<"$t"
    bash "$root/.ci/timed" --add "   $name" "$secs" "$rc"
  done
fi
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
echo
bash "$root/.ci/timed" --table
if [[ -n "${DOCKERIPV6_TIMINGS_REMOVE:-}" && -n "${DOCKERIPV6_TIMINGS:-}" ]]; then rm -f "$DOCKERIPV6_TIMINGS"; fi
echo
echo "total: $tp passed, $tf failed"
exit $status
