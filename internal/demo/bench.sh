#!/usr/bin/env bash
# make bench: figures for plan/apply speed, the restart's downtime and the probe's
# time to a verdict, measured in the sandbox. Ends with one JSON line.
source "$(dirname "$0")/lib.sh"
runs=${BENCH_RUNS:-5}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
time_ms() { local t0; t0=$(ms); "$@" >"$work/cmd.log" 2>&1 || { cat "$work/cmd.log"; exit 1; }; echo $(( $(ms) - t0 )); }

echo "== sandbox: Docker $(docker version --format '{{.Server.Version}}') =="

# 1. The floor: plan of an empty configuration with the same provider.
mkdir -p "$work/empty" && cd "$work/empty"
printf 'terraform {\n  required_providers {\n    dockeripv6 = { source = "dockeripv6/dockeripv6" }\n  }\n}\nprovider "dockeripv6" {}\n' > main.tf
floor=$(for i in $(seq "$runs"); do time_ms terraform plan -no-color; done | median)
echo "plan, empty configuration (floor): median ${floor} ms of $runs"

# 2. 50 IPv6 networks.
mkdir -p "$work/fifty" && cd "$work/fifty"
cat > main.tf <<'TF'
terraform {
  required_providers {
    dockeripv6 = { source = "dockeripv6/dockeripv6" }
  }
}
resource "dockeripv6_network" "n" {
  count       = 50
  name        = "bench-${count.index}"
  ipv6_subnet = cidrsubnet(provider::dockeripv6::ula_prefix("bench"), 16, count.index)
  ipv4_subnet = cidrsubnet("198.18.128.0/17", 7, count.index)
}
TF
apply50=$(time_ms terraform apply -auto-approve -no-color)
echo "apply, 50 networks: ${apply50} ms"
plan50=$(for i in $(seq "$runs"); do time_ms terraform plan -no-color -detailed-exitcode; done | median)
echo "plan, 50 networks (refresh of each): median ${plan50} ms of $runs, $(( plan50 - floor )) ms above the floor"
destroy50=$(time_ms terraform destroy -auto-approve -no-color)
echo "destroy, 50 networks: ${destroy50} ms"

# 3. The whole mail-host posture.
cp -r "$root/examples/mailserver" "$work/mail" && cd "$work/mail"
export TF_VAR_hostname=mx.bench.test
export TF_LOG_PROVIDER=INFO TF_LOG_PATH="$work/provider.log"
mail_apply=$(time_ms terraform apply -auto-approve -no-color)
downtime=$(grep -o 'downtime_ms=[0-9]*' "$work/provider.log" | tail -1 | cut -d= -f2)
unset TF_LOG_PROVIDER TF_LOG_PATH
verdict=$(terraform output -raw ipv6_verdict)
echo "apply, examples/mailserver: ${mail_apply} ms (dockerd restart downtime ${downtime} ms, IPv6 verdict ${verdict})"
mail_plan=$(for i in $(seq "$runs"); do time_ms terraform plan -no-color -detailed-exitcode; done | median)
echo "plan, examples/mailserver (re-measures both verdicts): median ${mail_plan} ms of $runs"
mail_destroy=$(time_ms terraform destroy -auto-approve -no-color)
echo "destroy, examples/mailserver: ${mail_destroy} ms"

# 4. The probe's time to a verdict, once its image exists (the runs above built it).
mkdir -p "$work/probe" && cd "$work/probe"
cat > main.tf <<'TF'
terraform {
  required_providers {
    dockeripv6 = { source = "dockeripv6/dockeripv6" }
  }
}
data "dockeripv6_client_ip" "v6" {}
output "ms" { value = data.dockeripv6_client_ip.v6.elapsed_ms }
output "verdict" { value = data.dockeripv6_client_ip.v6.verdict }
TF
probe=$(for i in $(seq "$runs"); do terraform apply -auto-approve -no-color >/dev/null 2>&1 && terraform output -raw ms; echo; done | grep . | median)
echo "probe, time to a verdict (default bridge, IPv6, remote client): median ${probe} ms of $runs ($(terraform output -raw verdict))"

# 4b. Measuring a running container (container mode) starts no container:
#     the time per published port, the simulated client's set-up included.
cd "$root"
go test -count=1 -run '^$' -bench '^BenchmarkMeasureContainer$' -benchtime 10x ./internal/probe/ >"$work/measure.log" 2>&1 \
  || { cat "$work/measure.log"; exit 1; }
port_ms=$(awk '/^BenchmarkMeasureContainer/ { for (i = 2; i < NF; i++) if ($(i+1) == "ms/port") print $i }' "$work/measure.log")
echo "probe, container mode: ${port_ms} ms a port (default bridge, IPv6, remote client, no container started)"

printf '{"engine":"%s","runs":%d,"plan_floor_ms":%d,"apply_50_networks_ms":%d,"plan_50_networks_ms":%d,"plan_50_above_floor_ms":%d,"destroy_50_networks_ms":%d,"mail_apply_ms":%d,"mail_plan_ms":%d,"mail_destroy_ms":%d,"restart_downtime_ms":%d,"probe_verdict_ms":%d,"probe_container_port_ms":%s}\n' \
  "${DOCKERIPV6_SANDBOX_ENGINE:-}" "$runs" "$floor" "$apply50" "$plan50" "$(( plan50 - floor ))" "$destroy50" "$mail_apply" "$mail_plan" "$mail_destroy" "${downtime:-0}" "$probe" "${port_ms:-null}"

# 5. The same mail posture over SSH: examples/fleet on 1 and on 3 hosts of a
#    sandbox fleet (each with its own sshd, dockerd and systemd stand-in), from
#    a workstation without a Docker socket; the local plan above beside it.
echo "== fleet: examples/fleet over SSH (the local plan of examples/mailserver: ${mail_plan} ms) =="
cd "$root"
LOCAL_MAIL_PLAN_MS=$mail_plan BENCH_RUNS=$runs DOCKERIPV6_PROVIDER_BIN="$root/bin/terraform-provider-dockeripv6" \
  go test -count=1 -run '^$' -bench '^BenchmarkFleet$' -benchtime 1x ./internal/fleettier/ >"$work/fleet.log" 2>&1 \
  || { cat "$work/fleet.log"; exit 1; }
grep -E '^(fleettier:|examples/fleet|plan,|\{)' "$work/fleet.log"
