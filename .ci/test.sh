#!/usr/bin/env bash
# make test: every test, on each engine, inside the sandbox. Fails when any test
# fails or is skipped (nothing may skip for lack of a prerequisite).
set -uo pipefail
engines=${1:-"20 29"}
engine29_dir=${2:-"${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/engine-29"}
root=$(cd "$(dirname "$0")/.." && pwd)
sbx="$root/bin/dockeripv6-sandbox"
unit_pkgs="./internal/ula/... ./internal/daemonconfig/... ./internal/firewall/... ./internal/dockerapi/... ./internal/hostcheck/..."
sandbox_pkgs="./internal/sandbox/... ./internal/sshhost/... ./internal/systemd/... ./internal/probe/... ./internal/provider/..."
logdir=$(mktemp -d)
status=0
summary=()
first=1
for e in $engines; do
  log="$logdir/engine-$e.log"
  start=$(date +%s)
  echo "=== engine $e: go test in the sandbox ==="
  if ((first)); then pkgs_cmd="go test -v -count=1 $unit_pkgs && go test -v -count=1 -p 1 -timeout 40m $sandbox_pkgs"
  else pkgs_cmd="go test -v -count=1 -p 1 -timeout 40m $sandbox_pkgs"; fi
  first=0
  "$sbx" --engine "$e" --engine29-dir "$engine29_dir" -- bash -c "$pkgs_cmd ${TESTFLAGS:-}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  secs=$(( $(date +%s) - start ))
  pass=$(grep -cE '^\s*--- PASS' "$log")
  fail=$(grep -cE '^\s*--- FAIL' "$log")
  skip=$(grep -cE '^\s*--- SKIP' "$log")
  summary+=("engine $e: $pass passed, $fail failed, $skip skipped in ${secs}s")
  if ((rc != 0 || fail > 0)); then status=1; fi
  if ((skip > 0)); then
    echo "FAIL: tests skipped on engine $e (nothing may skip):"; grep -E '^\s*--- SKIP' "$log"; status=1
  fi
  if ((pass == 0)); then echo "FAIL: no test ran on engine $e"; status=1; fi
done
echo
for s in "${summary[@]}"; do echo "$s"; done
tp=0; tf=0
for e in $engines; do
  tp=$((tp + $(grep -cE '^\s*--- PASS' "$logdir/engine-$e.log")))
  tf=$((tf + $(grep -cE '^\s*--- FAIL' "$logdir/engine-$e.log")))
done
echo "total: $tp passed, $tf failed"
exit $status
