package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

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
