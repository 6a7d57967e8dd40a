data "dockeripv6_host" "this" {}

# Docker's own IPv6 NAT for containers with an IPv6 address. Only these keys are
# written; the rest of /etc/docker/daemon.json stays as it is, byte for byte.
resource "dockeripv6_daemon_config" "this" {
  ip6tables = true
  # Docker 20.10 to 26 need experimental for ip6tables; 27+ do not.
  experimental = tonumber(split(".", data.dockeripv6_host.this.docker_version)[0]) < 27 ? true : null
  # Keep containers running while dockerd restarts for this change.
  live_restore = true

  restart {
    method  = "systemd" # or "none": write the file only, restart_pending stays true
    unit    = "docker.service"
    timeout = "90s"
  }
}

output "docker_version" {
  value = dockeripv6_daemon_config.this.docker_version
}
