# Adopt the IPv6 keys daemon.json already has (Terraform 1.5+ or OpenTofu 1.5+).
import {
  to = dockeripv6_daemon_config.this
  id = "/etc/docker/daemon.json"
}
