// Package host is the seam between the provider and the machine it works on.
// Host is the one interface through which everything reaches that machine:
// the daemon.json transaction, the facts hostcheck gathers, the firewall, the
// Docker API and the client-IP probe. Its calls are coarse on purpose: each
// is one piece of work done on the machine itself, so that a Host reached
// over SSH (internal/host/remote) runs the same code there as
// internal/host/local runs here, one round trip per call. This package holds
// interfaces only.
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
	// ApplyDaemonConfig runs the daemon.json transaction on the machine
	// (daemonconfig.Apply): lock, merge, validate, write, restart, verify,
	// roll back. It is one call so that it runs to its end on the machine.
	ApplyDaemonConfig(ctx context.Context, req daemonconfig.Request) (daemonconfig.Result, error)
	// PlanDaemonConfig previews it (daemonconfig.Plan): nothing is written.
	PlanDaemonConfig(ctx context.Context, req daemonconfig.Request) (daemonconfig.Preview, error)
	// DockerVersion is the running daemon's release; Observe what the
	// running dockerd shows of the owned settings (an error: it does not
	// answer).
	DockerVersion(ctx context.Context) (daemonconfig.DockerVersion, error)
	Observe(ctx context.Context, unit string) (daemonconfig.RunningState, error)
	// ReadDaemonJSON reads daemon.json; a missing file is (nil, false, nil).
	ReadDaemonJSON(ctx context.Context, path string) (data []byte, exists bool, err error)

	// Gather reads the facts the host's findings are judged on
	// (hostcheck.Gather); GatherPosture the few the firewall's plan
	// warnings need (hostcheck.GatherPosture).
	Gather(ctx context.Context, daemonJSON, dockerUnit string) (hostcheck.Facts, error)
	GatherPosture(ctx context.Context) hostcheck.Facts
	// Units reads the flags of dockerUnit ("" for none) and the ActiveState
	// of each other unit over one systemd connection (hostcheck.Source).
	Units(ctx context.Context, dockerUnit string, others ...string) (flags []string, states map[string]string, err error)

	// Firewall opens the machine's firewall; Close the handle when done.
	Firewall(ctx context.Context) (firewall.Handle, error)
	// DockerClient is the Docker API client at docker_host (networks).
	DockerClient() *dockerapi.Client
	// ClientIP runs the client-IP probe: a probe container, a simulated
	// remote client in its own network namespace, the verdict.
	ClientIP(ctx context.Context, o probe.Options) (probe.Result, error)
	// ContainerClientIP measures a running container's own published TCP
	// ports from a simulated remote client, without touching the container,
	// and says whether its mail server trusts what it saw
	// (probe.VerifyContainer).
	ContainerClientIP(ctx context.Context, o probe.ContainerOptions) (probe.ContainerResult, error)
}

// Factory makes the Host for a provider configuration: dockerHost is the
// provider's docker_host ("" for DOCKER_HOST, else the default socket).
type Factory func(dockerHost string) Host
