#!/usr/bin/env bash
# make test, second client: examples/mailserver end to end with OpenTofu, in the
# sandbox: apply, the verdicts, no perpetual diff, drift (a deleted nftables table,
# a removed network) seen and repaired, the refuse posture, destroy back to the
# host as it was. Ends with "opentofu: N passed, N failed"; exits non-zero on any
# failure, and never skips: a missing tofu binary is a failure.
source "$(dirname "$0")/lib.sh"
TOFU=${TOFU:-$(bash "$root/internal/sandbox/opentofu.sh" --print-path)}
passed=0
failed=0
report() { echo "opentofu: $passed passed, $failed failed"; }
trap 'rc=$?; if ((rc != 0 && failed == 0)); then failed=1; echo "   FAIL  a command failed (exit $rc), see above"; fi; report; rm -rf "$work"' EXIT
check() { # name got want
  if [ "$2" = "$3" ]; then printf '   ok    %-44s %s\n' "$1" "$2"; passed=$((passed + 1))
  else printf '   FAIL  %-44s %s (expected %s)\n' "$1" "$2" "$3"; failed=$((failed + 1)); fi
}
if [ ! -x "$TOFU" ]; then echo "   FAIL  no OpenTofu at $TOFU (make opentofu builds it)"; failed=1; exit 1; fi
tofu() { "$TOFU" "$@" -no-color >"$work/last.log" 2>&1 || { cat "$work/last.log"; return 1; }; }
# plan -detailed-exitcode: 0 no changes, 2 changes, 1 error.
plan_code() { local rc=0; "$TOFU" plan -no-color -detailed-exitcode -input=false "$@" >"$work/plan.log" 2>&1 || rc=$?; echo "$rc"; }
verdicts() { echo "$("$TOFU" output -raw ipv6_verdict)/$("$TOFU" output -raw ipv4_verdict)"; }

check "client" "$("$TOFU" version | head -1)" "OpenTofu v1.10.6"
cp -r "$root/examples/mailserver" "$work/mail"
cd "$work/mail"
export TF_VAR_hostname=mx.tofu.test TF_VAR_network_name=tofu-mail
daemon_before=$(sha256sum /etc/docker/daemon.json | cut -c1-16)
nets_before=$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')

t0=$(ms)
tofu apply -auto-approve -input=false
echo "   apply: $(( $(ms) - t0 )) ms"
check "verdicts after apply (IPv6/IPv4)" "$(verdicts)" "preserved/preserved"
check "daemon.json ip6tables" "$(grep -oE '"ip6tables": *true' /etc/docker/daemon.json | tr -d ' ')" '"ip6tables":true'
check "plan after apply (0 = no changes)" "$(plan_code)" 0

nft delete table inet dockeripv6
check "plan sees the deleted nftables table" "$(plan_code)" 2
check "plan creates dockeripv6_firewall.mail" "$(grep -c 'dockeripv6_firewall.mail will be created' "$work/plan.log")" 1
tofu apply -auto-approve -input=false
check "verdicts after repair" "$(verdicts)" "preserved/preserved"

docker network rm tofu-mail >/dev/null
check "plan sees the removed network" "$(plan_code)" 2
check "plan creates dockeripv6_network.mail" "$(grep -c 'dockeripv6_network.mail will be created' "$work/plan.log")" 1
tofu apply -auto-approve -input=false
check "verdicts after repair" "$(verdicts)" "preserved/preserved"

tofu apply -auto-approve -input=false -var ipv6_clients=refuse
check "verdicts with ipv6_clients = refuse" "$(verdicts)" "refused/preserved"

t0=$(ms)
tofu destroy -auto-approve -input=false -var ipv6_clients=refuse
echo "   destroy: $(( $(ms) - t0 )) ms"
check "daemon.json (sha256) as before" "$(sha256sum /etc/docker/daemon.json | cut -c1-16)" "$daemon_before"
check "networks as before" "$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')" "$nets_before"
check "nftables table dockeripv6 gone" "$(nft list tables | grep -c dockeripv6 || true)" 0
cd "$root"
((failed == 0))
