// Package dockerapi holds the few Docker Engine API calls the provider makes,
// over a client whose API version is negotiated with the daemon (Debian's
// Docker 20.10 speaks API 1.41; Docker 29 speaks 1.52).
package dockerapi

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
)

// DefaultHost is where the Docker daemon listens when DOCKER_HOST is not set.
const DefaultHost = "unix:///var/run/docker.sock"

// ResolveHost is the address the provider talks to: the configured one, else
// DOCKER_HOST, else DefaultHost.
func ResolveHost(configured string) string {
	h, _ := resolveHost(configured)
	return h
}

func resolveHost(configured string) (host, from string) {
	if configured != "" {
		return configured, "docker_host"
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h, "DOCKER_HOST"
	}
	return DefaultHost, "the default"
}

// SupportedHosts says which daemon addresses the provider can use.
const SupportedHosts = "Supported: unix:///path/to/docker.sock (the default is " + DefaultHost + ") and tcp://host:port " +
	"(plain TCP, no TLS). The provider runs on the Docker host itself, where it also edits daemon.json, nftables and " +
	"systemd, so run terraform there and use the daemon's local socket."

// CheckHost reports why the provider cannot talk to a daemon at host, or nil
// when it can: unix:// and tcp:// addresses only. ssh:// (the docker CLI's
// connection helper), npipe:// and addresses without a scheme are refused
// with a message that says what is supported.
func CheckHost(host string) error {
	scheme, rest, ok := strings.Cut(host, "://")
	switch {
	case !ok:
		if strings.HasPrefix(host, "/") {
			return fmt.Errorf("%q has no scheme: write unix://%s for a socket. %s", host, host, SupportedHosts)
		}
		return fmt.Errorf("%q has no scheme (unix:// or tcp://). %s", host, SupportedHosts)
	case scheme == "unix":
		if rest == "" || !strings.HasPrefix(rest, "/") {
			return fmt.Errorf("%q names no socket path: write it as unix:///run/docker.sock (three slashes before an absolute path). %s", host, SupportedHosts)
		}
	case scheme == "tcp":
		if rest == "" || strings.HasPrefix(rest, "/") {
			return fmt.Errorf("%q names no host: write it as tcp://127.0.0.1:2375. %s", host, SupportedHosts)
		}
	case scheme == "ssh":
		return fmt.Errorf("%q: docker_host does not take ssh:// addresses. For a mail host reached over SSH, list it in "+
			"the provider's hosts and set host on each object: the provider then works on the host itself (daemon.json, "+
			"systemd, nftables and Docker). %s", host, SupportedHosts)
	default:
		return fmt.Errorf("%q: the provider cannot use %s:// addresses. %s", host, scheme, SupportedHosts)
	}
	return nil
}

// HostError says the configured daemon address is one the provider cannot use.
type HostError struct {
	From string // "docker_host", "DOCKER_HOST" or "the default"
	Err  error
}

func (e *HostError) Error() string {
	return fmt.Sprintf("cannot use the Docker daemon address from %s: %v", e.From, e.Err)
}

func (e *HostError) Unwrap() error { return e.Err }

// Client is a lazily connected Docker client. The first call that needs the
// daemon pings it, so configurations that only use ula_prefix() never need one.
type Client struct {
	Host string
	// from says where Host came from, for HostError.
	from string

	// dial, when set, opens every connection to Host (a Docker daemon on a
	// remote machine, reached through its agent); Via names that way.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	Via  string
	// reach, when set, is asked before the daemon is: it fails with the
	// reason the way to the machine is closed (an SSH error names its step),
	// which the Docker client would hide behind "Cannot connect".
	reach func(ctx context.Context) error

	mu  sync.Mutex
	cli *client.Client
}

// NewVia returns a client for the daemon at host (an address on another
// machine) whose connections dial opens; via names the way for messages
// ("ssh://user@mail1:22").
func NewVia(host, via string, dial func(ctx context.Context, network, addr string) (net.Conn, error), reach func(ctx context.Context) error) *Client {
	return &Client{Host: host, from: "docker_host", dial: dial, Via: via, reach: reach}
}

// Where is the daemon's address, with the way to it when it is remote.
func (c *Client) Where() string {
	if c.Via != "" {
		return c.Host + " on " + c.Via
	}
	return c.Host
}

func (c *Client) newClient() (*client.Client, error) {
	opts := []client.Opt{client.WithHost(c.Host), client.WithAPIVersionNegotiation()}
	if c.dial != nil {
		opts = append(opts, client.WithDialContext(c.dial))
	}
	return client.NewClientWithOpts(opts...)
}

// New returns a client for host (see ResolveHost); nothing is dialled yet.
func New(host string) *Client {
	h, from := resolveHost(host)
	return &Client{Host: h, from: from}
}

// checkHost is CheckHost(c.Host) as a HostError.
func (c *Client) checkHost() error {
	if err := CheckHost(c.Host); err != nil {
		return &HostError{From: c.from, Err: err}
	}
	return nil
}

// UnreachableError says the daemon could not be reached, naming the address tried.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Docker daemon at %s: %s Check that dockerd is running and that this user may open its socket, or set docker_host in the provider block (or DOCKER_HOST)", e.Host, sentence(e.Err.Error()))
}

// sentence ends s with one full stop, unless it already ends a sentence (the
// Docker client's own errors end in "Is the docker daemon running?").
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// API returns the connected client, negotiating the API version on first use.
func (c *Client) API(ctx context.Context) (*client.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cli != nil {
		return c.cli, nil
	}
	if err := c.checkHost(); err != nil {
		return nil, err
	}
	if c.reach != nil {
		if err := c.reach(ctx); err != nil {
			return nil, err
		}
	}
	cli, err := c.newClient()
	if err != nil {
		return nil, &UnreachableError{Host: c.Where(), Err: err}
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		cli.Close()
		return nil, &UnreachableError{Host: c.Where(), Err: err}
	}
	cli.NegotiateAPIVersion(pctx)
	c.cli = cli
	return cli, nil
}

// Reset forgets the connection, for use after the daemon was restarted.
func (c *Client) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cli != nil {
		c.cli.Close()
		c.cli = nil
	}
}

// WaitReady waits until the daemon answers /_ping or ctx ends.
func (c *Client) WaitReady(ctx context.Context) error {
	c.Reset()
	if err := c.checkHost(); err != nil {
		return err
	}
	var last error
	for {
		cli, err := c.newClient()
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = cli.Ping(pctx)
			cancel()
			cli.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return &UnreachableError{Host: c.Where(), Err: fmt.Errorf("%w (last error: %v)", ctx.Err(), last)}
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Info is the daemon's /info.
func (c *Client) Info(ctx context.Context) (system.Info, error) {
	cli, err := c.API(ctx)
	if err != nil {
		return system.Info{}, err
	}
	return cli.Info(ctx)
}

// Version is the daemon's version and negotiated API version.
type Version struct{ Server, API string }

// ServerVersion reads /version.
func (c *Client) ServerVersion(ctx context.Context) (Version, error) {
	cli, err := c.API(ctx)
	if err != nil {
		return Version{}, err
	}
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		return Version{}, err
	}
	return Version{Server: v.Version, API: v.APIVersion}, nil
}

// IsNotFound reports whether err is the daemon's "no such object".
func IsNotFound(err error) bool { return err != nil && cerrdefs.IsNotFound(err) }

// NetworkInspect inspects a network by name or ID.
func (c *Client) NetworkInspect(ctx context.Context, nameOrID string) (network.Inspect, error) {
	cli, err := c.API(ctx)
	if err != nil {
		return network.Inspect{}, err
	}
	return cli.NetworkInspect(ctx, nameOrID, network.InspectOptions{})
}

// NetworkByExactName finds a network whose name is exactly name (Docker's name
// filter matches substrings). found is false when there is none.
func (c *Client) NetworkByExactName(ctx context.Context, name string) (network.Inspect, bool, error) {
	cli, err := c.API(ctx)
	if err != nil {
		return network.Inspect{}, false, err
	}
	list, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return network.Inspect{}, false, err
	}
	for _, n := range list {
		if n.Name == name {
			full, err := cli.NetworkInspect(ctx, n.ID, network.InspectOptions{})
			if IsNotFound(err) {
				return network.Inspect{}, false, nil
			}
			return full, err == nil, err
		}
	}
	return network.Inspect{}, false, nil
}

// RunningContainersOn lists, sorted, the names of running containers attached to a network.
func (c *Client) RunningContainersOn(ctx context.Context, networkID string) ([]string, error) {
	cli, err := c.API(ctx)
	if err != nil {
		return nil, err
	}
	list, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("network", networkID), filters.Arg("status", "running"))})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, ct := range list {
		if len(ct.Names) > 0 {
			names = append(names, strings.TrimPrefix(ct.Names[0], "/"))
		} else {
			names = append(names, ct.ID[:12])
		}
	}
	sort.Strings(names)
	return names, nil
}

// RunningContainers counts the daemon's running containers.
func (c *Client) RunningContainers(ctx context.Context) (int, error) {
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.ContainersRunning, nil
}
