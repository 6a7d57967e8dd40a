# Measure the running mail container itself, on its own published ports
# (no container is started): one row per port, family and host address.
data "dockeripv6_client_ip" "mail" {
  container = "mailserver" # container_name in compose.yaml
  family    = "both"
}

output "mail_ports" {
  value = [for m in data.dockeripv6_client_ip.mail.measurements :
    "${m.port}/${m.family} via ${m.path}: ${m.verdict}, seen as ${m.observed_address}${m.trusted == true ? " (trusted: may relay)" : ""}"
  ]
}

# A masqueraded address the mail server trusts makes it an open relay.
check "remote_clients_are_not_trusted_as_local" {
  assert {
    condition     = !contains([for m in data.dockeripv6_client_ip.mail.measurements : m.verdict == "masqueraded" && m.trusted == true], true)
    error_message = data.dockeripv6_client_ip.mail.detail
  }
}
