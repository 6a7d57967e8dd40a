#!/usr/bin/env bash
# make demo: the mail-host story in the sandbox, from Docker's defaults to the fix and back.
# Exits non-zero if any verdict is not what its step expects.
source "$(dirname "$0")/lib.sh"
failures=0
step=0
title() { step=$((step + 1)); printf '\n\033[1m== %d. %s ==\033[0m\n' "$step" "$*"; }
expect() { # name got want
  if [ "$2" = "$3" ]; then printf '   ok    %-34s %s\n' "$1" "$2"
  else printf '   FAIL  %-34s %s (expected %s)\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}

# A small configuration that only measures: the client-IP verdicts on one network.
mkdir -p "$work/verdict"
cat > "$work/verdict/main.tf" <<'TF'
terraform {
  required_providers {
    dockeripv6 = { source = "dockeripv6/dockeripv6" }
  }
}
variable "network" { type = string }
data "dockeripv6_client_ip" "v6" { network = var.network }
data "dockeripv6_client_ip" "v4" {
  network = var.network
  family  = "ipv4"
}
output "v6"          { value = data.dockeripv6_client_ip.v6.verdict }
output "v6_observed" { value = data.dockeripv6_client_ip.v6.observed_address }
output "v6_client"   { value = data.dockeripv6_client_ip.v6.client_address }
output "v6_gateways" { value = join(" ", data.dockeripv6_client_ip.v6.gateway_addresses) }
output "v6_detail"   { value = data.dockeripv6_client_ip.v6.detail }
output "v4"          { value = data.dockeripv6_client_ip.v4.verdict }
output "v4_observed" { value = data.dockeripv6_client_ip.v4.observed_address }
output "v4_client"   { value = data.dockeripv6_client_ip.v4.client_address }
data "dockeripv6_host" "h" {}
output "findings"    { value = join(" ", sort([for f in data.dockeripv6_host.h.findings : f.id])) }
TF
measure() { # network -> sets v6 v6_observed v6_client v6_gateways v4 ...
  (cd "$work/verdict" && tfq apply -auto-approve -var "network=$1")
  for o in v6 v6_observed v6_client v6_gateways v6_detail v4 v4_observed v4_client findings; do
    printf -v "$o" '%s' "$(cd "$work/verdict" && terraform output -raw "$o")"
  done
  printf '   IPv6 client %s -> the container saw %s: %s\n' "$v6_client" "${v6_observed:-nothing}" "$v6"
  printf '   IPv4 client %s -> the container saw %s: %s\n' "$v4_client" "${v4_observed:-nothing}" "$v4"
  printf '   dockeripv6_host findings: %s\n' "${findings:-none}"
}

title "Docker's defaults: the mail host as installed"
docker version --format '   Docker {{.Server.Version}} (API {{.Server.APIVersion}})'
echo "   /etc/docker/daemon.json:"; sed 's/^/     /' /etc/docker/daemon.json
daemon_before=$(sha256sum /etc/docker/daemon.json | cut -c1-16)
# The network a compose file makes (IPv4-only) and a stand-in for docker-mailserver
# publishing the mail ports with no host IP, as its compose.yaml does: 0.0.0.0 and [::].
tar -C "$root/bin" -c terraform-provider-dockeripv6 | docker import \
  --change 'ENTRYPOINT ["/terraform-provider-dockeripv6", "probe-server"]' - dockeripv6-demo/mailserver >/dev/null
docker network create mailserver_default >/dev/null
docker run -d --name mailserver --network mailserver_default --restart always \
  -p 25:8080 -p 587:8080 -p 993:8080 dockeripv6-demo/mailserver >/dev/null
echo "   network mailserver_default: $(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}IPv6={{.EnableIPv6}}' mailserver_default)"
echo "   container mailserver publishes: $(docker port mailserver | tr '\n' ' ')"
nets_before=$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')

title "Verdict before: a remote client connects to the mail network's published port"
measure mailserver_default
gw_default=$(docker network inspect -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' mailserver_default)
expect "IPv6 verdict" "$v6" masqueraded
expect "IPv6 client seen as the gateway" "$v6_observed" "$gw_default"
expect "IPv4 verdict" "$v4" preserved
echo "   => $v6_detail"

title "Plan examples/mailserver (ipv6_clients = allow)"
cp -r "$root/examples/mailserver" "$work/mail"
cd "$work/mail"
# The example's one required input: the seed of the host's ULA prefix.
export TF_VAR_hostname=mx.demo.test
tf plan -out=plan.bin > plan.txt
grep -E '^  # (dockeripv6|data)|^Plan:' plan.txt | sed 's/^/   /' || true
echo "   warnings the plan shows:"
awk '/^Warning: /{p=1} p&&/^$/{p=0} p' plan.txt | grep -vE '^(with |on |  )' | sed 's/^/     /' || true
grep -q 'Warning: Docker Daemon Restart' plan.txt && expect "plan warns about the restart" yes yes || expect "plan warns about the restart" no yes

title "Apply examples/mailserver"
t0=$(ms); tf apply -auto-approve plan.bin | grep -E 'Apply complete|Warning:|Error:' | sed 's/^/   /'; t1=$(ms)
echo "   applied in $(( t1 - t0 )) ms"
echo "   daemon.json now:"; sed 's/^/     /' /etc/docker/daemon.json
echo "   mail network: $(terraform output -json mail_network | tr -d '\n')"
# docker compose up -d would now attach the mail server to the external network "mail".
docker network connect mail mailserver

title "Verdict after: the same measurement on the mail network"
measure mail
expect "IPv6 verdict" "$v6" preserved
expect "IPv6 client seen as itself" "$v6_observed" "$v6_client"
expect "IPv4 verdict" "$v4" preserved
expect "example's own verdict output" "$(terraform output -raw ipv6_verdict)" preserved

title "Switch to ipv6_clients = refuse: IPv6 to the mail ports gets a TCP reset"
tf apply -auto-approve -var ipv6_clients=refuse | grep -E 'Apply complete|Warning:|Error:|~ ipv6_clients' | sed 's/^/   /'
expect "example's IPv6 verdict" "$(terraform output -raw ipv6_verdict)" refused
expect "example's IPv4 verdict" "$(terraform output -raw ipv4_verdict)" preserved
echo "   nftables table inet dockeripv6:"; nft list table inet dockeripv6 | grep -E 'elements|reject|hook' | sed 's/^ */     /'

title "Destroy: the host goes back to how it was"
docker network disconnect mail mailserver
tf destroy -auto-approve -var ipv6_clients=refuse | grep -E 'Destroy complete|Warning:|Error:' | sed 's/^/   /'
cd "$root"
expect "daemon.json (sha256) as before" "$(sha256sum /etc/docker/daemon.json | cut -c1-16)" "$daemon_before"
expect "networks as before" "$(docker network ls --format '{{.Name}}' | sort | tr '\n' ' ')" "$nets_before"
expect "nftables table dockeripv6 gone" "$(nft list tables | grep -c dockeripv6 || true)" 0
measure mailserver_default
expect "IPv6 verdict (defaults again)" "$v6" masqueraded

docker rm -f mailserver >/dev/null; docker network rm mailserver_default >/dev/null
echo
if ((failures)); then echo "demo: $failures expectation(s) failed"; exit 1; fi
echo "demo: every verdict was what its step expected"
