resource "dockeripv6_ula_prefix" "site" {}

# The network docker-mailserver joins (compose: networks: { mail: { external: true } }).
# Its IPv6 subnet is a /64 carved from the site's random ULA /48.
resource "dockeripv6_network" "mail" {
  name        = "mail"
  ipv6_subnet = cidrsubnet(dockeripv6_ula_prefix.site.prefix, 16, 1)
  labels = {
    "org.example.role" = "mail"
  }
}

output "mail_network" {
  value = {
    id           = dockeripv6_network.mail.id
    ipv6_subnet  = dockeripv6_network.mail.ipv6_subnet
    ipv6_gateway = dockeripv6_network.mail.ipv6_gateway
    ipv4_subnet  = dockeripv6_network.mail.ipv4_subnet # chosen by Docker from its pools
  }
}
