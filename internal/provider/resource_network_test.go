package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/hashicorp/terraform-plugin-framework/path"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

func networkConfig(name, subnet string) string {
	return fmt.Sprintf(`
resource "dockeripv6_network" "mail" {
  name        = %q
  ipv6_subnet = %q
  labels      = { "io.dockeripv6.test" = "network" }
}
`, name, subnet)
}

var benchV4 = regexp.MustCompile(`^198\.1[89]\.\d+\.\d+/\d+$`)

func TestAccNetwork_lifecycleImportAndRestart(t *testing.T) {
	sandbox.RequireExclusive(t) // restarts dockerd
	cli := dockerClient(t)
	ctx := testCtx(t)
	const name = "acc-mail"
	// Mixed case and zero groups on purpose: compared in canonical form, never a diff.
	cfg := networkConfig(name, "FD3A:9C1E:77B0:0001::/64")
	var id string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			if _, err := cli.NetworkInspect(ctx, name, network.InspectOptions{}); err == nil {
				return fmt.Errorf("network %s still exists after destroy", name)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("dockeripv6_network.mail", tfjsonpath.New("ipv6_gateway"), knownvalue.StringExact("fd3a:9c1e:77b0:1::1")),
					statecheck.ExpectKnownValue("dockeripv6_network.mail", tfjsonpath.New("ipv4_subnet"), knownvalue.StringRegexp(benchV4)),
					statecheck.ExpectKnownValue("dockeripv6_network.mail", tfjsonpath.New("ipv6"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("dockeripv6_network.mail", tfjsonpath.New("driver"), knownvalue.StringExact("bridge")),
				},
				Check: func(s *terraform.State) error {
					id = s.RootModule().Resources["dockeripv6_network.mail"].Primary.ID
					n, err := cli.NetworkInspect(ctx, id, network.InspectOptions{})
					if err != nil {
						return err
					}
					if !n.EnableIPv6 {
						return fmt.Errorf("docker says IPv6 is off on %s", name)
					}
					for _, c := range n.IPAM.Config {
						if c.Subnet == "fd3a:9c1e:77b0:1::/64" {
							return nil
						}
					}
					return fmt.Errorf("docker has no fd3a:9c1e:77b0:1::/64 on %s: %+v", name, n.IPAM.Config)
				},
			},
			{
				// Same configuration: nothing to do.
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// dockerd restarted (as after a reboot): still nothing to do.
				PreConfig: func() {
					if err := sandbox.RestartDocker(ctx); err != nil {
						t.Fatalf("restarting the sandbox dockerd: %v", err)
					}
				},
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			// Import by name and by ID. The configuration spells the subnet in upper case; the
			// import reads Docker's canonical form, which is the same value.
			{ResourceName: "dockeripv6_network.mail", ImportState: true, ImportStateId: name, ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"ipv6_subnet"}, ImportStateCheck: importedSubnet("fd3a:9c1e:77b0:1::/64")},
			{
				ResourceName: "dockeripv6_network.mail", ImportState: true, ImportStateVerify: true,
				ImportStateIdFunc:       func(*terraform.State) (string, error) { return id, nil },
				ImportStateVerifyIgnore: []string{"ipv6_subnet"}, ImportStateCheck: importedSubnet("fd3a:9c1e:77b0:1::/64"),
			},
		},
	})
}

func TestAccNetwork_drift(t *testing.T) {
	cli := dockerClient(t)
	ctx := testCtx(t)
	const name = "acc-drift"
	cfg := networkConfig(name, "fd3a:9c1e:77b0:2::/64")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				// Deleted outside Terraform: the plan creates it again.
				PreConfig: func() {
					if err := cli.NetworkRemove(ctx, name); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("dockeripv6_network.mail", plancheck.ResourceActionCreate),
				}},
			},
			{
				// Recreated outside Terraform with another subnet: the plan replaces it.
				PreConfig: func() {
					if err := cli.NetworkRemove(ctx, name); err != nil {
						t.Fatal(err)
					}
					on := true
					if _, err := cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", EnableIPv6: &on,
						IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: "fd3a:9c1e:77b0:99::/64"}}}}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("dockeripv6_network.mail", plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectKnownValue("dockeripv6_network.mail", tfjsonpath.New("ipv6_subnet"), knownvalue.StringExact("fd3a:9c1e:77b0:2::/64")),
				}},
				Check: func(*terraform.State) error {
					n, err := cli.NetworkInspect(ctx, name, network.InspectOptions{})
					if err != nil {
						return err
					}
					for _, c := range n.IPAM.Config {
						if c.Subnet == "fd3a:9c1e:77b0:2::/64" {
							return nil
						}
					}
					return fmt.Errorf("after apply %s has %+v", name, n.IPAM.Config)
				},
			},
		},
	})
}

func TestAccNetwork_badInput(t *testing.T) {
	cases := []badInput{
		{`ipv6_subnet = "not-a-cidr"`, `is not a CIDR prefix`},
		{`ipv6_subnet = "198.18.5.0/24"`, `is an IPv4 prefix`},
		{`ipv6_subnet = "2001:db8::/32"`, `documentation address space`},
		{`ipv6_subnet = "fc00::/64"`, `L bit 0`},
		{`ipv6_subnet = "fd3a:9c1e:77b0:3::1/64"`, `host bits set`},
		{`ipv6_subnet = "fd3a:9c1e:77b0:3::/127"`, `longer than /126`},
		{`ipv6_subnet = "fd3a::/32"`, `shorter than /48`},
		{`ipv4_subnet = "fd3a:9c1e:77b0:3::/64"`, `is an IPv6 prefix`},
		{`ipv4_subnet = "198.18.5.1/24"`, `host bits set`},
		{"ipv6_subnet = \"fd3a:9c1e:77b0:3::/64\"\n  ipv6_gateway = \"fd3a:9c1e:77b0:4::1\"", `is not inside ipv6_subnet`},
		{"ipv6_gateway = \"198.18.5.1\"", `is not an IPv6 address`},
		{"ipv6 = false\n  ipv6_subnet = \"fd3a:9c1e:77b0:3::/64\"", `ipv6 is false but ipv6_subnet is set`},
		{`name = "-bad"`, `must start with a letter or digit`},
	}
	planFails(t, func(body string) string {
		name := `name = "acc-bad"`
		if strings.HasPrefix(body, "name") {
			name = ""
		}
		return fmt.Sprintf("resource \"dockeripv6_network\" \"bad\" {\n  %s\n  %s\n}\n", name, body)
	}, cases)
}

func importedSubnet(want string) resource.ImportStateCheckFunc {
	return func(states []*terraform.InstanceState) error {
		if len(states) != 1 {
			return fmt.Errorf("imported %d instances, want 1", len(states))
		}
		if got := states[0].Attributes["ipv6_subnet"]; got != want {
			return fmt.Errorf("imported ipv6_subnet = %q, want %q", got, want)
		}
		return nil
	}
}

// Docker 27+ allocates a ULA subnet itself for an IPv6 network without one (computed,
// never a diff); Docker 20.10 to 26 cannot, and the plan says so.
func TestAccNetwork_ipv6WithoutSubnetByVersion(t *testing.T) {
	cli := dockerClient(t)
	ctx := testCtx(t)
	cfg := `resource "dockeripv6_network" "auto" { name = "acc-auto-ula" }`
	switch sandbox.Engine() {
	case "20":
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testProviders,
			Steps: []resource.TestStep{{Config: cfg, PlanOnly: true,
				ExpectError: errorLike("cannot allocate an IPv6 subnet for a network by itself")}},
		})
	case "29":
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testProviders,
			Steps: []resource.TestStep{
				{
					Config: cfg,
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue("dockeripv6_network.auto", tfjsonpath.New("ipv6_subnet"),
							knownvalue.StringRegexp(regexp.MustCompile(`^fd[0-9a-f]{2}:[0-9a-f:]+/64$`))),
					},
					Check: func(s *terraform.State) error {
						n, err := cli.NetworkInspect(ctx, "acc-auto-ula", network.InspectOptions{})
						if err != nil {
							return err
						}
						want := s.RootModule().Resources["dockeripv6_network.auto"].Primary.Attributes["ipv6_subnet"]
						for _, c := range n.IPAM.Config {
							if c.Subnet == want {
								return nil
							}
						}
						return fmt.Errorf("state says %s, docker says %+v", want, n.IPAM.Config)
					},
				},
				{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			},
		})
	default:
		t.Fatalf("unknown sandbox engine %q", sandbox.Engine())
	}
}

// A daemon that cannot be reached gives one clear error naming the address tried.
func TestAccProvider_unreachableDaemonNamesAddress(t *testing.T) {
	sandbox.Require(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: `
provider "dockeripv6" {
  docker_host = "unix:///run/no-such-docker.sock"
}
resource "dockeripv6_network" "n" {
  name        = "acc-unreachable"
  ipv6_subnet = "fd3a:9c1e:77b0:5::/64"
}`,
			ExpectError: errorLike("cannot reach the Docker daemon at unix:///run/no-such-docker.sock"),
		}},
	})
}

// The plan of a replacement names the running containers it disconnects.
func TestNetwork_replacementWarnsWhichContainers(t *testing.T) {
	cli := dockerClient(t)
	ctx := testCtx(t)
	on := true
	created, err := cli.NetworkCreate(ctx, "acc-replace-warn", network.CreateOptions{EnableIPv6: &on,
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: "fd3a:9c1e:77b0:6::/64"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), created.ID) })
	img := hostProbeImage(t, cli)
	hostRunProbe(t, cli, "acc-replace-warn-mailserver", img, "acc-replace-warn")

	r := &NetworkResource{data: &providerData{Docker: dockerapi.New(""), Systemd: dialSystemd}}
	var sresp fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sresp)
	s := sresp.Schema
	model := func(subnet string) networkModel {
		return networkModel{ID: types.StringValue(created.ID), Name: types.StringValue("acc-replace-warn"), Driver: types.StringValue("bridge"),
			IPv6: types.BoolValue(true), IPv6Subnet: netAddrOf(subnet), IPv6Gateway: netAddrUnknown(), IPv4Subnet: netAddrUnknown(),
			IPv4Gateway: netAddrUnknown(), Internal: types.BoolValue(false), Attachable: types.BoolValue(false),
			Options: types.MapNull(types.StringType), Labels: types.MapNull(types.StringType)}
	}
	state := tfsdk.State{Schema: s}
	if d := state.Set(ctx, model("fd3a:9c1e:77b0:6::/64")); d.HasError() {
		t.Fatal(d)
	}
	plan := tfsdk.Plan{Schema: s}
	if d := plan.Set(ctx, model("fd3a:9c1e:77b0:7::/64")); d.HasError() {
		t.Fatal(d)
	}
	resp := &fwresource.ModifyPlanResponse{Plan: plan, RequiresReplace: path.Paths{path.Root("ipv6_subnet")}}
	r.ModifyPlan(ctx, fwresource.ModifyPlanRequest{Config: tfsdk.Config{Schema: s, Raw: plan.Raw}, Plan: plan, State: state}, resp)
	w, ok := warningNamed(resp.Diagnostics, `Replacing Network "acc-replace-warn" Disconnects 1 Running Container(s)`)
	if !ok || !strings.Contains(w.Detail(), "will be disconnected: acc-replace-warn-mailserver.") {
		t.Fatalf("no replacement warning naming the container: %v", resp.Diagnostics)
	}
	// No replacement, no warning.
	resp = &fwresource.ModifyPlanResponse{Plan: plan}
	r.ModifyPlan(ctx, fwresource.ModifyPlanRequest{Config: tfsdk.Config{Schema: s, Raw: plan.Raw}, Plan: plan, State: state}, resp)
	if len(resp.Diagnostics) != 0 {
		t.Fatalf("warnings without a replacement: %v", resp.Diagnostics)
	}
}

// Example ULAs and global prefixes are accepted with a warning that says what to use.
func TestNetwork_subnetWarnings(t *testing.T) {
	for subnet, want := range map[string]string{
		"fd00:cafe:face:feed::/64": "generate one with the dockeripv6_ula_prefix resource or the ula_prefix() function",
		"fd00::/64":                "well-known example prefix",
		"2a01:4f8:1:2::/64":        "NDP proxying",
	} {
		resp := &validator.StringResponse{}
		ipv6SubnetValidator{}.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("ipv6_subnet"),
			ConfigValue: types.StringValue(subnet)}, resp)
		if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 || !strings.Contains(resp.Diagnostics[0].Detail(), want) {
			t.Errorf("%s: want one warning containing %q, got %v", subnet, want, resp.Diagnostics)
		}
	}
	resp := &validator.StringResponse{}
	ipv6SubnetValidator{}.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("ipv6_subnet"),
		ConfigValue: types.StringValue("fda8:3b4f:4f2c:1::/64")}, resp)
	if len(resp.Diagnostics) != 0 {
		t.Errorf("a random ULA got diagnostics: %v", resp.Diagnostics)
	}
}
