package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// hostsProvider is a provider block with one host at an address nothing
// listens on: nothing in these tests may connect.
const hostsProvider = `provider "dockeripv6" {
  hosts = {
    mail1 = {
      address  = "fd00:dead:beef::25"
      host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeadBeefDeadBeefDeadBeefDeadBeefDeadBeefDeadBeefDeadBe"
%s
    }
  }
}
`

// Bad hosts settings and host arguments fail at plan, before anything
// connects, and say what is wrong.
func TestAccProvider_hostsBadInput(t *testing.T) {
	for name, c := range map[string]struct{ hostExtra, body, want string }{
		"unknown host": {body: `data "dockeripv6_host" "h" {
  host = "mail2"
}`, want: `host = "mail2" names no entry of the provider's hosts. The provider's hosts are: mail1.`},
		"bad sudo": {hostExtra: `      sudo = "sometimes"`, body: `data "dockeripv6_host" "h" {
  host = "mail1"
}`, want: `value must be one of: ["auto" "always" "never"]`},
		"bad port": {hostExtra: `      port = 70000`, body: `data "dockeripv6_host" "h" {
  host = "mail1"
}`, want: `port 70000 is not a TCP port.`},
		"empty host": {body: `resource "dockeripv6_network" "n" {
  host = ""
  name = "acc-hosts"
}`, want: `string length must be at least 1`},
		"host unknown at plan": {body: `resource "dockeripv6_ula_prefix" "site" {}
resource "dockeripv6_daemon_config" "d" {
  host      = dockeripv6_ula_prefix.site.id
  ip6tables = true
}`, want: `host depends on a value that is not known until apply`},
		"ssh docker_host": {hostExtra: `      docker_host = "ssh://root@fd00:dead:beef::25"`, body: `data "dockeripv6_host" "h" {
  host = "mail1"
}`, want: `docker_host does not take ssh:// addresses.`},
	} {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testProviders,
				Steps: []resource.TestStep{{
					Config:      fmt.Sprintf(hostsProvider, c.hostExtra) + c.body,
					PlanOnly:    true,
					ExpectError: errorLike(c.want),
				}},
			})
		})
	}
}

// insecure_skip_host_key_verification warns at every plan that configures
// the provider, naming the host, even when no object is on that host
// (nothing connects then).
func TestAccProvider_insecureHostKeyWarnsEveryPlan(t *testing.T) {
	w := newTFWorkdir(t, fmt.Sprintf(hostsProvider, `      insecure_skip_host_key_verification = true`)+`
resource "dockeripv6_ula_prefix" "site" {}
`)
	for i := 0; i < 2; i++ {
		out := folded(w.run("plan"))
		if !strings.Contains(out, "Warning: Host Key Not Verified") ||
			!strings.Contains(out, `hosts["mail1"] (root@[fd00:dead:beef::25]:22) accepts any host key`) {
			t.Fatalf("plan %d: want the Host Key Not Verified warning naming mail1, got:\n%s", i+1, out)
		}
	}
}

func TestSplitImportID(t *testing.T) {
	for id, want := range map[string][2]string{
		"mail":                        {"", "mail"},
		"mx1:mail":                    {"mx1", "mail"},
		"/etc/docker/daemon.json":     {"", "/etc/docker/daemon.json"},
		"mx1:/etc/docker/daemon.json": {"mx1", "/etc/docker/daemon.json"},
		"3f2c9a1b4e5d":                {"", "3f2c9a1b4e5d"},
		"/srv/docker:x/daemon.json":   {"", "/srv/docker:x/daemon.json"},
		":mail":                       {"", ":mail"},
	} {
		h, rest := splitImportID(id)
		got := [2]string{h.ValueString(), rest}
		if h.IsNull() != (want[0] == "") || got != want {
			t.Errorf("splitImportID(%q) = %v (null %v), want %v", id, got, h.IsNull(), want)
		}
	}
}
