#!/usr/bin/env bash
# make test, every client: examples/mailserver end to end with one Terraform or
# OpenTofu binary, in the sandbox: apply, the verdicts, no perpetual diff, drift
# (a deleted nftables table, a removed network) seen and repaired, the refuse
# posture, destroy back to the host as it was. The provider is the one in bin/
# (dev_overrides, lib.sh), so every client runs the same build.
#
#   internal/demo/client-e2e.sh BINARY VERSION     e.g. ~/.cache/dockeripv6/tofu-1.12.6/tofu 1.12.6
#
# BINARY's name says the product (terraform or tofu); `BINARY version` must
# report VERSION. Ends with "NAME-VERSION: N passed, N failed"; exits non-zero
# on any failure, and never skips: a missing binary is a failure.
source "$(dirname "$0")/lib.sh"
if (($# != 2)); then echo "usage: $0 BINARY VERSION" >&2; exit 2; fi
CLIENT=$1 version=${2#v} name=$(basename "$1")
case $name in
terraform) product=Terraform ;;
tofu) product=OpenTofu ;;
*) echo "client-e2e: $CLIENT is neither terraform nor tofu" >&2; exit 2 ;;
esac
label="$name-$version"
passed=0
failed=0
report() { echo "$label: $passed passed, $failed failed"; }
trap 'rc=$?; if ((rc != 0 && failed == 0)); then failed=1; echo "   FAIL  a command failed (exit $rc), see above"; fi; report; rm -rf "$work"' EXIT
check() { # name got want
  if [ "$2" = "$3" ]; then printf '   ok    %-44s %s\n' "$1" "$2"; passed=$((passed + 1))
  else printf '   FAIL  %-44s %s (expected %s)\n' "$1" "$2" "$3"; failed=$((failed + 1)); fi
}
if [ ! -x "$CLIENT" ]; then echo "   FAIL  no $product at $CLIENT (make clients builds the pinned ones)"; failed=1; exit 1; fi
client() { "$CLIENT" "$@" -no-color >"$work/last.log" 2>&1 || { cat "$work/last.log"; return 1; }; }
# plan -detailed-exitcode: 0 no changes, 2 changes, 1 error.
plan_code() { local rc=0; "$CLIENT" plan -no-color -detailed-exitcode -input=false "$@" >"$work/plan.log" 2>&1 || rc=$?; echo "$rc"; }
verdicts() { echo "$("$CLIENT" output -raw ipv6_verdict)/$("$CLIENT" output -raw ipv4_verdict)"; }

check "client" "$("$CLIENT" version | grep -m1 -E '^(Terraform|OpenTofu) v')" "$product v$version"
cp -r "$root/examples/mailserver" "$work/mail"
cd "$work/mail"
# Names of their own per client, so one run never meets another's leftovers.
export TF_VAR_hostname="mx.$name${version//./}.test" TF_VAR_network_name="mail-$label"
daemon_before=$(sha256sum /etc/docker/daemon.json | cut -c1-16)
nets_before=$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')

t0=$(ms)
client apply -auto-approve -input=false
echo "   apply: $(( $(ms) - t0 )) ms"
check "verdicts after apply (IPv6/IPv4)" "$(verdicts)" "preserved/preserved"
check "daemon.json ip6tables" "$(grep -oE '"ip6tables": *true' /etc/docker/daemon.json | tr -d ' ')" '"ip6tables":true'
check "plan after apply (0 = no changes)" "$(plan_code)" 0

nft delete table inet dockeripv6
check "plan sees the deleted nftables table" "$(plan_code)" 2
check "plan creates dockeripv6_firewall.mail" "$(grep -c 'dockeripv6_firewall.mail will be created' "$work/plan.log")" 1
client apply -auto-approve -input=false
check "verdicts after repair" "$(verdicts)" "preserved/preserved"

docker network rm "mail-$label" >/dev/null
check "plan sees the removed network" "$(plan_code)" 2
check "plan creates dockeripv6_network.mail" "$(grep -c 'dockeripv6_network.mail will be created' "$work/plan.log")" 1
client apply -auto-approve -input=false
check "verdicts after repair" "$(verdicts)" "preserved/preserved"

client apply -auto-approve -input=false -var ipv6_clients=refuse
check "verdicts with ipv6_clients = refuse" "$(verdicts)" "refused/preserved"

t0=$(ms)
client destroy -auto-approve -input=false -var ipv6_clients=refuse
echo "   destroy: $(( $(ms) - t0 )) ms"
check "daemon.json (sha256) as before" "$(sha256sum /etc/docker/daemon.json | cut -c1-16)" "$daemon_before"
check "networks as before" "$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')" "$nets_before"
check "nftables table dockeripv6 gone" "$(nft list tables | grep -c dockeripv6 || true)" 0
cd "$root"
((failed == 0))
