# An IPv4-only mail host: IPv6 to the mail ports is refused with a TCP reset, so
# MTAs and mail clients fall back to IPv4 at once (no time-out) and the mail server
# always sees their real IPv4 address. Nothing in daemon.json or the networks changes.
#
# Keep the AAAA record away from the MX name too, so senders do not try IPv6 first.

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

variable "network" {
  description = "The network docker-mailserver runs on (a compose project's default network, for example mailserver_default)."
  type        = string
  default     = "bridge"
}

variable "probe_ports" {
  description = "Two free host ports the client-IP probe publishes (IPv6, IPv4); the firewall treats them like the mail ports."
  type        = list(number)
  default     = [10025, 10026]
}

resource "dockeripv6_firewall" "mail" {
  ipv6_clients = "refuse"
  # The ports docker-mailserver publishes, and the probe's.
  ports = concat([25, 110, 143, 465, 587, 993, 995, 4190], var.probe_ports)
}

data "dockeripv6_client_ip" "ipv6" {
  host_port  = var.probe_ports[0]
  network    = var.network
  depends_on = [dockeripv6_firewall.mail]
}

data "dockeripv6_client_ip" "ipv4" {
  host_port  = var.probe_ports[1]
  network    = var.network
  family     = "ipv4"
  depends_on = [dockeripv6_firewall.mail]
}

check "ipv6_refused_ipv4_preserved" {
  assert {
    condition     = data.dockeripv6_client_ip.ipv6.verdict == "refused"
    error_message = "Remote IPv6 clients: ${data.dockeripv6_client_ip.ipv6.verdict}. ${data.dockeripv6_client_ip.ipv6.detail}"
  }
  assert {
    condition     = data.dockeripv6_client_ip.ipv4.preserved
    error_message = "Remote IPv4 clients: ${data.dockeripv6_client_ip.ipv4.verdict}. ${data.dockeripv6_client_ip.ipv4.detail}"
  }
}

output "ipv6_verdict" {
  value = data.dockeripv6_client_ip.ipv6.verdict
}

output "ipv4_verdict" {
  value = data.dockeripv6_client_ip.ipv4.verdict
}
