output "verdicts" {
  description = "Per host: what a remote IPv6 and IPv4 client is seen as."
  value = { for name in keys(var.mail_hosts) : name => {
    ipv6          = data.dockeripv6_client_ip.ipv6[name].verdict
    ipv6_observed = data.dockeripv6_client_ip.ipv6[name].observed_address
    ipv4          = data.dockeripv6_client_ip.ipv4[name].verdict
    ipv6_subnet   = dockeripv6_network.mail[name].ipv6_subnet
    docker        = data.dockeripv6_host.before[name].docker_version
  } }
}
