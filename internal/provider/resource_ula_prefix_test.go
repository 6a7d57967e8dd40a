package provider

import (
	"fmt"
	"net/netip"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

var ulaShape = regexp.MustCompile(`^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::/48$`)

func TestAccULAPrefix_keepersAndStability(t *testing.T) {
	var first string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: `resource "dockeripv6_ula_prefix" "p" { keepers = { host = "mx1" } }`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("dockeripv6_ula_prefix.p", tfjsonpath.New("prefix"), knownvalue.StringRegexp(ulaShape)),
					statecheck.ExpectKnownValue("dockeripv6_ula_prefix.p", tfjsonpath.New("global_id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{10}$`))),
				},
				Check: func(s *terraform.State) error {
					rs := s.RootModule().Resources["dockeripv6_ula_prefix.p"]
					first = rs.Primary.Attributes["prefix"]
					p := netip.MustParsePrefix(first)
					a := p.Addr().As16()
					gid := rs.Primary.Attributes["global_id"]
					if want := netip.MustParsePrefix(first).String(); want != first {
						t.Fatalf("prefix %s not canonical", first)
					}
					if got := []byte{a[1], a[2], a[3], a[4], a[5]}; gid != hexOf(got) {
						t.Fatalf("global_id %s does not match prefix %s", gid, first)
					}
					return nil
				},
			},
			{
				// Same configuration: nothing changes, the prefix stays.
				Config:            `resource "dockeripv6_ula_prefix" "p" { keepers = { host = "mx1" } }`,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue("dockeripv6_ula_prefix.p", tfjsonpath.New("prefix"), stringFunc(func(v string) bool { return v == first }))},
			},
			{
				// A keeper change forces a new prefix.
				Config: `resource "dockeripv6_ula_prefix" "p" { keepers = { host = "mx2" } }`,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("dockeripv6_ula_prefix.p", plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue("dockeripv6_ula_prefix.p", tfjsonpath.New("prefix"), stringFunc(func(v string) bool { return v != first && ulaShape.MatchString(v) }))},
			},
			{
				ResourceName: "dockeripv6_ula_prefix.p",
				ImportState:  true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return s.RootModule().Resources["dockeripv6_ula_prefix.p"].Primary.ID, nil
				},
				ImportStateVerify: true,
				// keepers live only in configuration.
				ImportStateVerifyIgnore: []string{"keepers", "keepers.%", "keepers.host"},
			},
		},
	})
}

func TestAccULAPrefix_importRejectsNonULA(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config:        `resource "dockeripv6_ula_prefix" "p" {}`,
			ResourceName:  "dockeripv6_ula_prefix.p",
			ImportState:   true,
			ImportStateId: "2001:db8::/48",
			ExpectError:   errorLike("documentation address space"),
		}},
	})
}

func TestAccULAPrefixFunction_deterministic(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: `
output "a"     { value = provider::dockeripv6::ula_prefix("mail.example.org") }
output "again" { value = provider::dockeripv6::ula_prefix("mail.example.org") }
output "other" { value = provider::dockeripv6::ula_prefix("mx2.example.org") }
output "sub"   { value = cidrsubnet(provider::dockeripv6::ula_prefix("mail.example.org"), 16, 1) }
`,
			ConfigStateChecks: []statecheck.StateCheck{
				// Pinned: the documented algorithm, computed independently (see internal/ula tests).
				statecheck.ExpectKnownOutputValue("a", knownvalue.StringExact("fda8:3b4f:4f2c::/48")),
				statecheck.ExpectKnownOutputValue("again", knownvalue.StringExact("fda8:3b4f:4f2c::/48")),
				statecheck.ExpectKnownOutputValue("other", stringFunc(func(v string) bool { return v != "fda8:3b4f:4f2c::/48" && ulaShape.MatchString(v) })),
				statecheck.ExpectKnownOutputValue("sub", knownvalue.StringExact("fda8:3b4f:4f2c:1::/64")),
			},
		}},
	})
}

// A /64 offered as the import ID is refused with one instruction, not two
// contradicting ones.
func TestAccULAPrefix_importWrongLength(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config:        `resource "dockeripv6_ula_prefix" "p" {}`,
			ResourceName:  "dockeripv6_ula_prefix.p",
			ImportState:   true,
			ImportStateId: "fd7e:3c1a:95d2::/64",
			ExpectError: errorLike(`"fd7e:3c1a:95d2::/64" is a /64; this takes a /48 only, for example fd7e:3c1a:95d2::/48. ` +
				`Import a dockeripv6_ula_prefix by the /48 it holds: a unique local prefix inside fd00::/8, the one your networks' subnets are carved from.`),
		}},
	})
}

// An empty seed would give everyone the same prefix: refused.
func TestAccULAPrefixFunction_emptySeed(t *testing.T) {
	for _, seed := range []string{"", "  "} {
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testProviders,
			Steps: []resource.TestStep{{
				Config: fmt.Sprintf(`output "p" { value = provider::dockeripv6::ula_prefix(%q) }`, seed),
				ExpectError: errorLike(`ula_prefix: the seed is empty, and every host seeded with an empty string gets the same prefix. ` +
					`Pass a string unique to the site, such as this host's fully qualified name.`),
			}},
		})
	}
}
