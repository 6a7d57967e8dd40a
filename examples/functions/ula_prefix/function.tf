# The same seed gives the same /48 on every machine: reproducible without state.
locals {
  site_prefix = provider::dockeripv6::ula_prefix("mail.example.org") # fda8:3b4f:4f2c::/48
  mail_subnet = cidrsubnet(local.site_prefix, 16, 1)                 # fda8:3b4f:4f2c:1::/64
}

output "mail_subnet" {
  value = local.mail_subnet
}
