# Import by name (as in `docker network ls`) or by ID.
terraform import dockeripv6_network.mail mail
terraform import dockeripv6_network.mail 3c1f0e9d2b7a
