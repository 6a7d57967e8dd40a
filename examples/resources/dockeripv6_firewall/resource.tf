# docker-mailserver on an IPv4-only Docker network, on a host with an AAAA record:
# without this, every IPv6 client reaches Postfix and Dovecot as the network's
# gateway address (172.x.0.1), so SPF fails and Fail2Ban bans everyone at once.
#
# "refuse" answers remote IPv6 connections to the mail ports with a TCP reset:
# MTAs and mail clients fall back to the server's IPv4 address at once, where
# the mail server sees their real address. IPv4 and local connections are never
# touched; the office's own IPv6 network keeps reaching the ports over IPv6.
resource "dockeripv6_firewall" "mail" {
  ipv6_clients = "refuse"

  # The host ports docker-mailserver's compose file publishes. Leave ports out to
  # cover all eight it can publish (25, 110, 143, 465, 587, 993, 995, 4190).
  ports = [25, 143, 465, 587, 993]

  allow_ipv6_from = [
    "fd5e:27c1:9a04::/48", # the office's ULA, reached over the site VPN
  ]

  # The default: clients hear "connection refused" at once instead of waiting
  # for a time-out ("drop").
  reject_with = "tcp-reset"
}

# What else filters this host: Docker's chains, UFW, firewalld, other tables.
output "other_firewalls" {
  value = dockeripv6_firewall.mail.other_firewalls
}
