output "mail_network" {
  value = {
    name         = dockeripv6_network.mail.name
    ipv6_subnet  = dockeripv6_network.mail.ipv6_subnet
    ipv6_gateway = dockeripv6_network.mail.ipv6_gateway
    ipv4_subnet  = dockeripv6_network.mail.ipv4_subnet
  }
}

output "ipv6_verdict" {
  value = data.dockeripv6_client_ip.ipv6.verdict
}

output "ipv6_client_ip" {
  value = {
    client   = data.dockeripv6_client_ip.ipv6.client_address
    observed = data.dockeripv6_client_ip.ipv6.observed_address
    detail   = data.dockeripv6_client_ip.ipv6.detail
  }
}

output "ipv4_verdict" {
  value = data.dockeripv6_client_ip.ipv4.verdict
}

output "docker_version" {
  value = data.dockeripv6_host.this.docker_version
}

output "findings" {
  value = data.dockeripv6_host.after.findings
}
