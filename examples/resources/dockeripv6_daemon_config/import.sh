# Adopt the IPv6 keys daemon.json already has: each owned key present in the file
# becomes managed, and destroy leaves them as they were at import.
terraform import dockeripv6_daemon_config.this /etc/docker/daemon.json
