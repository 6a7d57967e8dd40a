# A random RFC 4193 /48 for this mail host, kept in state. Changing a keeper
# generates a new one (and replaces every network carved from it).
resource "dockeripv6_ula_prefix" "site" {
  keepers = {
    host = "mail.example.org"
  }
}

output "site_prefix" {
  value = dockeripv6_ula_prefix.site.prefix # for example fd3a:9c1e:77b0::/48
}

output "mail_subnet" {
  value = cidrsubnet(dockeripv6_ula_prefix.site.prefix, 16, 1) # fd3a:9c1e:77b0:1::/64
}
