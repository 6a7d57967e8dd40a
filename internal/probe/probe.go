package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Families, client kinds and verdicts.
const (
	FamilyIPv6 = "ipv6"
	FamilyIPv4 = "ipv4"

	ClientRemote = "remote"
	ClientLocal  = "local"

	VerdictPreserved   = "preserved"
	VerdictMasqueraded = "masqueraded"
	VerdictRefused     = "refused"
	VerdictUnreachable = "unreachable"

	// DefaultTimeout bounds a measurement when Options.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// DefaultNetwork is Docker's default bridge network.
	DefaultNetwork = "bridge"

	// prepareTimeout bounds what comes before a measurement: removing leftovers
	// of an earlier run and making the probe image when it is missing.
	prepareTimeout = 2 * time.Minute
	// cleanupTimeout bounds the removal of what a measurement created, which
	// runs on a fresh context even when the caller's is cancelled.
	cleanupTimeout = 30 * time.Second
)

// Options says what to measure.
type Options struct {
	Network  string        // name or ID; "" = Docker's default bridge ("bridge")
	Family   string        // "ipv6" (default) | "ipv4"
	Client   string        // "remote" (default) | "local"
	HostPort int           // 0 = pick a port that is free on the host for both families
	Timeout  time.Duration // default 10s; bounds the measurement (not making the probe image first)
	Binary   string        // static binary that has the probe-server mode; default os.Executable()
}

// Result is what a measurement found.
type Result struct {
	ClientAddress    string   // the address the client connected from
	ObservedAddress  string   // the address the container saw ("" when nothing was seen)
	GatewayAddresses []string // the network's gateways (IPv4 and IPv6)
	Verdict          string   // "preserved" | "masqueraded" | "refused" | "unreachable"
	Detail           string   // one sentence: what happened and the fix
	Elapsed          time.Duration
}

func (o *Options) normalize() error {
	if o.Network == "" {
		o.Network = DefaultNetwork
	}
	switch o.Family {
	case "":
		o.Family = FamilyIPv6
	case FamilyIPv6, FamilyIPv4:
	default:
		return fmt.Errorf("probe: family must be %q or %q, not %q", FamilyIPv6, FamilyIPv4, o.Family)
	}
	switch o.Client {
	case "":
		o.Client = ClientRemote
	case ClientRemote, ClientLocal:
	default:
		return fmt.Errorf("probe: client must be %q or %q, not %q", ClientRemote, ClientLocal, o.Client)
	}
	if o.HostPort < 0 || o.HostPort > 65535 {
		return fmt.Errorf("probe: host port %d is out of range", o.HostPort)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("probe: negative timeout %s", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("probe: find own binary: %w", err)
		}
		o.Binary = exe
	}
	return nil
}

// Run measures which address a container on o.Network sees when a client
// connects to its published port, and cleans up everything it created on
// every path. A verdict is a result, not an error: errors are for what made
// the measurement impossible (Docker unreachable, no such network, no
// permission to create the client namespace, the caller's ctx ended).
func Run(ctx context.Context, cli client.APIClient, o Options) (res Result, err error) {
	if err := o.normalize(); err != nil {
		return res, err
	}
	parent := ctx
	defer func() {
		if err != nil {
			res = Result{}
			if perr := parent.Err(); perr != nil && !errors.Is(err, perr) {
				err = fmt.Errorf("%w (%w)", err, perr)
			}
		}
	}()

	// Preparing is not measuring: leftovers of an earlier run and the probe image
	// (made once per host) get their own bound, so that a busy host importing the
	// image does not use up the measurement's budget.
	prep, cancelPrep := context.WithTimeout(parent, prepareTimeout)
	_ = Cleanup(prep, cli) // best effort: leftovers must not stop a measurement
	tag, err := EnsureImage(prep, cli, o.Binary)
	cancelPrep()
	if err != nil {
		return res, fmt.Errorf("probe: %w", err)
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(parent, o.Timeout)
	defer cancel()
	nw, err := cli.NetworkInspect(ctx, o.Network, network.InspectOptions{})
	if err != nil {
		return res, fmt.Errorf("probe: inspect network %q: %w", o.Network, err)
	}
	if name := bridgeName(nw); name != "" {
		if _, err := netlink.LinkByName(name); err != nil {
			return res, fmt.Errorf("probe: bridge %s of network %q is not in this network namespace (%v): the probe connects from the Docker host itself, so it must run there, not through a remote DOCKER_HOST", name, o.Network, err)
		}
	}
	port := o.HostPort
	if port == 0 {
		if port, err = freePort(); err != nil {
			return res, fmt.Errorf("probe: %w", err)
		}
		defer releasePort(port)
	}

	name := NamePrefix + randomHex(4)
	register("c/" + name)
	defer func() {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if rerr := removeContainer(bg, cli, name); rerr != nil {
			err = errors.Join(err, rerr)
		}
		unregister("c/" + name)
	}()
	ctr, err := startProbe(ctx, cli, tag, nw.ID, name, port, o.Timeout+cleanupTimeout)
	if err != nil {
		return res, fmt.Errorf("probe: %w", err)
	}
	res.GatewayAddresses = gatewayAddresses(nw, ctr)
	if o.Family == FamilyIPv6 {
		// Measure the settled state a long-running mail host has, not the
		// first second of a fresh network (see waitIPv6Settled).
		waitIPv6Settled(ctx, nw, ctr, time.Until(deadlineOf(ctx))/2)
	}

	var (
		dial       func(context.Context, string, string) (net.Conn, error)
		clientAddr netip.Addr
		target     netip.Addr
	)
	if o.Client == ClientRemote {
		var rc *RemoteClient
		if rc, err = newRemoteClient(ctx, o.Network+"/"+o.Family); err != nil {
			if errors.Is(err, unix.EPERM) {
				return res, fmt.Errorf("probe: simulated remote client needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN); use client = %q to measure from the host itself: %w", ClientLocal, err)
			}
			return res, fmt.Errorf("probe: simulated remote client: %w", err)
		}
		defer func() {
			if cerr := rc.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}()
		clientAddr, target = rc.Addrs(o.Family)
		dial = rc.DialContext
	} else {
		clientAddr, target = netip.IPv6Loopback(), netip.IPv6Loopback()
		if o.Family == FamilyIPv4 {
			clientAddr, target = netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		var d net.Dialer
		dial = d.DialContext
	}
	budget := time.Until(deadlineOf(ctx))
	ex := exchange(ctx, dial, netip.AddrPortFrom(target, uint16(port)))
	if perr := parent.Err(); perr != nil {
		return res, fmt.Errorf("probe: %w", perr)
	}
	m := measurement{
		family: o.Family, local: o.Client == ClientLocal, network: o.Network,
		client: clientAddr, target: netip.AddrPortFrom(target, uint16(port)),
		gateways: res.GatewayAddresses, timeout: o.Timeout, exchange: ex,
	}
	v, err := m.classify()
	if err != nil {
		return res, fmt.Errorf("probe: %w", err)
	}
	if v.verdict == VerdictUnreachable && ctx.Err() != nil && budget < min(2*time.Second, o.Timeout/2) {
		// The time-out hit a connection that hardly had a chance: no verdict.
		return res, fmt.Errorf("probe: out of time: setting up took %s of the %s timeout, leaving %s for the connection; raise the timeout",
			(o.Timeout - budget).Round(time.Millisecond), o.Timeout, budget.Round(time.Millisecond))
	}
	res.ClientAddress = v.client.String()
	res.ObservedAddress, res.Verdict, res.Detail = v.observed, v.verdict, v.detail
	res.Elapsed = time.Since(start)
	return res, nil
}

// startProbe creates and starts the probe container and returns once its
// server listens. The server exits after lifetime and the daemon then removes
// the container (--rm), so that a run that was killed leaves nothing holding
// the host port for longer than that.
func startProbe(ctx context.Context, cli client.APIClient, image, networkID, name string, hostPort int, lifetime time.Duration) (container.InspectResponse, error) {
	cport := nat.Port(fmt.Sprintf("%d/tcp", ContainerPort))
	cfg := &container.Config{
		Image:        image,
		Entrypoint:   []string{BinaryPath, ServerArg, fmt.Sprintf(":%d", ContainerPort), exitAfterArg + lifetime.String()},
		ExposedPorts: nat.PortSet{cport: {}},
		Labels:       map[string]string{LabelKey: "1", OwnerLabel: selfOwner()},
		AttachStdout: true,
		AttachStderr: true,
	}
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(networkID),
		// No host IP, like "25:25" in a compose file: the daemon binds 0.0.0.0 and [::].
		PortBindings: nat.PortMap{cport: []nat.PortBinding{{HostPort: strconv.Itoa(hostPort)}}},
		AutoRemove:   true,
	}
	// Create and start run to completion even when ctx ends meanwhile: the
	// daemon may still create a container after its client gave up on the
	// request, after the deferred removal looked for it.
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	created, err := cli.ContainerCreate(opCtx, cfg, hc, nil, nil, name)
	if err != nil {
		return container.InspectResponse{}, fmt.Errorf("create probe container: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return container.InspectResponse{}, err
	}
	// Attach before start (as docker run does) to see the "listening" line the
	// moment it is written; without attach, fall back to polling the state.
	hj, aerr := cli.ContainerAttach(ctx, created.ID, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if aerr == nil {
		defer hj.Close()
	}
	if err := cli.ContainerStart(opCtx, created.ID, container.StartOptions{}); err != nil {
		return container.InspectResponse{}, fmt.Errorf("start probe container on port %d: %w", hostPort, err)
	}
	if err := ctx.Err(); err != nil {
		return container.InspectResponse{}, err
	}
	if aerr == nil {
		if err := waitReady(ctx, hj.Reader, hj.Close); err != nil {
			return container.InspectResponse{}, probeExitError(cli, created.ID, err)
		}
	}
	for delay := 2 * time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		ctr, err := cli.ContainerInspect(ctx, created.ID)
		if err != nil {
			return ctr, fmt.Errorf("inspect probe container: %w", err)
		}
		if ctr.State != nil && ctr.State.Running {
			return ctr, nil
		}
		if ctr.State != nil && ctr.State.Status != "created" {
			return ctr, probeExitError(cli, created.ID, errors.New("probe container is not running"))
		}
		select {
		case <-ctx.Done():
			return ctr, fmt.Errorf("probe container did not start: %w", ctx.Err())
		case <-time.After(delay):
		}
	}
}

func deadlineOf(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(DefaultTimeout)
}

// bridgeName is the Linux bridge of a Docker bridge network ("" for other drivers).
func bridgeName(nw network.Inspect) string {
	if nw.Driver != "bridge" {
		return ""
	}
	if n := nw.Options["com.docker.network.bridge.name"]; n != "" {
		return n
	}
	if nw.Name == DefaultNetwork {
		return "docker0"
	}
	if len(nw.ID) >= 12 {
		return "br-" + nw.ID[:12]
	}
	return ""
}

// waitIPv6Settled waits, at most limit, until the IPv6 addresses (other than
// link-local ones) on the network's bridge, in the current network namespace
// (the daemon's), and inside the container, whose namespace is reached
// through its PID, are usable: past duplicate address detection, and routed
// as local addresses (the kernel installs that route from a work queue after
// the link comes up). Until then packets to them are dropped and other source
// addresses are chosen, so a connection would cost a 1 s SYN retransmission or
// show a transient source. Whatever cannot be looked at (another PID
// namespace) is not waited for.
func waitIPv6Settled(ctx context.Context, nw network.Inspect, ctr container.InspectResponse, limit time.Duration) {
	var checks []func() bool // true while not settled
	if link, err := netlink.LinkByName(bridgeName(nw)); err == nil {
		checks = append(checks, func() bool {
			addrs, err := netlink.AddrList(link, netlink.FAMILY_V6)
			return err == nil && !usable(addrs, netlink.RouteGet, true)
		})
	}
	if ctr.State != nil && ctr.State.Pid > 0 {
		if ns, err := netns.GetFromPid(ctr.State.Pid); err == nil {
			defer ns.Close()
			if h, err := netlink.NewHandleAt(ns); err == nil {
				defer h.Close()
				checks = append(checks, func() bool {
					addrs, err := h.AddrList(nil, netlink.FAMILY_V6)
					return err == nil && !usable(addrs, h.RouteGet, false)
				})
			}
		}
	}
	deadline := time.Now().Add(limit)
	for _, unsettled := range checks {
		for delay := time.Millisecond; unsettled() && time.Now().Before(deadline); delay = min(2*delay, 20*time.Millisecond) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
		}
	}
}

// usable: no address is tentative and every one routes as local. Link-local
// addresses count only with linkLocal and only next to a global (or ULA) one:
// a bridge forwarding to its containers solicits their MAC addresses from its
// link-local address, and while that is tentative the first solicitation of a
// forwarded connection goes unanswered (1 s). A bridge with only a link-local
// address (an IPv4-only network) has nothing to wait for.
func usable(addrs []netlink.Addr, routeGet func(net.IP) ([]netlink.Route, error), linkLocal bool) bool {
	global := slices.ContainsFunc(addrs, func(a netlink.Addr) bool { return !a.IP.IsLinkLocalUnicast() && !a.IP.IsLoopback() })
	for _, a := range addrs {
		if a.IP.IsLoopback() || a.Flags&unix.IFA_F_DADFAILED != 0 {
			continue
		}
		if a.IP.IsLinkLocalUnicast() && (!linkLocal || !global) {
			continue
		}
		if a.Flags&unix.IFA_F_TENTATIVE != 0 {
			return false
		}
		if r, err := routeGet(a.IP); err != nil || len(r) == 0 || r[0].Type != unix.RTN_LOCAL {
			return false
		}
	}
	return true
}

// waitReady reads the container's multiplexed output until the server says it listens.
func waitReady(ctx context.Context, r io.Reader, closeFn func()) error {
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, r)
		if err == nil {
			err = io.EOF
		}
		pw.CloseWithError(err)
	}()
	stop := context.AfterFunc(ctx, func() { closeFn(); pr.CloseWithError(ctx.Err()) })
	defer stop()
	defer pr.Close()
	sc := bufio.NewScanner(pr)
	var out []string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, readyLine) {
			return nil
		}
		if len(out) < 5 {
			out = append(out, line)
		}
	}
	err := sc.Err()
	if err == nil {
		err = io.EOF
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	if len(out) > 0 {
		return fmt.Errorf("probe server did not start (%w): %s", err, strings.Join(out, "; "))
	}
	return fmt.Errorf("probe server did not start: %w", err)
}

func probeExitError(cli client.APIClient, id string, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctr, err := cli.ContainerInspect(ctx, id)
	if err != nil || ctr.State == nil {
		return cause
	}
	s := ctr.State
	if s.Running {
		return cause
	}
	msg := fmt.Sprintf("probe container %s (exit code %d", s.Status, s.ExitCode)
	if s.Error != "" {
		msg += ": " + s.Error
	}
	return fmt.Errorf("%s): %w", msg, cause)
}

// gatewayAddresses collects the IPv4 and IPv6 gateways of the network from its
// IPAM configuration and from the container's endpoint (which is where the
// default bridge reports them), in canonical form, sorted.
func gatewayAddresses(nw network.Inspect, ctr container.InspectResponse) []string {
	var raw []string
	for _, c := range nw.IPAM.Config {
		raw = append(raw, c.Gateway)
	}
	if ns := ctr.NetworkSettings; ns != nil {
		raw = append(raw, ns.Gateway, ns.IPv6Gateway) //nolint:staticcheck // deprecated, but where old daemons put the default bridge's gateways
		for _, ep := range ns.Networks {
			if ep != nil && (ep.NetworkID == "" || ep.NetworkID == nw.ID) {
				raw = append(raw, ep.Gateway, ep.IPv6Gateway)
			}
		}
	}
	var out []string
	for _, g := range raw {
		if a, ok := parseAddr(g); ok && !slices.Contains(out, a.String()) {
			out = append(out, a.String())
		}
	}
	slices.Sort(out)
	return out
}

// parseAddr parses an address, possibly written as a CIDR or with a zone, unmapped.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// freePort returns a TCP port that was free on 0.0.0.0 and on [::] a moment
// ago (both listeners are closed again before it returns) and that no other
// measurement of this process uses.
func freePort() (int, error) {
	for range 100 {
		l4, err := net.Listen("tcp4", "0.0.0.0:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		p := l4.Addr().(*net.TCPAddr).Port
		l6, err := net.Listen("tcp6", fmt.Sprintf("[::]:%d", p))
		l4.Close()
		if err == nil {
			l6.Close()
		} else if !errors.Is(err, unix.EAFNOSUPPORT) && !errors.Is(err, unix.EADDRNOTAVAIL) {
			continue // taken on IPv6; try another
		}
		if reservePort(p) {
			return p, nil
		}
	}
	return 0, errors.New("find a free port: no port free on both IPv4 and IPv6")
}

func reservePort(p int) bool {
	registry.Lock()
	defer registry.Unlock()
	if registry.ports[p] {
		return false
	}
	registry.ports[p] = true
	return true
}

func releasePort(p int) {
	registry.Lock()
	defer registry.Unlock()
	delete(registry.ports, p)
}
