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
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host/local"
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
	cfg := networkConfig(name, "FD7E:3C1A:95D2:0001::/64")
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
					statecheck.ExpectKnownValue("dockeripv6_network.mail", tfjsonpath.New("ipv6_gateway"), knownvalue.StringExact("fd7e:3c1a:95d2:1::1")),
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
						if c.Subnet == "fd7e:3c1a:95d2:1::/64" {
							return nil
						}
					}
					return fmt.Errorf("docker has no fd7e:3c1a:95d2:1::/64 on %s: %+v", name, n.IPAM.Config)
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
				ImportStateVerifyIgnore: []string{"ipv6_subnet"}, ImportStateCheck: importedSubnet("fd7e:3c1a:95d2:1::/64")},
			{
				ResourceName: "dockeripv6_network.mail", ImportState: true, ImportStateVerify: true,
				ImportStateIdFunc:       func(*terraform.State) (string, error) { return id, nil },
				ImportStateVerifyIgnore: []string{"ipv6_subnet"}, ImportStateCheck: importedSubnet("fd7e:3c1a:95d2:1::/64"),
			},
		},
	})
}

func TestAccNetwork_drift(t *testing.T) {
	cli := dockerClient(t)
	ctx := testCtx(t)
	const name = "acc-drift"
	cfg := networkConfig(name, "fd7e:3c1a:95d2:2::/64")
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
						IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: "fd7e:3c1a:95d2:99::/64"}}}}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("dockeripv6_network.mail", plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectKnownValue("dockeripv6_network.mail", tfjsonpath.New("ipv6_subnet"), knownvalue.StringExact("fd7e:3c1a:95d2:2::/64")),
				}},
				Check: func(*terraform.State) error {
					n, err := cli.NetworkInspect(ctx, name, network.InspectOptions{})
					if err != nil {
						return err
					}
					for _, c := range n.IPAM.Config {
						if c.Subnet == "fd7e:3c1a:95d2:2::/64" {
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
		{`ipv6_subnet = "fd7e:3c1a:95d2:3::1/64"`, `host bits set`},
		{`ipv6_subnet = "fd7e:3c1a:95d2:3::/127"`, `longer than /126`},
		{`ipv6_subnet = "fd3a::/32"`, `shorter than /48`},
		{`ipv4_subnet = "fd7e:3c1a:95d2:3::/64"`, `is an IPv6 prefix`},
		{`ipv4_subnet = "198.18.5.1/24"`, `host bits set`},
		{"ipv6_subnet = \"fd7e:3c1a:95d2:3::/64\"\n  ipv6_gateway = \"fd7e:3c1a:95d2:4::1\"", `is not inside ipv6_subnet`},
		{"ipv6_gateway = \"198.18.5.1\"", `is not an IPv6 address`},
		{"ipv6 = false\n  ipv6_subnet = \"fd7e:3c1a:95d2:3::/64\"", `ipv6 is false but ipv6_subnet is set`},
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
  ipv6_subnet = "fd7e:3c1a:95d2:5::/64"
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
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: "fd7e:3c1a:95d2:6::/64"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), created.ID) })
	img := hostProbeImage(t, cli)
	hostRunProbe(t, cli, "acc-replace-warn-mailserver", img, "acc-replace-warn")

	r := &NetworkResource{data: &providerData{Host: local.New("")}}
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
	if d := state.Set(ctx, model("fd7e:3c1a:95d2:6::/64")); d.HasError() {
		t.Fatal(d)
	}
	plan := tfsdk.Plan{Schema: s}
	if d := plan.Set(ctx, model("fd7e:3c1a:95d2:7::/64")); d.HasError() {
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
		ConfigValue: types.StringValue("fd7e:3c1a:95d2:1::/64")}, resp)
	if len(resp.Diagnostics) != 0 {
		t.Errorf("a random ULA got diagnostics: %v", resp.Diagnostics)
	}
}

// The provider's own documented prefixes are warned about like any copied one:
// cidrsubnet(ula_prefix("mail.example.org"), 16, 25) is what the mail example
// gave everyone while hostname had that default.
func TestNetwork_documentedPrefixWarns(t *testing.T) {
	for subnet, want := range map[string]string{
		"fda8:3b4f:4f2c:19::/64": `fda8:3b4f:4f2c:19::/64 is a well-known example prefix (from this provider's documentation: ` +
			`ula_prefix("mail.example.org"); seed ula_prefix() with your own host name). RFC 4193 Global IDs must be random so that ` +
			`joined sites do not collide; generate one with the dockeripv6_ula_prefix resource or the ula_prefix() function.`,
		"fd3a:9c1e:77b0:1::/64": "(from this provider's documentation (the dockeripv6_ula_prefix examples))",
	} {
		diags := validateResource(t, "dockeripv6_network", map[string]tftypes.Value{"name": tfString("mail"), "ipv6_subnet": tfString(subnet)})
		diagAt(t, diags, tfprotov6.DiagnosticSeverityWarning, "Questionable IPv6 Subnet", "ipv6_subnet", want)
	}
}

// Importing while the daemon cannot be reached says so, instead of "no such network".
func TestAccNetwork_importUnreachableDaemon(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: `
provider "dockeripv6" {
  docker_host = "unix:///run/no-such-docker.sock"
}
resource "dockeripv6_network" "mail" {
  name = "mail"
}`,
			ResourceName:  "dockeripv6_network.mail",
			ImportState:   true,
			ImportStateId: "mail",
			ExpectError: errorLike(`Network "mail" cannot be imported: the Docker daemon could not be reached, so whether the network ` +
				`exists is unknown. cannot reach the Docker daemon at unix:///run/no-such-docker.sock`),
		}},
	})
}

// With no daemon, an IPv6 network without a subnet gets the same "Docker Version
// Unknown" warning as dockeripv6_daemon_config, instead of silence.
func TestNetwork_unknownDockerVersionWarns(t *testing.T) {
	ctx := context.Background()
	r := &NetworkResource{data: &providerData{Host: local.New("unix:///run/no-such-docker.sock")}}
	var sresp fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sresp)
	s := sresp.Schema
	plan := tfsdk.Plan{Schema: s}
	if d := plan.Set(ctx, networkModel{ID: types.StringUnknown(), Name: types.StringValue("mail"), Driver: types.StringValue("bridge"),
		IPv6: types.BoolValue(true), IPv6Subnet: netAddrUnknown(), IPv6Gateway: netAddrUnknown(), IPv4Subnet: netAddrUnknown(),
		IPv4Gateway: netAddrUnknown(), Internal: types.BoolValue(false), Attachable: types.BoolValue(false),
		Options: types.MapNull(types.StringType), Labels: types.MapNull(types.StringType)}); d.HasError() {
		t.Fatal(d)
	}
	// The configuration leaves ipv6_subnet (and everything Docker fills in) unset.
	cfg := plan.Raw.Copy()
	var cfgModel networkModel
	if d := plan.Get(ctx, &cfgModel); d.HasError() {
		t.Fatal(d)
	}
	cfgModel.ID = types.StringNull()
	cfgModel.IPv6Subnet, cfgModel.IPv6Gateway, cfgModel.IPv4Subnet, cfgModel.IPv4Gateway = netAddrNull(), netAddrNull(), netAddrNull(), netAddrNull()
	cfgState := tfsdk.State{Schema: s, Raw: cfg}
	if d := cfgState.Set(ctx, cfgModel); d.HasError() {
		t.Fatal(d)
	}
	config := tfsdk.Config{Schema: s, Raw: cfgState.Raw}
	resp := &fwresource.ModifyPlanResponse{Plan: plan}
	r.ModifyPlan(ctx, fwresource.ModifyPlanRequest{Config: config, Plan: plan, State: tfsdk.State{Schema: s, Raw: tftypes.NewValue(s.Type().TerraformType(ctx), nil)}}, resp)
	w, ok := warningNamed(resp.Diagnostics, "Docker Version Unknown")
	if !ok || resp.Diagnostics.HasError() {
		t.Fatalf("want the warning Docker Version Unknown and no error, got %v", resp.Diagnostics)
	}
	for _, want := range []string{
		`Whether this Docker can pick an IPv6 subnet for network "mail" by itself (Docker 27 and later can; 20.10 to 26 refuse an IPv6 network without one) could not be checked: cannot reach the Docker daemon at unix:///run/no-such-docker.sock`,
		"It will be checked again at apply. Set ipv6_subnet",
	} {
		if !strings.Contains(w.Detail(), want) {
			t.Errorf("warning detail:\n%s\nwant it to contain:\n%s", w.Detail(), want)
		}
	}
	if strings.Contains(w.Detail(), "?.") {
		t.Errorf("punctuation: %s", w.Detail())
	}
}

// docker_host values the provider cannot use fail at validate and say what is supported.
func TestAccProvider_unsupportedDockerHost(t *testing.T) {
	for host, want := range map[string]string{
		"ssh://mail@198.18.0.25":         `"ssh://mail@198.18.0.25": docker_host does not take ssh:// addresses. For a mail host reached over SSH, list it in the provider's hosts and set host on each object: the provider then works on the host itself (daemon.json, systemd, nftables and Docker). Supported: unix:///path/to/docker.sock (the default is unix:///var/run/docker.sock) and tcp://host:port (plain TCP, no TLS).`,
		"/var/run/docker.sock":           `"/var/run/docker.sock" has no scheme: write unix:///var/run/docker.sock for a socket. Supported:`,
		"npipe:////./pipe/docker_engine": `the provider cannot use npipe:// addresses. Supported:`,
	} {
		t.Run(host, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testProviders,
				Steps: []resource.TestStep{{
					Config:      fmt.Sprintf("provider \"dockeripv6\" {\n  docker_host = %q\n}\nresource \"dockeripv6_network\" \"n\" {\n  name = \"acc-host\"\n}\n", host),
					PlanOnly:    true,
					ExpectError: errorLike(want),
				}},
			})
		})
	}
}
