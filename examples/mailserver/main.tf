# The Docker IPv6 posture of a docker-mailserver host, in one configuration.
#
#   terraform apply -var hostname=mx1.your-domain.net                         # IPv6 clients keep their address
#   terraform apply -var hostname=mx1.your-domain.net -var ipv6_clients=refuse # IPv6 is reset, clients use IPv4
#
# Then point docker-mailserver's compose file at the network this creates:
#
#   services:
#     mailserver:
#       networks: [mail]
#   networks:
#     mail:
#       external: true
#
# It needs root on the Docker host (daemon.json, systemd over D-Bus, nftables,
# and the client-IP probe's network namespace).

terraform {
  required_version = ">= 1.8"
  required_providers {
    dockeripv6 = {
      source  = "dockeripv6/dockeripv6"
      version = "~> 0.1"
    }
  }
}

provider "dockeripv6" {}

# What Docker runs now decides what daemon.json needs.
data "dockeripv6_host" "this" {}

locals {
  docker_major = tonumber(split(".", data.dockeripv6_host.this.docker_version)[0])
  # Docker 20.10 to 26 only do IPv6 NAT (ip6tables) with experimental features on;
  # from 27 ip6tables is stable and on by default, and experimental would only turn on other things.
  needs_experimental = local.docker_major < 27
  # A /48 derived from the host name: reproducible without state, and your own as
  # long as the name is. Use the dockeripv6_ula_prefix resource instead for one
  # from a random source.
  site_prefix = provider::dockeripv6::ula_prefix(var.hostname)
  # The ports docker-mailserver publishes.
  mail_ports = [25, 110, 143, 465, 587, 993, 995, 4190]
}

# 1. The daemon: Docker's own IPv6 NAT, so containers with an IPv6 address see
#    remote clients as themselves. Every other key of daemon.json is left as it is.
#    An apply that changes it restarts dockerd (the plan says how many containers stop).
resource "dockeripv6_daemon_config" "this" {
  ip6tables    = true
  experimental = local.needs_experimental ? true : null
}

# 2. The mail network, with an IPv6 ULA /64 carved from the site prefix.
resource "dockeripv6_network" "mail" {
  name        = var.network_name
  ipv6_subnet = cidrsubnet(local.site_prefix, 16, 25)
  labels = {
    "org.dockeripv6.role" = "mail"
  }
  depends_on = [dockeripv6_daemon_config.this]
}

# 3. The firewall posture for the mail ports, in an nftables table of its own.
#    allow: nothing refused; refuse: IPv6 to the mail ports gets a TCP reset, so
#    MTAs and mail clients fall back to IPv4 at once and keep their address there.
#    The probe ports get the same treatment as the mail ports, so the measured verdict
#    below is the one the mail ports get (the probe cannot publish port 25 itself: the
#    mail server holds it).
resource "dockeripv6_firewall" "mail" {
  ipv6_clients    = var.ipv6_clients
  ports           = concat(local.mail_ports, var.probe_ports)
  allow_ipv6_from = var.trusted_ipv6
}

# 4. The verdict, measured: a probe container on the mail network and a simulated
#    remote client connecting over IPv6, read at every plan.
data "dockeripv6_client_ip" "ipv6" {
  host_port  = var.probe_ports[0]
  network    = dockeripv6_network.mail.name
  depends_on = [dockeripv6_daemon_config.this, dockeripv6_firewall.mail]
}

data "dockeripv6_client_ip" "ipv4" {
  host_port  = var.probe_ports[1]
  network    = dockeripv6_network.mail.name
  family     = "ipv4"
  depends_on = [dockeripv6_daemon_config.this, dockeripv6_firewall.mail]
}

check "remote_clients_keep_their_address" {
  assert {
    condition = (
      var.ipv6_clients == "refuse"
      ? data.dockeripv6_client_ip.ipv6.verdict == "refused"
      : data.dockeripv6_client_ip.ipv6.verdict == "preserved"
    )
    error_message = "Remote IPv6 clients: ${data.dockeripv6_client_ip.ipv6.verdict}. ${data.dockeripv6_client_ip.ipv6.detail}"
  }
  assert {
    condition     = data.dockeripv6_client_ip.ipv4.preserved
    error_message = "Remote IPv4 clients: ${data.dockeripv6_client_ip.ipv4.verdict}. ${data.dockeripv6_client_ip.ipv4.detail}"
  }
}

# The host's posture after this configuration, with findings.
data "dockeripv6_host" "after" {
  depends_on = [dockeripv6_daemon_config.this, dockeripv6_network.mail, dockeripv6_firewall.mail]
}
