# Adopt a /48 you already use (it must lie in fd00::/8).
terraform import dockeripv6_ula_prefix.site fd3a:9c1e:77b0::/48
