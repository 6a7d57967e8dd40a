package probe_test

// Measurements against the sandbox's real dockerd. They fail (never skip)
// outside the sandbox:
//
//	go build -o /tmp/sbx ./internal/sandbox/cmd/dockeripv6-sandbox
//	/tmp/sbx [--engine 20|29] -- go test ./internal/probe/ -count=1 -v
//
// This is an external test package so that it can use internal/sandbox even
// if that package comes to import probe (its test helper reuses NewRemoteClient).

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/vishvananda/netlink"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

func dockerClient(t testing.TB) *client.Client {
	t.Helper()
	sandbox.Require(t)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sandbox.WaitDocker(ctx, sandbox.DockerSocket); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { assertNoLeftovers(t, cli) })
	return cli
}

func serverMajor(t testing.TB, cli client.APIClient) int {
	t.Helper()
	v, err := cli.ServerVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	major, _ := strconv.Atoi(strings.SplitN(v.Version, ".", 2)[0])
	return major
}

// leftovers lists what of the probe exists: labelled containers, namespaces, veth links.
func leftovers(t testing.TB, cli client.APIClient) []string {
	t.Helper()
	var out []string
	list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", probe.LabelKey+"=1"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		out = append(out, "container "+strings.Join(c.Names, ","))
	}
	entries, _ := os.ReadDir(probe.NetnsDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), probe.NamePrefix) {
			out = append(out, "netns "+e.Name())
		}
	}
	links, err := netlink.LinkList()
	for range 100 {
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
		links, err = netlink.LinkList() // links changed during the dump (a measurement under way): again
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if n := l.Attrs().Name; strings.HasPrefix(n, "dip6") {
			out = append(out, "link "+n)
		}
	}
	return out
}

func assertNoLeftovers(t testing.TB, cli client.APIClient) {
	t.Helper()
	if left := leftovers(t, cli); len(left) > 0 {
		t.Errorf("the probe left: %v", left)
	}
}

// testTimeout replaces the 10 s default in tests: the shared 2-core machine
// has been seen to take 9 s for one container start under load.
const testTimeout = 60 * time.Second

func run(t testing.TB, cli client.APIClient, o probe.Options) probe.Result {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = testTimeout
	}
	res, err := probe.Run(context.Background(), cli, o)
	if err != nil {
		t.Fatalf("Run(%+v): %v", o, err)
	}
	t.Logf("network=%s family=%s client=%s: %s, client %s, observed %s, gateways %v, in %s\n    %s",
		or(o.Network, "bridge"), or(o.Family, "ipv6"), or(o.Client, "remote"), res.Verdict, res.ClientAddress, res.ObservedAddress, res.GatewayAddresses, res.Elapsed.Round(time.Millisecond), res.Detail)
	assertNoLeftovers(t, cli)
	return res
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func gatewayOf(t testing.TB, cli client.APIClient, nw string, v6 bool) string {
	t.Helper()
	n, err := cli.NetworkInspect(context.Background(), nw, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range n.IPAM.Config {
		if a, err := netip.ParseAddr(c.Gateway); err == nil && a.Is6() == v6 {
			return a.String()
		}
	}
	t.Fatalf("network %s has no %v gateway in %+v", nw, map[bool]string{true: "IPv6", false: "IPv4"}[v6], n.IPAM.Config)
	return ""
}

// (a) The sandbox default: default bridge, IPv4-only, userland-proxy on.
func TestDockerDefaultBridge(t *testing.T) {
	cli := dockerClient(t)
	gw := gatewayOf(t, cli, "bridge", false)

	r6 := run(t, cli, probe.Options{})
	if r6.Verdict != probe.VerdictMasqueraded || r6.ObservedAddress != gw || !slices.Contains(r6.GatewayAddresses, gw) {
		t.Errorf("IPv6 remote: got %s seen as %s, want masqueraded seen as the bridge gateway %s", r6.Verdict, r6.ObservedAddress, gw)
	}
	if a := netip.MustParseAddr(r6.ClientAddress); !a.Is6() || a.As16()[0] != 0xfd {
		t.Errorf("IPv6 client address %s is not a ULA", a)
	}
	r4 := run(t, cli, probe.Options{Family: probe.FamilyIPv4})
	if r4.Verdict != probe.VerdictPreserved || r4.ObservedAddress != r4.ClientAddress {
		t.Errorf("IPv4 remote: got %s seen as %s, want preserved (%s)", r4.Verdict, r4.ObservedAddress, r4.ClientAddress)
	}
	if !netip.MustParsePrefix("198.19.0.0/17").Contains(netip.MustParseAddr(r4.ClientAddress)) {
		t.Errorf("IPv4 client address %s is not in 198.19.0.0/17", r4.ClientAddress)
	}
	// From the host itself: recorded, not asserted (what the host sees is not what clients get).
	run(t, cli, probe.Options{Client: probe.ClientLocal})
	run(t, cli, probe.Options{Client: probe.ClientLocal, Family: probe.FamilyIPv4})
}

// randomULA64 is a random fdXX:XXXX:XXXX:XXXX::/64.
func randomULA64() netip.Prefix {
	var b [16]byte
	_, _ = rand.Read(b[1:8])
	b[0] = 0xfd
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}

func createULANetwork(t *testing.T, cli client.APIClient) string {
	t.Helper()
	name := "dockeripv6-probe-test-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	sub := randomULA64()
	yes := true
	_, err := cli.NetworkCreate(context.Background(), name, network.CreateOptions{
		Driver:     "bridge",
		EnableIPv6: &yes,
		IPAM:       &network.IPAM{Config: []network.IPAMConfig{{Subnet: sub.String()}}},
	})
	if err != nil {
		t.Fatalf("create network %s with %s: %v", name, sub, err)
	}
	t.Cleanup(func() {
		if err := cli.NetworkRemove(context.Background(), name); err != nil {
			t.Errorf("remove network %s: %v", name, err)
		}
	})
	return name
}

// withDaemonConfig merges keys into the sandbox's daemon.json, restarts
// dockerd, and restores the original file (and restarts again) at cleanup.
func withDaemonConfig(t *testing.T, keys map[string]any) {
	t.Helper()
	path := sandbox.DaemonJSONPath()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(orig, &cfg); err != nil {
		t.Fatal(err)
	}
	for k, v := range keys {
		cfg[k] = v
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	restart := func(what string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		start := time.Now()
		if err := sandbox.RestartDocker(ctx); err != nil {
			t.Fatalf("restart dockerd (%s): %v", what, err)
		}
		t.Logf("dockerd restarted (%s) in %s", what, time.Since(start).Round(time.Millisecond))
	}
	t.Cleanup(func() {
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			t.Errorf("restore %s: %v", path, err)
			return
		}
		restart("original daemon.json")
	})
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	restart(string(b))
}

// (b) A user-defined network with a ULA IPv6 subnet while the daemon has
// ip6tables (plus experimental before Docker 27).
func TestDockerULANetworkWithIP6Tables(t *testing.T) {
	cli := dockerClient(t)
	if major := serverMajor(t, cli); major < 27 {
		withDaemonConfig(t, map[string]any{"ip6tables": true, "experimental": true})
	}
	nw := createULANetwork(t, cli)

	r6 := run(t, cli, probe.Options{Network: nw})
	if r6.Verdict != probe.VerdictPreserved || r6.ObservedAddress != r6.ClientAddress {
		t.Errorf("IPv6 remote: got %s seen as %s, want preserved (%s)", r6.Verdict, r6.ObservedAddress, r6.ClientAddress)
	}
	if len(r6.GatewayAddresses) != 2 {
		t.Errorf("gateways %v: want the network's IPv4 and IPv6 gateway", r6.GatewayAddresses)
	}
	r4 := run(t, cli, probe.Options{Network: nw, Family: probe.FamilyIPv4})
	if r4.Verdict != probe.VerdictPreserved {
		t.Errorf("IPv4 remote: got %s seen as %s, want preserved", r4.Verdict, r4.ObservedAddress)
	}
	run(t, cli, probe.Options{Network: nw, Client: probe.ClientLocal})
}

// A ULA network on the daemon's own defaults: before Docker 27 ip6tables is
// off, so docker-proxy relays IPv6 and the container sees the IPv6 gateway;
// from 27 on ip6tables is on by default and the client is seen as itself.
func TestDockerULANetworkDaemonDefaults(t *testing.T) {
	cli := dockerClient(t)
	nw := createULANetwork(t, cli)
	r6 := run(t, cli, probe.Options{Network: nw})
	if serverMajor(t, cli) < 27 {
		// Docker 20.10 leaves the IPv6 gateway out of the IPAM config; the
		// container's endpoint has it.
		if r6.Verdict != probe.VerdictMasqueraded || !slices.Contains(r6.GatewayAddresses, r6.ObservedAddress) || !netip.MustParseAddr(r6.ObservedAddress).Is6() {
			t.Errorf("IPv6 remote without ip6tables: got %s seen as %s, want masqueraded seen as the IPv6 gateway (one of %v)", r6.Verdict, r6.ObservedAddress, r6.GatewayAddresses)
		}
	} else if r6.Verdict != probe.VerdictPreserved {
		t.Errorf("IPv6 remote on Docker >= 27: got %s seen as %s, want preserved", r6.Verdict, r6.ObservedAddress)
	}
	if r4 := run(t, cli, probe.Options{Network: nw, Family: probe.FamilyIPv4}); r4.Verdict != probe.VerdictPreserved {
		t.Errorf("IPv4 remote: got %s, want preserved", r4.Verdict)
	}
}

// (c) userland-proxy off, IPv4-only default bridge: IPv6 gets no relay. What
// the daemon does with the [::] port differs by version (refused, or a
// listening reservation that never answers); the result is recorded.
func TestDockerUserlandProxyOff(t *testing.T) {
	cli := dockerClient(t)
	withDaemonConfig(t, map[string]any{"userland-proxy": false})
	r6 := run(t, cli, probe.Options{Timeout: 20 * time.Second})
	if r6.Verdict != probe.VerdictRefused && r6.Verdict != probe.VerdictUnreachable {
		t.Errorf("IPv6 remote with userland-proxy off: got %s seen as %s, want refused or unreachable", r6.Verdict, r6.ObservedAddress)
	}
	if r4 := run(t, cli, probe.Options{Family: probe.FamilyIPv4}); r4.Verdict != probe.VerdictPreserved {
		t.Errorf("IPv4 remote: got %s seen as %s, want preserved", r4.Verdict, r4.ObservedAddress)
	}
}

// (d) A firewall that refuses IPv6 to the published port with a TCP reset
// (an nftables table made by the test until dockeripv6_firewall exists):
// IPv6 clients are refused, IPv4 is untouched.
func TestDockerFirewallRefusesIPv6(t *testing.T) {
	cli := dockerClient(t)
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	rules := fmt.Sprintf(`table inet dockeripv6_probe_test {
	chain input {
		type filter hook input priority -10; policy accept;
		meta nfproto ipv6 tcp dport %d reject with tcp reset
	}
}
`, port)
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("nft", "delete", "table", "inet", "dockeripv6_probe_test").CombinedOutput(); err != nil {
			t.Errorf("nft delete table: %v: %s", err, out)
		}
	})
	r6 := run(t, cli, probe.Options{HostPort: port})
	if r6.Verdict != probe.VerdictRefused {
		t.Errorf("IPv6 remote behind a reject rule: got %s seen as %s, want refused", r6.Verdict, r6.ObservedAddress)
	}
	if r4 := run(t, cli, probe.Options{HostPort: port, Family: probe.FamilyIPv4}); r4.Verdict != probe.VerdictPreserved {
		t.Errorf("IPv4 remote: got %s seen as %s, want preserved", r4.Verdict, r4.ObservedAddress)
	}
}

func TestDockerRunErrors(t *testing.T) {
	cli := dockerClient(t)
	if _, err := probe.Run(context.Background(), cli, probe.Options{Network: "no-such-network-dockeripv6"}); err == nil || !strings.Contains(err.Error(), "no-such-network") {
		t.Errorf("missing network: %v", err)
	}
	if _, err := probe.Run(context.Background(), cli, probe.Options{Binary: "/bin/sh"}); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("dynamic binary: %v", err)
	}
	// A host port that is taken: the daemon cannot publish it; Run says so and cleans up.
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if _, err := probe.Run(context.Background(), cli, probe.Options{HostPort: port}); err == nil {
		t.Errorf("port %d in use: no error", port)
	} else {
		t.Logf("port in use: %v", err)
	}
	assertNoLeftovers(t, cli)
}

func TestDockerImageReused(t *testing.T) {
	cli := dockerClient(t)
	exe, _ := os.Executable()
	ctx := context.Background()
	tag, err := probe.EnsureImage(ctx, cli, exe)
	if err != nil {
		t.Fatal(err)
	}
	img, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if img.Config == nil || img.Config.Labels[probe.LabelKey] != "1" {
		t.Errorf("image %s lacks the label %s=1: %+v", tag, probe.LabelKey, img.Config)
	}
	start := time.Now()
	tag2, err := probe.EnsureImage(ctx, cli, exe)
	if err != nil || tag2 != tag {
		t.Fatalf("second EnsureImage: %s, %v", tag2, err)
	}
	img2, _ := cli.ImageInspect(ctx, tag)
	if img2.ID != img.ID {
		t.Errorf("image rebuilt: %s then %s", img.ID, img2.ID)
	}
	t.Logf("image %s (%s, %d bytes); reuse check took %s", tag, img.ID, img.Size, time.Since(start))
}

// Images of earlier provider builds are pruned; one a container still uses is kept.
func TestDockerOldImagesPruned(t *testing.T) {
	cli := dockerClient(t)
	exe, _ := os.Executable()
	ctx := context.Background()
	tag, err := probe.EnsureImage(ctx, cli, exe)
	if err != nil {
		t.Fatal(err)
	}
	old, busy := probe.ImageRepository+":0ldb0ild0001", probe.ImageRepository+":0ldb0ild0002"
	for _, ref := range []string{old, busy} {
		if err := cli.ImageTag(ctx, tag, ref); err != nil {
			t.Fatal(err)
		}
	}
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: busy, Labels: map[string]string{probe.LabelKey: "1"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
		_, _ = cli.ImageRemove(context.Background(), busy, image.RemoveOptions{})
	})
	removed, err := probe.PruneImages(ctx, cli, tag)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, old) {
		t.Errorf("PruneImages removed %v; the earlier build's %s is not among them", removed, old)
	}
	if _, err := cli.ImageInspect(ctx, old); !cerrdefs.IsNotFound(err) {
		t.Errorf("%s still there after pruning (%v)", old, err)
	}
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		t.Errorf("the current image %s was pruned: %v", tag, err)
	}
	// Tags share one image here, so Docker may untag busy without deleting the
	// image a container uses; what must hold is that the container still works.
	if _, err := cli.ContainerInspect(ctx, c.ID); err != nil {
		t.Errorf("the container using %s is gone: %v", busy, err)
	}
}

// Leftovers of interrupted runs are removed; what a live process owns is not.
func TestDockerCleanupPlantedLeftovers(t *testing.T) {
	cli := dockerClient(t)
	ctx := context.Background()
	exe, _ := os.Executable()
	tag, err := probe.EnsureImage(ctx, cli, exe)
	if err != nil {
		t.Fatal(err)
	}
	plant := func(name, owner string, start bool) string {
		labels := map[string]string{probe.LabelKey: "1"}
		if owner != "" {
			labels[probe.OwnerLabel] = owner
		}
		c, err := cli.ContainerCreate(ctx, &container.Config{Image: tag, Labels: labels}, nil, nil, nil, name)
		if err != nil {
			t.Fatal(err)
		}
		if start {
			if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		return c.ID
	}
	plant(probe.NamePrefix+"dead0001", "", true)
	plant(probe.NamePrefix+"dead0002", "999999999.1", false)
	// Owned by a live process that is not this one (the sandbox's PID 1).
	st, err := os.ReadFile("/proc/1/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(st)[strings.LastIndexByte(string(st), ')')+1:])
	liveID := plant(probe.NamePrefix+"live0001", "1."+f[19], false)
	t.Cleanup(func() { _ = cli.ContainerRemove(ctx, liveID, container.RemoveOptions{Force: true}) })

	for _, args := range [][]string{
		{"ip", "netns", "add", probe.NamePrefix + "dead0003"},
		{"ip", "link", "add", probe.LinkPrefix + "dead0003", "type", "veth", "peer", "name", "dip6cdead0003"},
		{"ip", "link", "add", probe.LinkPrefix + "dead0004", "type", "veth", "peer", "name", "dip6cdead0004"},
		{"ip", "link", "set", "dip6cdead0004", "netns", probe.NamePrefix + "dead0003"},
		// Made by a probe whose process is gone: its alias names the owner.
		{"ip", "link", "set", probe.LinkPrefix + "dead0003", "alias", "dockeripv6-probe owner=999999999.1"},
		{"ip", "link", "set", probe.LinkPrefix + "dead0004", "alias", "dockeripv6-probe owner=999999999.1"},
		// Not made by a probe at all, though its name starts the same: kept.
		{"ip", "link", "add", probe.LinkPrefix + "foreign", "type", "veth", "peer", "name", "dip6cforeign"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(probe.NetnsDir, probe.NamePrefix+"dead0005"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Logf("planted: %v", leftovers(t, cli))

	if err := probe.Cleanup(ctx, cli); err != nil {
		t.Fatal(err)
	}
	left := leftovers(t, cli)
	slices.Sort(left)
	if !slices.Equal(left, []string{"container /" + probe.NamePrefix + "live0001", "link dip6cforeign", "link " + probe.LinkPrefix + "foreign"}) {
		t.Fatalf("after Cleanup: %v, want only the live process's container and the link no probe made", left)
	}
	if out, err := exec.Command("ip", "link", "del", probe.LinkPrefix+"foreign").CombinedOutput(); err != nil {
		t.Fatalf("ip link del: %v: %s", err, out)
	}
	if err := cli.ContainerRemove(ctx, liveID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
}

// A measurement cancelled mid-run removes what it created.
func TestDockerCancelledRun(t *testing.T) {
	cli := dockerClient(t)
	for _, stage := range []string{"container", "netns"} {
		t.Run("after "+stage, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			seen := make(chan string, 1)
			go func() {
				defer cancel()
				for ctx.Err() == nil {
					if l := leftovers(t, cli); slices.ContainsFunc(l, func(s string) bool { return strings.HasPrefix(s, stage) }) {
						seen <- strings.Join(l, ", ")
						return
					}
					time.Sleep(time.Millisecond)
				}
			}()
			res, err := probe.Run(ctx, cli, probe.Options{})
			select {
			case s := <-seen:
				t.Logf("cancelled when %s existed", s)
			default:
				t.Logf("Run finished before the %s was seen: %+v, %v", stage, res, err)
			}
			if err == nil {
				t.Logf("Run ended with a verdict before the cancel took effect: %s", res.Verdict)
			} else if !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v, want context.Canceled", err)
			}
			assertNoLeftovers(t, cli)
		})
	}
	// A timeout too short for anything: an error, nothing left.
	if _, err := probe.Run(context.Background(), cli, probe.Options{Timeout: time.Millisecond}); err == nil {
		t.Error("Run with a 1ms timeout: no error")
	}
	assertNoLeftovers(t, cli)
}

// Concurrent measurements in one process do not clean up each other.
func TestDockerConcurrentRuns(t *testing.T) {
	cli := dockerClient(t)
	opts := []probe.Options{{}, {Family: probe.FamilyIPv4}, {}, {Family: probe.FamilyIPv4, Client: probe.ClientLocal}}
	want := []string{probe.VerdictMasqueraded, probe.VerdictPreserved, probe.VerdictMasqueraded, ""}
	var wg sync.WaitGroup
	res := make([]probe.Result, len(opts))
	errs := make([]error, len(opts))
	for i := range opts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = probe.Run(context.Background(), cli, opts[i])
		}()
	}
	wg.Wait()
	for i := range opts {
		if errs[i] != nil {
			t.Errorf("run %d (%+v): %v", i, opts[i], errs[i])
			continue
		}
		t.Logf("run %d %+v: %s seen as %s in %s", i, opts[i], res[i].Verdict, res[i].ObservedAddress, res[i].Elapsed.Round(time.Millisecond))
		if want[i] != "" && res[i].Verdict != want[i] {
			t.Errorf("run %d: %s, want %s", i, res[i].Verdict, want[i])
		}
	}
	assertNoLeftovers(t, cli)
}

// The remote client is reusable outside Run (the sandbox's test helper uses it).
func TestDockerRemoteClientReachesPublishedPort(t *testing.T) {
	cli := dockerClient(t)
	rc, err := probe.NewRemoteClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, err := func() ([]byte, error) {
		var out []byte
		err := rc.Do(func() error {
			var err error
			out, err = exec.Command("ip", "-br", "addr", "show", "eth0").CombinedOutput()
			return err
		})
		return out, err
	}()
	if err != nil || !strings.Contains(string(out), rc.ClientIPv6.String()) {
		t.Fatalf("ip addr in the client namespace: %v: %s", err, out)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	assertNoLeftovers(t, cli)
}

// BenchmarkRun measures the time to a verdict once the image exists (IPv6,
// remote client, default bridge); ms/verdict is Result.Elapsed, ns/op also
// includes removing the container, namespace and veth.
func BenchmarkRun(b *testing.B) {
	cli := dockerClient(b)
	exe, _ := os.Executable()
	if _, err := probe.EnsureImage(context.Background(), cli, exe); err != nil {
		b.Fatal(err)
	}
	for _, fam := range []string{probe.FamilyIPv6, probe.FamilyIPv4} {
		b.Run(fam, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				res, err := probe.Run(context.Background(), cli, probe.Options{Family: fam})
				if err != nil {
					b.Fatal(err)
				}
				total += res.Elapsed
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/verdict")
		})
	}
}
