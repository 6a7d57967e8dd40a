# Adopt a network by its name or ID (Terraform 1.5+ or OpenTofu 1.5+): for example
# the one a compose project made, before moving the mail server onto it.
import {
  to = dockeripv6_network.mail
  id = "mail"
}
