# What does the mail server's network really see of a remote IPv6 client?
data "dockeripv6_client_ip" "mail_ipv6" {
  network = "mailserver_default" # the network docker-mailserver runs on
}

output "ipv6_verdict" {
  value = "${data.dockeripv6_client_ip.mail_ipv6.verdict}: ${data.dockeripv6_client_ip.mail_ipv6.detail}"
}

# Assert it at every plan: a failed assertion is a warning, not an error.
check "mail_sees_real_ipv6_clients" {
  assert {
    condition     = contains(["preserved", "refused"], data.dockeripv6_client_ip.mail_ipv6.verdict)
    error_message = "Remote IPv6 clients are ${data.dockeripv6_client_ip.mail_ipv6.verdict}: ${data.dockeripv6_client_ip.mail_ipv6.detail}"
  }
}
