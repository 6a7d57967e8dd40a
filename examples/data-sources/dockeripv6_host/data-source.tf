# The host's IPv6 posture, read at every plan: what decides whether remote IPv6
# clients reach the mail server with their own address.
data "dockeripv6_host" "this" {}

output "ipv6_findings" {
  description = "What is wrong or worth knowing about this host's IPv6 posture, errors first."
  value = [
    for f in data.dockeripv6_host.this.findings : "${upper(f.severity)} ${f.id}: ${f.message} Fix: ${f.fix}"
  ]
}

output "published_on_ipv4_only_networks" {
  description = "Ports published on networks without IPv6."
  value = {
    for n in data.dockeripv6_host.this.networks : n.name => n.published_ports
    if !n.ipv6 && length(n.published_ports) > 0
  }
}

# A failed assertion shows as a warning in plan and apply; it never blocks them.
check "ipv6_posture" {
  assert {
    condition = alltrue([for f in data.dockeripv6_host.this.findings : f.severity != "error"])
    error_message = join("\n", [
      for f in data.dockeripv6_host.this.findings : "${f.id}: ${f.message} Fix: ${f.fix}" if f.severity == "error"
    ])
  }

  assert {
    condition     = !contains(data.dockeripv6_host.this.finding_ids, "restart-pending")
    error_message = "daemon.json was edited but dockerd not restarted (${join(", ", data.dockeripv6_host.this.restart_pending_keys)}): its settings take effect at the next restart, whoever causes it."
  }
}
