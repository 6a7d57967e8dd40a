#!/usr/bin/env bash
# make test: every test, on each engine, inside the sandbox, counted from
# `go test -json` events (.ci/testcount): fails when any test fails or is
# skipped (nothing may skip for lack of a prerequisite), when a package fails
# outside a test, or when no test ran. Then, on each engine, the mail-host
# example end to end with OpenTofu (internal/demo/tofu-e2e.sh).
set -uo pipefail
engines=${1:-"20 29"}
engine29_dir=${2:-"${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/engine-29"}
tofu=${3:-"${XDG_CACHE_HOME:-$HOME/.cache}/dockeripv6/tofu-1.10.6/tofu"}
root=$(cd "$(dirname "$0")/.." && pwd)
sbx="$root/bin/dockeripv6-sandbox"
count="$root/bin/testcount"
go build -o "$count" ./.ci/testcount || exit 1
unit_pkgs="./internal/ula/... ./internal/daemonconfig/... ./internal/firewall/... ./internal/dockerapi/... ./internal/hostcheck/..."
sandbox_pkgs="./internal/sandbox/... ./internal/systemd/... ./internal/probe/... ./internal/provider/..."
logdir=$(mktemp -d)
status=0
summary=()
tp=0
tf=0
first=1
for e in $engines; do
  log="$logdir/engine-$e.json"
  start=$(date +%s)
  echo "=== engine $e: go test in the sandbox ==="
  if ((first)); then pkgs_cmd="go test -json -count=1 $unit_pkgs; go test -json -count=1 -p 1 -timeout 40m $sandbox_pkgs"
  else pkgs_cmd="go test -json -count=1 -p 1 -timeout 40m $sandbox_pkgs"; fi
  first=0
  "$sbx" --engine "$e" --engine29-dir "$engine29_dir" -- bash -c "$pkgs_cmd ${TESTFLAGS:-}" 2>&1 | tee "$log" | "$count" -label "engine $e" | tee "$logdir/engine-$e.txt"
  rcs=("${PIPESTATUS[@]}")
  secs=$(( $(date +%s) - start ))
  counts=$(tail -1 "$logdir/engine-$e.txt")
  summary+=("$counts in ${secs}s")
  if ((rcs[0] != 0 || rcs[2] != 0)); then status=1; fi
  p=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/p' <<<"$counts"); f=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/p' <<<"$counts")
  tp=$((tp + ${p:-0})); tf=$((tf + ${f:-0}))

  # The second client: OpenTofu runs examples/mailserver end to end in the sandbox.
  echo "=== engine $e: examples/mailserver with OpenTofu ==="
  start=$(date +%s)
  "$sbx" --engine "$e" --engine29-dir "$engine29_dir" -- env TOFU="$tofu" bash internal/demo/tofu-e2e.sh 2>&1 | tee "$logdir/tofu-$e.txt"
  rc=${PIPESTATUS[0]}
  secs=$(( $(date +%s) - start ))
  counts=$(grep -E '^opentofu: [0-9]+ passed, [0-9]+ failed' "$logdir/tofu-$e.txt" | tail -1)
  if [ -z "$counts" ]; then counts="opentofu: 0 passed, 1 failed"; fi
  summary+=("engine $e, $counts in ${secs}s")
  p=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/p' <<<"$counts"); f=$(sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/p' <<<"$counts")
  tp=$((tp + ${p:-0})); tf=$((tf + ${f:-0}))
  if ((rc != 0 || ${f:-1} > 0 || ${p:-0} == 0)); then echo "FAIL: OpenTofu end to end on engine $e"; status=1; fi
done
echo
for s in "${summary[@]}"; do echo "$s"; done
echo "total: $tp passed, $tf failed"
exit $status
