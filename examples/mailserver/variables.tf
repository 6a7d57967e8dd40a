variable "hostname" {
  description = "The mail host's name; seeds its ULA prefix."
  type        = string
  default     = "mail.example.org"
}

variable "posture" {
  description = "native: remote IPv6 clients reach the mail server with their own address. refuse: IPv6 to the mail ports is refused and clients fall back to IPv4."
  type        = string
  default     = "native"
  validation {
    condition     = contains(["native", "refuse"], var.posture)
    error_message = "posture must be \"native\" or \"refuse\"."
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
