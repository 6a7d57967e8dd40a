# Adopt a table this provider wrote earlier, by its name (Terraform 1.5+ or OpenTofu 1.5+).
import {
  to = dockeripv6_firewall.mail
  id = "dockeripv6"
}
