# Import by the name of the nftables inet table. Only a table this provider
# wrote can be imported; any other table of that name is refused.
terraform import dockeripv6_firewall.mail dockeripv6
