// Package host is the seam between the provider and the machine it works on.
// Host is the one interface through which everything reaches that machine:
// daemon.json and the daemon.json transaction (daemonconfig.Host), the facts
// hostcheck gathers (hostcheck.Source), the firewall (firewall.Handle), the
// Docker API and the client-IP probe. internal/host/local implements it for
// the machine the provider runs on; another implementation (a host reached
// over SSH) plugs in at the same place. This package holds interfaces only.
package host

import (
	"context"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/hostcheck"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
)

// Host is the machine the provider works on.
type Host interface {
	// daemon.json, the running dockerd and its unit: the daemon.json transaction.
	daemonconfig.Host
	// One read of each fact the host's findings are judged on; Units also
	// gives the states of ufw.service and firewalld.service.
	hostcheck.Source

	// Firewall opens the machine's firewall; Close the handle when done.
	Firewall(ctx context.Context) (firewall.Handle, error)
	// DockerClient is the Docker API client at docker_host (networks).
	DockerClient() *dockerapi.Client
	// ClientIP runs the client-IP probe: a probe container, a simulated
	// remote client in its own network namespace, the verdict.
	ClientIP(ctx context.Context, o probe.Options) (probe.Result, error)
}

// Factory makes the Host for a provider configuration: dockerHost is the
// provider's docker_host ("" for DOCKER_HOST, else the default socket).
type Factory func(dockerHost string) Host
