# The Docker IPv6 posture of every mail host of a list, from one configuration,
# applied over SSH from a workstation or a CI runner.
#
#   terraform apply -var-file=fleet.tfvars                          # IPv6 clients keep their address on every host
#   terraform apply -var-file=fleet.tfvars -var ipv6_clients=refuse # IPv6 is refused, clients use IPv4
#
# fleet.tfvars:
#
#   mail_hosts = {
#     mx1 = { address = "mx1.your-domain.net", host_key = "ssh-ed25519 AAAA...", hostname = "mx1.your-domain.net" }
#     mx2 = { address = "mx2.your-domain.net", host_key = "ssh-ed25519 AAAA...", hostname = "mx2.your-domain.net" }
#   }
#   ssh_user             = "deploy"          # passwordless sudo on each host, or root
#   ssh_private_key_file = "~/.ssh/deploy"   # or leave it out to use ssh-agent
#
# Each host needs systemd, nftables and Docker; the provider uploads its own
# binary there once (kept by SHA-256 in /var/lib/dockeripv6/agent) and runs it
# as root for the length of the run. See the guide "A fleet of mail hosts".

terraform {
  required_version = ">= 1.8"
  required_providers {
    dockeripv6 = {
      source  = "dockeripv6/dockeripv6"
      version = "~> 0.1"
    }
  }
}

# Terraform cannot for_each a provider block, so the connection settings are
# written once, here, and every object below names its host.
provider "dockeripv6" {
  hosts = { for name, h in var.mail_hosts : name => {
    address     = h.address
    port        = h.port
    host_key    = h.host_key
    user        = var.ssh_user
    private_key = var.ssh_private_key_file == null ? null : file(pathexpand(var.ssh_private_key_file))
    sudo        = var.sudo
  } }
}

# What Docker runs on each host decides what its daemon.json needs.
data "dockeripv6_host" "before" {
  for_each = var.mail_hosts
  host     = each.key
}

locals {
  # Docker 20.10 to 26 only do IPv6 NAT with experimental features on.
  needs_experimental = { for name, h in data.dockeripv6_host.before : name => tonumber(split(".", h.docker_version)[0]) < 27 }
  mail_ports         = [25, 110, 143, 465, 587, 993, 995, 4190]
}

# 1. Each daemon: Docker's own IPv6 NAT. Other keys of daemon.json stay as they are.
resource "dockeripv6_daemon_config" "this" {
  for_each     = var.mail_hosts
  host         = each.key
  ip6tables    = true
  experimental = local.needs_experimental[each.key] ? true : null
}

# 2. Each host's mail network, with a ULA /64 from a prefix its own name seeds.
resource "dockeripv6_network" "mail" {
  for_each    = var.mail_hosts
  host        = each.key
  name        = var.network_name
  ipv6_subnet = cidrsubnet(provider::dockeripv6::ula_prefix(each.value.hostname), 16, 25)
  labels = {
    "org.dockeripv6.role" = "mail"
  }
  depends_on = [dockeripv6_daemon_config.this]
}

# 3. The firewall posture for the mail ports (and the probe's), in a table of its own.
resource "dockeripv6_firewall" "mail" {
  for_each     = var.mail_hosts
  host         = each.key
  ipv6_clients = var.ipv6_clients
  ports        = concat(local.mail_ports, var.probe_ports)
}

# 4. The verdict on each host, measured there at every plan.
data "dockeripv6_client_ip" "ipv6" {
  for_each   = var.mail_hosts
  host       = each.key
  host_port  = var.probe_ports[0]
  network    = dockeripv6_network.mail[each.key].name
  depends_on = [dockeripv6_daemon_config.this, dockeripv6_firewall.mail]
}

data "dockeripv6_client_ip" "ipv4" {
  for_each   = var.mail_hosts
  host       = each.key
  host_port  = var.probe_ports[1]
  network    = dockeripv6_network.mail[each.key].name
  family     = "ipv4"
  depends_on = [dockeripv6_daemon_config.this, dockeripv6_firewall.mail]
}

check "every_host_keeps_client_addresses" {
  assert {
    condition = alltrue([for name, d in data.dockeripv6_client_ip.ipv6 :
    var.ipv6_clients == "refuse" ? d.verdict == "refused" : d.verdict == "preserved"])
    error_message = "Remote IPv6 clients: ${join("; ", [for name, d in data.dockeripv6_client_ip.ipv6 : "${name} ${d.verdict}: ${d.detail}"])}"
  }
  assert {
    condition     = alltrue([for name, d in data.dockeripv6_client_ip.ipv4 : d.preserved])
    error_message = "Remote IPv4 clients: ${join("; ", [for name, d in data.dockeripv6_client_ip.ipv4 : "${name} ${d.verdict}: ${d.detail}"])}"
  }
}
