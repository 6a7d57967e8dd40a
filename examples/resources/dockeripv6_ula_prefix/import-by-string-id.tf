# Adopt the /48 your networks already use (Terraform 1.5+ or OpenTofu 1.5+). Write
# your own: this documented one is an example, and the plan warns about it.
import {
  to = dockeripv6_ula_prefix.site
  id = "fd3a:9c1e:77b0::/48"
}
