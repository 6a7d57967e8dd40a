package trust_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/trust"
)

// The Docker tests are an external test package: probe, which makes the
// stand-in mail containers, imports trust.

type want string

const (
	trusted   want = "true"
	untrusted want = "false"
)

func got(b *bool) want {
	if b == nil {
		return "unknown"
	}
	if *b {
		return trusted
	}
	return untrusted
}

// Real containers in the sandbox, read from the host side: the network's
// gateway (the address docker-proxy gives every remote IPv6 client) is
// trusted by PERMIT_DOCKER=connected-networks and by a main.cf mynetworks
// naming the network, and not by PERMIT_DOCKER=network (172.16.0.0/12 does
// not hold the sandbox's 198.18.0.0/15) nor by a loopback-only mynetworks.
func TestDockerTrustOfTheGateway(t *testing.T) {
	sandbox.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := sandbox.WaitDocker(ctx, sandbox.DockerSocket); err != nil {
		t.Fatal(err)
	}
	img, err := probe.EnsureImage(ctx, cli, os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	name := "dockeripv6-trust-test-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	if _, err := cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge"}); err != nil {
		t.Fatalf("create network %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := cli.NetworkRemove(context.Background(), name); err != nil {
			t.Errorf("remove network %s: %v", name, err)
		}
	})
	nw, err := cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil || len(nw.IPAM.Config) == 0 {
		t.Fatalf("inspect network %s: %v %+v", name, err, nw.IPAM)
	}
	subnet, gateway := netip.MustParsePrefix(nw.IPAM.Config[0].Subnet), netip.MustParseAddr(nw.IPAM.Config[0].Gateway)
	if !netip.MustParsePrefix("198.18.0.0/15").Contains(gateway) {
		t.Fatalf("the sandbox's network has gateway %s, outside 198.18.0.0/15", gateway)
	}
	mainCF := fmt.Sprintf("compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 [::1]/128\n    $docker_networks\ndocker_networks = %s\n", subnet)
	for _, tt := range []struct {
		name, env, mainCF string
		want              want
		source            string
	}{
		{"connected-networks", "PERMIT_DOCKER=connected-networks", "", trusted, "PERMIT_DOCKER=connected-networks (" + subnet.String() + ")"},
		{"network", "PERMIT_DOCKER=network", "", untrusted, ""},
		{"mynetworks", "", mainCF, trusted, "main.cf mynetworks (" + subnet.String() + ")"},
		{"loopback-mynetworks", "", "mynetworks = 127.0.0.0/8 [::1]/128\n", untrusted, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := runMailContainer(t, ctx, cli, img, name+"-"+tt.name, name, tt.env, tt.mainCF)
			s := trust.Read(c)
			if g := got(s.Contains(gateway)); g != tt.want {
				t.Errorf("gateway %s: trusted = %s, want %s; set %+v", gateway, g, tt.want, s)
			}
			if why := s.Why(gateway); why != tt.source {
				t.Errorf("Why(%s) = %q, want %q", gateway, why, tt.source)
			}
		})
	}
}

// runMailContainer starts the probe image on nw with env and, when mainCF is
// not empty, that file copied in as /etc/postfix/main.cf before it starts;
// it returns what Read needs, as the host sees it.
func runMailContainer(t *testing.T, ctx context.Context, cli client.APIClient, img, name, nw, env, mainCF string) trust.Container {
	t.Helper()
	cfg := &container.Config{Image: img}
	if env != "" {
		cfg.Env = []string{env}
	}
	created, err := cli.ContainerCreate(ctx, cfg, &container.HostConfig{NetworkMode: container.NetworkMode(nw)}, nil, nil, name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("remove %s: %v", name, err)
		}
	})
	if mainCF != "" {
		if err := cli.CopyToContainer(ctx, created.ID, "/", mainCFTar(t, mainCF), container.CopyToContainerOptions{}); err != nil {
			t.Fatalf("copy main.cf into %s: %v", name, err)
		}
	}
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var in container.InspectResponse
	for {
		in, err = cli.ContainerInspect(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if in.State.Running && in.State.Pid > 0 && in.NetworkSettings.Networks[nw] != nil && in.NetworkSettings.Networks[nw].IPAddress != "" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%s did not come up with an address: %+v", name, in.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
	nets := map[string]trust.Network{}
	for n := range in.NetworkSettings.Networks {
		ni, err := cli.NetworkInspect(ctx, n, network.InspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var subnets []netip.Prefix
		for _, c := range ni.IPAM.Config {
			if p, err := netip.ParsePrefix(c.Subnet); err == nil {
				subnets = append(subnets, p)
			}
		}
		nets[n] = trust.Network{Driver: ni.Driver, Subnets: subnets}
	}
	return trust.Container{Inspect: in, Networks: nets}
}

func mainCFTar(t *testing.T, content string) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"etc/", "etc/postfix/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "etc/postfix/main.cf", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}
