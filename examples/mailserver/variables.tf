variable "hostname" {
  description = "The mail host's fully qualified name, for example mx1.your-domain.net. It seeds the host's ULA prefix (ula_prefix(hostname)), so use your own: two hosts with the same seed get the same prefix."
  type        = string
  nullable    = false
  validation {
    condition     = trimspace(var.hostname) != ""
    error_message = "hostname seeds the mail network's ULA prefix and must not be empty: set it to this host's fully qualified name."
  }
}

variable "ipv6_clients" {
  description = "What happens to remote IPv6 clients on the mail ports (dockeripv6_firewall's ipv6_clients). allow: they reach the mail server with their own address, over the IPv6 mail network. refuse: they get a TCP reset and fall back to IPv4."
  type        = string
  default     = "allow"
  validation {
    condition     = contains(["allow", "refuse"], var.ipv6_clients)
    error_message = "ipv6_clients must be \"allow\" (IPv6 clients keep their address) or \"refuse\" (they fall back to IPv4)."
  }
}

variable "network_name" {
  description = "Name of the mail network (the compose file's external network)."
  type        = string
  default     = "mail"
}

variable "trusted_ipv6" {
  description = "IPv6 prefixes never refused, for example your office's."
  type        = set(string)
  default     = []
}

variable "probe_ports" {
  description = "Two free host ports the client-IP probe publishes (IPv6, IPv4); the firewall treats them like the mail ports."
  type        = list(number)
  default     = [10025, 10026]
}
