package probe

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/trust"
)

// Paths a connection takes from the client to the container.
const (
	PathDNAT   = "dnat"   // the kernel's NAT (iptables/nftables DNAT): the address is kept
	PathProxy  = "proxy"  // a relay accepted it: docker-proxy, or another container (FrontProxy)
	PathRouted = "routed" // the client reached the container's own address (routed IPv6)
	PathHost   = "host"   // the container shares the host's network namespace
	PathNone   = "none"   // refused, or nothing reached the container

	// FamilyBoth measures IPv6 and IPv4 (ContainerOptions.Family only).
	FamilyBoth = "both"

	// routedModeOption is the network option of a routed IPv6 bridge network (Docker 27+).
	routedModeOption = "com.docker.network.bridge.gateway_mode_ipv6"
)

// ContainerOptions says which running container to measure and how.
type ContainerOptions struct {
	Container string        // name or ID of a running container (required)
	Ports     []int         // container ports to measure; nil = every published TCP port
	Family    string        // "ipv6" (default) | "ipv4" | "both": the remote client's family
	Timeout   time.Duration // bounds each port's measurement; default 10s
}

// PortResult is one measured (container port, family, host address).
type PortResult struct {
	Port            int    // the container's TCP port
	Family          string // "ipv6" | "ipv4": the client's family
	HostAddress     string // the address the client connected to (the host's, or the container's own when routed)
	HostPort        int    // the port the client connected to
	Binding         string // the published binding ("0.0.0.0:25", "[::]:25", "[fd00::25]:25"), "" when none
	Path            string // PathDNAT | PathProxy | PathRouted | PathHost | PathNone
	Verdict         string // "preserved" | "masqueraded" | "refused" | "unreachable"
	ObservedAddress string // the peer address the container's accept() returns ("" when none)
	ClientAddress   string // the simulated client's address
	FrontProxy      string // the container whose address was seen (a front proxy), "" otherwise
	Trusted         *bool  // whether the server trusts ObservedAddress; nil = not known (filled by the caller)
	Detail          string // one sentence: what happened and the fix
	Elapsed         time.Duration
}

// ContainerResult is what measuring a container's published ports found.
type ContainerResult struct {
	Container       string       // the container's name (without "/")
	ContainerID     string       // its full ID
	Ports           []PortResult // one row per port, family and host address, sorted
	Verdict         string       // the worst row's: masqueraded, then unreachable, then refused, then preserved
	ObservedAddress string       // the worst row's
	Preserved       bool         // Verdict == "preserved"
	Detail          string       // the worst row's detail, naming its port
	Warnings        []string     // what was asked for and not measured (a port the container does not publish)
	Elapsed         time.Duration
	// Trust is what the container's mail server trusts (VerifyContainer);
	// TrustUnknown, when not "", says why that could not be read.
	Trust        trust.Set
	TrustUnknown string
}

func (o *ContainerOptions) normalize() error {
	if strings.TrimSpace(o.Container) == "" {
		return errors.New("probe: no container given: name the running mail container (name or ID)")
	}
	switch o.Family {
	case "":
		o.Family = FamilyIPv6
	case FamilyIPv6, FamilyIPv4, FamilyBoth:
	default:
		return fmt.Errorf("probe: family must be %q, %q or %q, not %q", FamilyIPv6, FamilyIPv4, FamilyBoth, o.Family)
	}
	for _, p := range o.Ports {
		if p < 1 || p > 65535 {
			return fmt.Errorf("probe: port %d of container %q is out of range (1-65535)", p, o.Container)
		}
	}
	o.Ports = slices.Compact(slices.Sorted(slices.Values(o.Ports)))
	if o.Timeout < 0 {
		return fmt.Errorf("probe: negative timeout %s", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return nil
}

func (o ContainerOptions) families() []string {
	if o.Family == FamilyBoth {
		return []string{FamilyIPv6, FamilyIPv4}
	}
	return []string{o.Family}
}

// MeasureContainer measures what a running container sees on its own
// published TCP ports, without touching it: no image, no exec, nothing
// written into it, no container started. From a simulated remote client with
// fresh addresses it connects to every published port on every host address
// the port is bound to, reads the peer address of the accepted connection
// from inside the container's network namespace (netlink sock_diag: the
// address the server's accept() returns), and resets the connection at once
// without sending data. It must run on the Docker host itself (it needs the
// container's network namespace, CAP_NET_ADMIN and CAP_SYS_ADMIN).
//
// A verdict is a result, not an error: errors are for what made the
// measurement impossible (no such container, not running, nothing published).
func MeasureContainer(ctx context.Context, cli client.APIClient, o ContainerOptions) (res ContainerResult, err error) {
	if err := o.normalize(); err != nil {
		return res, err
	}
	start := time.Now()
	_ = cleanupLinksAndNetns() // best effort: leftovers of a killed run must not stop a measurement
	t, err := inspectTarget(ctx, cli, o)
	if err != nil {
		return res, err
	}
	res.Container, res.ContainerID, res.Warnings = t.name, t.id, t.warnings

	ns, err := openNetns(t.pid)
	if err != nil {
		return res, fmt.Errorf("probe: container %q: %w", t.name, err)
	}
	defer ns.Close()

	rc, err := newRemoteClient(ctx, "") // fresh addresses every run: a ban never decides the next verdict
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return res, fmt.Errorf("probe: simulated remote client needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN): %w", err)
		}
		return res, fmt.Errorf("probe: simulated remote client: %w", err)
	}
	defer func() {
		if cerr := rc.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	if err := rc.addDefaultRoutes(); err != nil {
		return res, fmt.Errorf("probe: simulated remote client: %w", err)
	}
	res.Ports = measureTargets(ctx, ns, rc, t, t.targets(rc, o.families()), o.Timeout)
	if perr := ctx.Err(); perr != nil {
		return ContainerResult{}, fmt.Errorf("probe: container %q: %w", t.name, perr)
	}
	res.summarize()
	res.Elapsed = time.Since(start)
	return res, nil
}

// summarize sets the overall verdict from the worst row.
func (r *ContainerResult) summarize() {
	if len(r.Ports) == 0 {
		return
	}
	worst := slices.MinFunc(r.Ports, worseRow)
	r.Verdict, r.ObservedAddress = worst.Verdict, worst.ObservedAddress
	r.Preserved = worst.Verdict == VerdictPreserved
	r.Detail = fmt.Sprintf("Port %d/tcp (%s, %s): %s", worst.Port, familyName(worst.Family), hostPortText(worst.HostAddress, worst.HostPort), worst.Detail)
}

// verdictRank orders verdicts from the worst (0) to the best.
func verdictRank(v string) int {
	switch v {
	case VerdictMasqueraded:
		return 0
	case VerdictUnreachable:
		return 1
	case VerdictRefused:
		return 2
	case VerdictPreserved:
		return 3
	}
	return -1
}

func familyName(f string) string {
	if f == FamilyIPv4 {
		return "IPv4"
	}
	return "IPv6"
}

func hostPortText(addr string, port int) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return net.JoinHostPort(addr, strconv.Itoa(port))
	}
	return netip.AddrPortFrom(a, uint16(port)).String()
}

// binding is one published host binding of a container port.
type binding struct {
	port     int        // container port
	hostIP   netip.Addr // invalid = wildcard of fam
	fam      string
	hostPort int
	text     string
	via      string // the other container that publishes the port, "" = the container itself
}

// target is what one row connects to.
type rowTarget struct {
	port     int
	fam      string
	addr     netip.Addr
	hostPort int
	binding  string
	path     string // the path a preserved address means: PathDNAT, PathRouted or PathHost
	via      string
}

// measuredContainer is what inspecting the container gave.
type measuredContainer struct {
	id, name string
	pid      int
	host     bool // host network mode
	ports    []int
	binds    []binding
	routed6  netip.Addr // the container's own IPv6 address when its IPv6 network is routed
	netName  string     // the network named in verdict details
	others   map[netip.Addr]string
	warnings []string
}

// inspectTarget reads the container, its published TCP ports and networks,
// and the addresses of the other containers (to name a front proxy).
func inspectTarget(ctx context.Context, cli client.APIClient, o ContainerOptions) (*measuredContainer, error) {
	ctr, err := cli.ContainerInspect(ctx, o.Container)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("probe: no container %q on this Docker host: check the name or ID (docker ps)", o.Container)
		}
		return nil, fmt.Errorf("probe: inspect container %q: %w", o.Container, err)
	}
	t := &measuredContainer{id: ctr.ID, name: strings.TrimPrefix(ctr.Name, "/")}
	if ctr.State == nil || !ctr.State.Running || ctr.State.Pid <= 0 {
		status := "not running"
		if ctr.State != nil {
			status = ctr.State.Status
		}
		return nil, fmt.Errorf("probe: container %q is not running (%s): start it to measure its ports, or measure its network (network instead of container) until it runs", t.name, status)
	}
	if ctr.State.Paused {
		return nil, fmt.Errorf("probe: container %q is paused: unpause it to measure its ports", t.name)
	}
	t.pid = ctr.State.Pid
	t.host = ctr.HostConfig != nil && ctr.HostConfig.NetworkMode.IsHost()
	others, err := otherContainers(ctx, cli, ctr.ID)
	if err != nil {
		return nil, err
	}
	t.others = others
	if t.host {
		t.netName = "host"
		return t, t.hostPorts(ctr, o.Ports)
	}
	if err := t.readNetworks(ctx, cli, ctr, min(o.Timeout/2, 3*time.Second)); err != nil {
		return nil, err
	}
	return t, t.publishedPorts(ctx, cli, ctr, o.Ports)
}

// hostPorts: a host-network container publishes nothing; its ports are the
// ones asked for, else the ones its image exposes.
func (t *measuredContainer) hostPorts(ctr container.InspectResponse, want []int) error {
	ports := slices.Clone(want)
	if len(ports) == 0 && ctr.Config != nil {
		for p := range ctr.Config.ExposedPorts {
			if p.Proto() == "tcp" {
				ports = append(ports, p.Int())
			}
		}
	}
	if len(ports) == 0 {
		return fmt.Errorf("probe: container %q uses the host network and exposes no TCP port: name the ports to measure (ports = [25, 465, 587])", t.name)
	}
	slices.Sort(ports)
	t.ports = slices.Compact(ports)
	return nil
}

// publishedPorts lists the container's published TCP bindings, limited to want.
func (t *measuredContainer) publishedPorts(ctx context.Context, cli client.APIClient, ctr container.InspectResponse, want []int) error {
	var pm nat.PortMap
	if ctr.NetworkSettings != nil {
		pm = ctr.NetworkSettings.Ports
	}
	published := map[int]bool{}
	for p, bs := range pm {
		if p.Proto() != "tcp" || len(bs) == 0 {
			continue
		}
		cp := p.Int()
		published[cp] = true
		if len(want) > 0 && !slices.Contains(want, cp) {
			continue
		}
		for _, b := range bs {
			t.binds = append(t.binds, parseBinding(cp, b))
		}
	}
	if len(published) == 0 && len(want) == 0 {
		return fmt.Errorf("probe: container %q publishes no TCP port: publish its mail ports (-p 25:25, ports in compose), or name the ports a front proxy forwards to it (ports = [25])", t.name)
	}
	for _, p := range want {
		if published[p] {
			continue
		}
		via, err := publishedByOther(ctx, cli, ctr.ID, p)
		if err != nil {
			return err
		}
		if len(via) == 0 {
			t.warnings = append(t.warnings, fmt.Sprintf("Container %q does not publish port %d/tcp, and no other container publishes host port %d: port %d is not measured; publish it, or leave it out of ports.", t.name, p, p, p))
			continue
		}
		t.binds = append(t.binds, via...)
	}
	if len(t.binds) == 0 {
		return fmt.Errorf("probe: container %q publishes none of the ports asked for (%s): it publishes %s", t.name, portList(want), portList(slices.Sorted(maps.Keys(published))))
	}
	slices.SortFunc(t.binds, func(a, b binding) int {
		if a.port != b.port {
			return a.port - b.port
		}
		return strings.Compare(a.text, b.text)
	})
	for _, b := range t.binds {
		t.ports = append(t.ports, b.port)
	}
	t.ports = slices.Compact(t.ports)
	return nil
}

func portList(ps []int) string {
	if len(ps) == 0 {
		return "none"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(p) + "/tcp"
	}
	return strings.Join(s, ", ")
}

// parseBinding reads one published binding: "0.0.0.0" is the IPv4 wildcard,
// "::" the IPv6 one, "" both (a daemon reports it only as two bindings).
func parseBinding(port int, b nat.PortBinding) binding {
	hp, _ := strconv.Atoi(b.HostPort)
	out := binding{port: port, hostPort: hp}
	a, err := netip.ParseAddr(strings.Trim(b.HostIP, "[]"))
	switch {
	case err != nil: // "": both wildcards
		out.fam = FamilyBoth
		out.text = fmt.Sprintf("*:%d", hp)
	case a.IsUnspecified():
		out.fam = FamilyIPv4
		if a.Is6() {
			out.fam = FamilyIPv6
		}
		out.text = netip.AddrPortFrom(a, uint16(hp)).String()
	default:
		a = a.Unmap()
		out.hostIP, out.fam = a, FamilyIPv4
		if a.Is6() {
			out.fam = FamilyIPv6
		}
		out.text = netip.AddrPortFrom(a, uint16(hp)).String()
	}
	return out
}

// publishedByOther: the bindings of another running container that publishes
// host port p (a front proxy that may forward it to this container).
func publishedByOther(ctx context.Context, cli client.APIClient, self string, p int) ([]binding, error) {
	list, err := cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("probe: list containers: %w", err)
	}
	var out []binding
	for _, c := range list {
		if c.ID == self {
			continue
		}
		for _, cp := range c.Ports {
			if cp.Type != "tcp" || int(cp.PublicPort) != p {
				continue
			}
			b := parseBinding(p, nat.PortBinding{HostIP: cp.IP, HostPort: strconv.Itoa(int(cp.PublicPort))})
			b.via = containerName(c.Names, c.ID)
			out = append(out, b)
		}
	}
	return out, nil
}

func containerName(names []string, id string) string {
	if len(names) > 0 {
		return strings.TrimPrefix(names[0], "/")
	}
	return id[:min(12, len(id))]
}

// readNetworks notes the container's IPv6 address on a routed IPv6 network,
// and waits (at most settle) until the IPv6 addresses of its networks are usable.
func (t *measuredContainer) readNetworks(ctx context.Context, cli client.APIClient, ctr container.InspectResponse, settle time.Duration) error {
	if ctr.NetworkSettings == nil {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(ctr.NetworkSettings.Networks)) {
		ep := ctr.NetworkSettings.Networks[name]
		if ep == nil {
			continue
		}
		if t.netName == "" {
			t.netName = name
		}
		own, ok := parseAddr(ep.GlobalIPv6Address)
		if !ok {
			continue
		}
		id := ep.NetworkID
		if id == "" {
			id = name
		}
		nw, err := cli.NetworkInspect(ctx, id, network.InspectOptions{})
		if err != nil {
			return fmt.Errorf("probe: container %q: inspect its network %q: %w", t.name, name, err)
		}
		// Measure the settled state a long-running mail host has, not the
		// first second of a fresh network (see waitIPv6Settled).
		waitIPv6Settled(ctx, nw, ctr, settle)
		if nw.Options[routedModeOption] == "routed" && !nw.Internal && routedSupported(ctx, cli) {
			t.netName = name
			t.routed6 = own
		}
	}
	return nil
}

// routedSupported: the daemon implements routed IPv6 networks (27+; an older
// one stores the option and ignores it).
func routedSupported(ctx context.Context, cli client.APIClient) bool {
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		return false
	}
	major, _ := strconv.Atoi(strings.SplitN(v.Version, ".", 2)[0])
	return major >= 27
}

// otherContainers maps every address of the other running containers to their names.
func otherContainers(ctx context.Context, cli client.APIClient, self string) (map[netip.Addr]string, error) {
	list, err := cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("probe: list containers: %w", err)
	}
	out := map[netip.Addr]string{}
	for _, c := range list {
		if c.ID == self || c.NetworkSettings == nil {
			continue
		}
		for _, ep := range c.NetworkSettings.Networks {
			if ep == nil {
				continue
			}
			for _, s := range []string{ep.IPAddress, ep.GlobalIPv6Address} {
				if a, ok := parseAddr(s); ok {
					out[a] = containerName(c.Names, c.ID)
				}
			}
		}
	}
	return out, nil
}

// targets lists what to connect to, one per row: for each port and family,
// every specific host address the port is bound to, and the client's
// host-side address for a wildcard binding or for a family the port is not
// published for (to show what a client of the host's address gets there).
// On a routed IPv6 network IPv6 clients connect to the container's own address.
func (t *measuredContainer) targets(rc *RemoteClient, fams []string) []rowTarget {
	var out []rowTarget
	for _, port := range t.ports {
		for _, fam := range fams {
			_, hostSide := rc.Addrs(fam)
			if t.host {
				out = append(out, rowTarget{port: port, fam: fam, addr: hostSide, hostPort: port, path: PathHost})
				continue
			}
			if own := t.routed6; own.IsValid() && fam == FamilyIPv6 {
				out = append(out, rowTarget{port: port, fam: fam, addr: own, hostPort: port, path: PathRouted})
				for _, b := range t.binds {
					if b.port == port && b.fam == fam && b.hostIP.IsValid() {
						out = append(out, rowTarget{port: port, fam: fam, addr: b.hostIP, hostPort: b.hostPort, binding: b.text, path: PathDNAT, via: b.via})
					}
				}
				continue
			}
			var wild, other *binding
			for i, b := range t.binds {
				if b.port != port {
					continue
				}
				switch {
				case b.fam == fam && b.hostIP.IsValid():
					out = append(out, rowTarget{port: port, fam: fam, addr: b.hostIP, hostPort: b.hostPort, binding: b.text, path: PathDNAT, via: b.via})
				case b.fam == fam || b.fam == FamilyBoth:
					if wild == nil {
						wild = &t.binds[i]
					}
				case other == nil:
					other = &t.binds[i]
				}
			}
			switch {
			case wild != nil:
				out = append(out, rowTarget{port: port, fam: fam, addr: hostSide, hostPort: wild.hostPort, binding: wild.text, path: PathDNAT, via: wild.via})
			case !slices.ContainsFunc(out, func(r rowTarget) bool { return r.port == port && r.fam == fam }) && other != nil:
				// Published for the other family only: what does this family's client get?
				out = append(out, rowTarget{port: port, fam: fam, addr: hostSide, hostPort: other.hostPort, path: PathDNAT, via: other.via})
			}
		}
	}
	return out
}

// hostAddresses are the addresses of this network namespace (the gateways of
// Docker's bridges among them): a connection seen from one of them was relayed.
func hostAddresses() map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	addrs, _ := netlink.AddrList(nil, netlink.FAMILY_ALL)
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			out[ip.Unmap()] = true
		}
	}
	return out
}

// maxParallelPorts bounds how many container ports are measured at once.
const maxParallelPorts = 8

// measureTargets measures the rows of different container ports at the same
// time (a socket is told apart by its container port, so they cannot be
// confused) and the rows of one port one after the other, so that a firewall
// that drops packets costs about one timeout per row of a port, not one per
// row. The rows come back in the order of targets.
func measureTargets(ctx context.Context, ns *containerNetns, rc *RemoteClient, t *measuredContainer, targets []rowTarget, timeout time.Duration) []PortResult {
	local := hostAddresses()
	rows := make([]PortResult, len(targets))
	byPort := map[int][]int{}
	var order []int
	for i, tg := range targets {
		if _, ok := byPort[tg.port]; !ok {
			order = append(order, tg.port)
		}
		byPort[tg.port] = append(byPort[tg.port], i)
	}
	sem := make(chan struct{}, maxParallelPorts)
	var wg sync.WaitGroup
	for _, port := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, i := range byPort[port] {
				rows[i] = measureTarget(ctx, ns, rc, t, targets[i], local, timeout)
			}
		}()
	}
	wg.Wait()
	return rows
}

// measureTarget connects once and classifies what the container saw.
func measureTarget(ctx context.Context, ns *containerNetns, rc *RemoteClient, t *measuredContainer, tg rowTarget, local map[netip.Addr]bool, timeout time.Duration) PortResult {
	start := time.Now()
	row := PortResult{Port: tg.port, Family: tg.fam, HostAddress: tg.addr.String(), HostPort: tg.hostPort, Binding: tg.binding}
	client, _ := rc.Addrs(tg.fam)
	row.ClientAddress = client.String()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	relay := func(a netip.Addr) bool { return local[a] || t.others[a] != "" }
	seen, err := observe(ctx, ns, rc, netip.AddrPortFrom(tg.addr, uint16(tg.hostPort)), tg.port, relay)
	m := measurement{family: tg.fam, network: t.netName, client: client, target: netip.AddrPortFrom(tg.addr, uint16(tg.hostPort)), timeout: timeout}
	if seen.local.IsValid() {
		client = seen.local.Addr()
		row.ClientAddress = client.String()
	}
	switch {
	case err != nil:
		row.Path, row.Verdict = PathNone, VerdictUnreachable
		row.Detail = fmt.Sprintf("The measurement failed: %v.", err)
	case seen.dialErr != nil:
		m.exchange = exchangeResult{dialErr: seen.dialErr}
		v, cerr := m.classify()
		row.Path, row.Verdict, row.Detail = PathNone, v.verdict, v.detail
		if cerr != nil {
			row.Verdict, row.Detail = VerdictUnreachable, fmt.Sprintf("Connecting failed: %v.", cerr)
		}
	case !seen.peer.IsValid():
		row.Path, row.Verdict = PathNone, VerdictUnreachable
		row.Detail = fmt.Sprintf("TCP connected from %s to %s, but no connection reached the container within %s: something holds the port without relaying to the container (Docker 20.10 with userland-proxy off keeps such a listening reservation), so clients hang instead of falling back%s", client, m.target, timeout, m.unreachableFix())
	default:
		row.ObservedAddress = seen.peer.String()
		row.classifyPeer(m, tg, t, seen.peer, client, local)
	}
	row.Elapsed = time.Since(start)
	return row
}

// classifyPeer sets path, verdict and detail from the address the container saw.
func (row *PortResult) classifyPeer(m measurement, tg rowTarget, t *measuredContainer, peer, client netip.Addr, local map[netip.Addr]bool) {
	fam := familyName(tg.fam)
	if peer == client {
		row.Path, row.Verdict = tg.path, VerdictPreserved
		how := map[string]string{PathDNAT: "through the kernel's NAT", PathRouted: "at its own address (routed)", PathHost: "on the host network"}[tg.path]
		row.Detail = fmt.Sprintf("The container saw the %s client %s as itself (%s), so Fail2Ban, SPF and relay restrictions work on real client addresses.", fam, client, how)
		return
	}
	row.Verdict = VerdictMasqueraded
	if name, ok := t.others[peer]; ok {
		row.Path, row.FrontProxy = PathProxy, name
		row.Detail = fmt.Sprintf("The container saw the %s client %s as %s, the address of container %q: a front proxy accepts the connection in its place, so the mail server sees the proxy instead of the client unless the proxy passes the client on (PROXY protocol, with the server trusting only the proxy's address).", fam, client, peer, name)
		return
	}
	row.Path = PathDNAT // a source NAT rule rewrote it
	if local[peer] {
		row.Path = PathProxy // docker-proxy (or another host process) relayed it
	}
	m.gateways = slices.Collect(func(yield func(string) bool) {
		for a := range local {
			if !yield(a.String()) {
				return
			}
		}
	})
	m.exchange = exchangeResult{connected: true, local: client, answer: peer.String()}
	if v, err := m.classify(); err == nil {
		row.Detail = v.detail
	}
	if tg.via != "" {
		row.Detail += fmt.Sprintf(" Host port %d is published by container %q, not by this one.", tg.hostPort, tg.via)
	}
}
