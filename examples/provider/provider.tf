terraform {
  required_version = ">= 1.8" # provider functions need 1.8
  required_providers {
    dockeripv6 = {
      source  = "dockeripv6/dockeripv6"
      version = "~> 0.1"
    }
  }
}

# docker_host defaults to DOCKER_HOST, else unix:///var/run/docker.sock.
provider "dockeripv6" {}
