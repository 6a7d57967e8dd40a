#!/usr/bin/env bash
# make test: every test, on each engine, inside the sandbox: the fast tier
# (fake systemd), then the real-systemd tier (Debian's systemd as PID 1 of a
# systemd-nspawn container). Fails when any test fails or is skipped (nothing
# may skip for lack of a prerequisite), or when a tier runs no test.
#
#   .ci/test.sh [ENGINES] [ENGINE29_DIR]      TIERS="fast systemd" by default
set -uo pipefail
engines=${1:-"20 29"}
engine29_dir=${2:-"${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/engine-29"}
tiers=${TIERS:-"fast systemd"}
root=$(cd "$(dirname "$0")/.." && pwd)
sbx="$root/bin/dockeripv6-sandbox"
provider="$root/bin/terraform-provider-dockeripv6"
unit_pkgs="./internal/ula/... ./internal/daemonconfig/... ./internal/firewall/... ./internal/dockerapi/... ./internal/hostcheck/... ./internal/host/... ./internal/faults/..."
sandbox_pkgs="./internal/sandbox/... ./internal/sshhost/... ./internal/systemd/... ./internal/probe/... ./internal/provider/..."
systemd_pkgs="./internal/systemdtier/"
logdir=$(mktemp -d)
status=0
summary=()
logs=()

# run_tier NAME ENGINE -- SANDBOX ARGS...: runs the sandbox, tees its output
# to a log, counts passes, failures and skips.
run_tier() {
  local name=$1 e=$2; shift 3
  local log="$logdir/$name-engine-$e.log" start rc secs pass fail skip
  logs+=("$log")
  start=$(date +%s)
  echo "=== engine $e: $name tier ==="
  "$sbx" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  secs=$(( $(date +%s) - start ))
  pass=$(grep -cE '^\s*--- PASS' "$log")
  fail=$(grep -cE '^\s*--- FAIL' "$log")
  skip=$(grep -cE '^\s*--- SKIP' "$log")
  summary+=("engine $e, $name tier: $pass passed, $fail failed, $skip skipped in ${secs}s")
  if ((rc != 0 || fail > 0)); then status=1; fi
  if ((skip > 0)); then
    echo "FAIL: tests skipped on engine $e, $name tier (nothing may skip):"; grep -E '^\s*--- SKIP' "$log"; status=1
  fi
  if ((pass == 0)); then echo "FAIL: no test ran on engine $e, $name tier"; status=1; fi
}

first=1
for e in $engines; do
  if [[ " $tiers " == *" fast "* ]]; then
    if ((first)); then pkgs_cmd="go test -v -count=1 $unit_pkgs && go test -v -count=1 -p 1 -timeout 40m $sandbox_pkgs"
    else pkgs_cmd="go test -v -count=1 -p 1 -timeout 40m $sandbox_pkgs"; fi
    first=0
    run_tier fast "$e" -- --engine "$e" --engine29-dir "$engine29_dir" -- bash -c "$pkgs_cmd ${TESTFLAGS:-}"
  fi
done
# The real-systemd tier: the provider binary `make build` made, through
# terraform, against Debian's docker.service under Debian's systemd.
for e in $engines; do
  if [[ " $tiers " == *" systemd "* ]]; then
    run_tier systemd "$e" -- --systemd real --engine "$e" --engine29-dir "$engine29_dir" -- \
      env DOCKERIPV6_PROVIDER_BIN="$provider" \
      bash -c "go test -tags systemdtier -v -count=1 -p 1 -timeout 30m $systemd_pkgs ${TESTFLAGS:-}"
  fi
done
echo
for s in "${summary[@]}"; do echo "$s"; done
tp=0; tf=0
for l in "${logs[@]}"; do
  tp=$((tp + $(grep -cE '^\s*--- PASS' "$l")))
  tf=$((tf + $(grep -cE '^\s*--- FAIL' "$l")))
done
echo "total: $tp passed, $tf failed"
exit $status
