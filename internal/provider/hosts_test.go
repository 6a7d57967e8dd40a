package provider

import (
	"fmt"
	"os"
	"path/filepath"
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
      host_key = "` + testHostKey + `"
%s
    }
  }
}
`

const testHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeadBeefDeadBeefDeadBeefDeadBeefDeadBeefDeadBeefDeadBe"

// hostsProviderWith is a provider block whose one host, mail1, has exactly
// the settings given (one per line).
func hostsProviderWith(settings ...string) string {
	return "provider \"dockeripv6\" {\n  hosts = {\n    mail1 = {\n      " + strings.Join(settings, "\n      ") + "\n    }\n  }\n}\n"
}

const onMail1 = `data "dockeripv6_host" "h" {
  host = "mail1"
}`

// Bad hosts settings and host arguments fail at plan, before anything
// connects, and say what is wrong.
func TestAccProvider_hostsBadInput(t *testing.T) {
	addr := func(a string) string { return hostsProviderWith(`address = "`+a+`"`, `host_key = "`+testHostKey+`"`) }
	for name, c := range map[string]struct{ provider, body, want string }{
		"unknown host": {body: `data "dockeripv6_host" "h" {
  host = "mail2"
}`, want: `host = "mail2" names no entry of the provider's hosts. The provider's hosts are: mail1.`},
		"bad sudo":          {provider: fmt.Sprintf(hostsProvider, `      sudo = "sometimes"`), want: `value must be one of: ["auto" "always" "never"]`},
		"port too large":    {provider: fmt.Sprintf(hostsProvider, `      port = 70000`), want: `port 70000 is out of range: TCP ports are 1 to 65535.`},
		"port 0":            {provider: fmt.Sprintf(hostsProvider, `      port = 0`), want: `port 0 is out of range: TCP ports are 1 to 65535.`},
		"port 22.5":         {provider: fmt.Sprintf(hostsProvider, `      port = 22.5`), want: `22.5 is not a whole number: a port is a TCP port number from 1 to 65535.`},
		"port 1e20":         {provider: fmt.Sprintf(hostsProvider, `      port = 1e20`), want: `port 1e+20 is out of range: TCP ports are 1 to 65535.`},
		"address with port": {provider: addr("mx1:2222"), want: `"mx1:2222" has a port: write address = "mx1" and port = 2222`},
		"bracketed address": {provider: addr("[fd00::1]"), want: `"[fd00::1]" has brackets: write the address without them ("fd00::1"); a port goes in port`},
		"bracketed address with port": {provider: addr("[fd00::1]:2222"),
			want: `"[fd00::1]:2222" has a port: write address = "fd00::1" and port = 2222`},
		"address with user": {provider: addr("admin@mx1"), want: `"admin@mx1" names a user: write address = "mx1" and user = "admin"`},
		"bad IPv6 address":  {provider: addr("fd00::zz"), want: `"fd00::zz" is not an IPv6 address`},
		"empty address":     {provider: addr(""), want: `address is empty: set the mail host's name or address`},
		"another user's home": {provider: fmt.Sprintf(hostsProvider, `      known_hosts_file = "~mail/.ssh/known_hosts"`),
			want: `known_hosts_file "~mail/.ssh/known_hosts": only a leading ~/ (the home directory of the user running Terraform) is expanded; write the full path`},
		"empty host": {body: `resource "dockeripv6_network" "n" {
  host = ""
  name = "acc-hosts"
}`, want: `string length must be at least 1`},
		"host unknown at plan": {body: `resource "dockeripv6_ula_prefix" "site" {}
resource "dockeripv6_daemon_config" "d" {
  host      = dockeripv6_ula_prefix.site.id
  ip6tables = true
}`, want: `host depends on a value that is not known until apply`},
		"ssh docker_host": {provider: fmt.Sprintf(hostsProvider, `      docker_host = "ssh://root@fd00:dead:beef::25"`),
			want: `docker_host does not take ssh:// addresses.`},
	} {
		t.Run(name, func(t *testing.T) {
			if c.provider == "" {
				c.provider = fmt.Sprintf(hostsProvider, "")
			}
			if c.body == "" {
				c.body = onMail1
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testProviders,
				Steps: []resource.TestStep{{
					Config:      c.provider + c.body,
					PlanOnly:    true,
					ExpectError: errorLike(c.want),
				}},
			})
		})
	}
}

// A leading ~/ in known_hosts_file is the home directory of the user running
// Terraform: the file the provider looks for is there (it does not exist, so
// the plan fails before anything connects, naming the expanded path).
func TestAccProvider_knownHostsFileTilde(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	want := "known_hosts file " + filepath.Join(home, ".ssh", "dockeripv6-no-such-known-hosts") + ": stat "
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: hostsProviderWith(`address = "fd00:dead:beef::25"`, `known_hosts_file = "~/.ssh/dockeripv6-no-such-known-hosts"`) +
				onMail1,
			PlanOnly:    true,
			ExpectError: errorLike(want),
		}},
	})
}

func TestExpandHome(t *testing.T) {
	t.Setenv("HOME", "/home/operator")
	for in, want := range map[string]string{
		"":                       "",
		"/etc/ssh/known_hosts":   "/etc/ssh/known_hosts",
		"known_hosts":            "known_hosts",
		"~":                      "/home/operator",
		"~/.ssh/known_hosts":     "/home/operator/.ssh/known_hosts",
		"~/":                     "/home/operator",
		"a/~/b":                  "a/~/b",
		"~mail/.ssh/known_hosts": "error",
	} {
		got, err := expandHome(in)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("expandHome(%q) = %q (%v), want %q", in, got, err, want)
		}
	}
}

// insecure_skip_host_key_verification warns at every plan that configures
// the provider, naming the host, even when no object is on that host
// (nothing connects then); with host_key set the key is checked all the same
// (host_key wins), so nothing warns.
func TestAccProvider_insecureHostKeyWarnsEveryPlan(t *testing.T) {
	const insecure = `insecure_skip_host_key_verification = true`
	w := newTFWorkdir(t, hostsProviderWith(`address = "fd00:dead:beef::25"`, insecure)+`
resource "dockeripv6_ula_prefix" "site" {}
`)
	for i := 0; i < 2; i++ {
		out := folded(w.run("plan"))
		if !strings.Contains(out, "Warning: Host Key Not Verified") ||
			!strings.Contains(out, `hosts["mail1"] (root@[fd00:dead:beef::25]:22) accepts any host key`) {
			t.Fatalf("plan %d: want the Host Key Not Verified warning naming mail1, got:\n%s", i+1, out)
		}
	}
	w.write(fmt.Sprintf(hostsProvider, "      "+insecure) + `
resource "dockeripv6_ula_prefix" "site" {}
`)
	if out := folded(w.run("plan")); strings.Contains(out, "Host Key Not Verified") || strings.Contains(out, "Warning") {
		t.Fatalf("with host_key set the key is checked: want no warning, got:\n%s", out)
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
