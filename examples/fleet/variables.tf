variable "mail_hosts" {
  description = "The mail hosts, by the name objects use: address (name or IP), the host's SSH host key (ssh-keyscan -t ed25519, checked out of band), port, and hostname (its fully qualified name: it seeds the host's ULA prefix, so two hosts must not share one)."
  type = map(object({
    address  = string
    host_key = string
    hostname = string
    port     = optional(number, 22)
  }))
  validation {
    condition     = length(var.mail_hosts) > 0
    error_message = "mail_hosts is empty: name at least one host."
  }
  validation {
    condition     = length(distinct([for h in values(var.mail_hosts) : h.hostname])) == length(var.mail_hosts)
    error_message = "Two mail hosts share a hostname; it seeds each host's ULA prefix, so each needs its own."
  }
}

variable "ssh_user" {
  description = "The SSH user on every host: root, or a user with passwordless sudo."
  type        = string
  default     = "root"
}

variable "ssh_private_key_file" {
  description = "An unencrypted private key file. null: the keys of the SSH agent at SSH_AUTH_SOCK."
  type        = string
  default     = null
}

variable "sudo" {
  description = "auto (root directly, else sudo -n), always or never."
  type        = string
  default     = "auto"
}

variable "ipv6_clients" {
  description = "allow: remote IPv6 clients keep their address; refuse: IPv6 to the mail ports is reset, clients fall back to IPv4."
  type        = string
  default     = "allow"
  validation {
    condition     = contains(["allow", "refuse"], var.ipv6_clients)
    error_message = "ipv6_clients must be \"allow\" or \"refuse\"."
  }
}

variable "network_name" {
  description = "The name of the mail network on every host."
  type        = string
  default     = "mail"
}

variable "probe_ports" {
  description = "Two free TCP ports on every host for the client-IP probe (IPv6, IPv4); the firewall treats them as mail ports."
  type        = list(number)
  default     = [8025, 8026]
}
