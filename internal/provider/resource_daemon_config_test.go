package provider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host/local"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// withDaemonJSON replaces the sandbox's daemon.json with content for the test (restarting
// dockerd so it runs with it) and puts the original back afterwards.
func withDaemonJSON(t *testing.T, cli *client.Client, content func(orig []byte) []byte) []byte {
	t.Helper()
	p := sandbox.DaemonJSONPath()
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	restore := func() {
		cur, _ := os.ReadFile(p)
		if bytes.Equal(cur, orig) {
			return
		}
		if err := os.WriteFile(p, orig, 0o644); err != nil {
			t.Errorf("restoring daemon.json: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := sandbox.RestartDocker(ctx); err != nil {
			t.Errorf("restarting dockerd with the original daemon.json: %v", err)
		}
	}
	t.Cleanup(restore)
	next := content(orig)
	if err := os.WriteFile(p, next, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.RestartDocker(testCtx(t)); err != nil {
		t.Fatalf("dockerd does not start with the test's daemon.json: %v\n%s", err, next)
	}
	return next
}

// richDaemonJSON is the sandbox's own file plus unmanaged keys that dockerd accepts,
// written the way people write them: nested objects, arrays, unicode (raw and
// escaped), tabs and odd spacing.
func richDaemonJSON(orig []byte) []byte {
	inner := strings.TrimSpace(string(orig))
	inner = strings.TrimSuffix(strings.TrimPrefix(inner, "{"), "}")
	return []byte("{\n\t\"log-driver\" :   \"json-file\",\n" +
		"  \"log-opts\": {\"max-size\": \"10m\",   \"labels\": \"postfix,dovecot\"},\n" +
		"  \"labels\": [\"note=héllo wörld ✓\", \"escaped=caf\\u00e9\"],\n" +
		"  \"default-ulimits\": { \"nofile\": { \"Name\": \"nofile\", \"Hard\": 65536, \"Soft\": 65536 } },\n" +
		"  \"max-concurrent-downloads\" : 3," + inner + "}\n")
}

func ipv6Config(extra string) string {
	return fmt.Sprintf(`
resource "dockeripv6_daemon_config" "d" {
  default_bridge_ipv6 = true
  fixed_cidr_v6 = "fd3a:9c1e:77b0:ff::/64"
  ip6tables     = true
  experimental  = true
  %s
}
`, extra)
}

func TestAccDaemonConfig_mergeRestartVerifyDestroy(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	ctx := testCtx(t)
	p := sandbox.DaemonJSONPath()
	original := withDaemonJSON(t, cli, richDaemonJSON)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			got, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, original) {
				return fmt.Errorf("destroy did not put daemon.json back byte for byte:\n--- want\n%s\n--- got\n%s", original, got)
			}
			info, err := cli.Info(ctx)
			if err != nil {
				return fmt.Errorf("dockerd is not up after destroy: %v", err)
			}
			if info.ExperimentalBuild {
				return fmt.Errorf("dockerd still runs with experimental after destroy")
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: ipv6Config(""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("dockeripv6_daemon_config.d", tfjsonpath.New("restart_pending"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("dockeripv6_daemon_config.d", tfjsonpath.New("path"), knownvalue.StringExact(p)),
					statecheck.ExpectKnownValue("dockeripv6_daemon_config.d", tfjsonpath.New("docker_version"), knownvalue.NotNull()),
				},
				Check: func(*terraform.State) error {
					got, err := os.ReadFile(p)
					if err != nil {
						return err
					}
					// Unmanaged bytes untouched: taking our keys out again gives the original.
					keys := []string{"ipv6", "fixed-cidr-v6", "ip6tables", "experimental"}
					back, err := daemonconfig.Remove(got, keys...)
					if err != nil {
						return err
					}
					if !bytes.Equal(back, original) {
						return fmt.Errorf("unmanaged content changed:\n--- original\n%s\n--- after apply, owned keys removed\n%s", original, back)
					}
					s, err := daemonconfig.Parse(got)
					if err != nil || s.IPv6 == nil || !*s.IPv6 || s.FixedCIDRv6 == nil || *s.FixedCIDRv6 != "fd3a:9c1e:77b0:ff::/64" {
						return fmt.Errorf("file does not hold the planned values (%v): %s", err, got)
					}
					// The running daemon shows the new settings.
					info, err := cli.Info(ctx)
					if err != nil {
						return err
					}
					if !info.ExperimentalBuild {
						return fmt.Errorf("/info does not show experimental after apply")
					}
					br, err := cli.NetworkInspect(ctx, "bridge", network.InspectOptions{})
					if err != nil {
						return err
					}
					if !br.EnableIPv6 {
						return fmt.Errorf("default bridge has no IPv6 after apply")
					}
					if chain := local.DockerIP6Chain(); chain == nil || !*chain {
						return fmt.Errorf("no ip6tables DOCKER chain after apply (%v)", chain)
					}
					return nil
				},
			},
			{
				// Applied and nothing changed since: no diff, no restart.
				Config:           ipv6Config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName: "dockeripv6_daemon_config.d", ImportState: true, ImportStateId: p, ImportStateVerify: true,
				// Import adopts every owned key present in the file, so the sandbox's own
				// default-address-pools is managed after import though this configuration leaves it alone.
				ImportStateVerifyIgnore: []string{"restart", "docker_version", "default_address_pools"},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					a := states[0].Attributes
					if a["default_address_pools.0.base"] != "198.18.64.0/18" || a["fixed_cidr_v6"] != "fd3a:9c1e:77b0:ff::/64" || a["ip6tables"] != "true" {
						return fmt.Errorf("import did not adopt the file's keys: %v", a)
					}
					return nil
				},
			},
			{
				// A key edited outside Terraform (and dockerd restarted by hand): an update.
				PreConfig: func() {
					editDaemonJSON(t, daemonconfig.Settings{FixedCIDRv6: daemonconfig.String("fd3a:9c1e:77b0:ee::/64")})
					if err := sandbox.RestartDocker(ctx); err != nil {
						t.Fatal(err)
					}
				},
				Config: ipv6Config(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("dockeripv6_daemon_config.d", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("dockeripv6_daemon_config.d", tfjsonpath.New("fixed_cidr_v6"), knownvalue.StringExact("fd3a:9c1e:77b0:ff::/64")),
				}},
				Check: func(*terraform.State) error {
					br, err := cli.NetworkInspect(ctx, "bridge", network.InspectOptions{})
					if err != nil {
						return err
					}
					for _, c := range br.IPAM.Config {
						if c.Subnet == "fd3a:9c1e:77b0:ff::/64" {
							return nil
						}
					}
					return fmt.Errorf("after the update the default bridge has %+v", br.IPAM.Config)
				},
			},
		},
	})
}

// editDaemonJSON changes keys of the sandbox's daemon.json the way a person would.
func editDaemonJSON(t *testing.T, s daemonconfig.Settings) {
	t.Helper()
	p := sandbox.DaemonJSONPath()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := daemonconfig.Merge(b, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAccDaemonConfig_methodNoneThenRestartPending(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	ctx := testCtx(t)
	withDaemonJSON(t, cli, func(orig []byte) []byte { return orig })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: `
resource "dockeripv6_daemon_config" "d" {
  experimental = true
  restart {
    method = "none"
  }
}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("dockeripv6_daemon_config.d", tfjsonpath.New("restart_pending"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error {
					info, err := cli.Info(ctx)
					if err != nil {
						return err
					}
					if info.ExperimentalBuild {
						return fmt.Errorf("method none restarted dockerd: /info shows experimental")
					}
					return nil
				},
			},
			{
				// The file says experimental, the daemon does not: the refresh sees it,
				// and with method systemd the plan is an update that restarts.
				Config: `resource "dockeripv6_daemon_config" "d" { experimental = true }`,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("dockeripv6_daemon_config.d", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("dockeripv6_daemon_config.d", tfjsonpath.New("restart_pending"), knownvalue.Bool(false)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("dockeripv6_daemon_config.d", tfjsonpath.New("restart_pending"), knownvalue.Bool(false)),
				},
				Check: func(*terraform.State) error {
					info, err := cli.Info(ctx)
					if err != nil {
						return err
					}
					if !info.ExperimentalBuild {
						return fmt.Errorf("the restart did not happen: /info does not show experimental")
					}
					return nil
				},
			},
			{
				// Edited outside and restarted by nobody: restart_pending, an update.
				PreConfig: func() { editDaemonJSON(t, daemonconfig.Settings{LiveRestore: daemonconfig.Bool(true)}) },
				Config:    `resource "dockeripv6_daemon_config" "d" { experimental = true }`,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("dockeripv6_daemon_config.d", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					info, err := cli.Info(ctx)
					if err != nil {
						return err
					}
					if !info.LiveRestoreEnabled {
						return fmt.Errorf("the pending edit was not applied by a restart: live-restore off")
					}
					return nil
				},
			},
		},
	})
}

func TestAccDaemonConfig_failedRestartRollsBack(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	ctx := testCtx(t)
	p := sandbox.DaemonJSONPath()
	// Someone else left a key that is harmless while IPv6 is off and fatal once it is on:
	// a default IPv6 gateway outside the subnet this apply sets. Plan-time rules cannot know.
	before := withDaemonJSON(t, cli, func(orig []byte) []byte {
		out, err := daemonconfig.Merge(orig, daemonconfig.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Replace(out, []byte("{"), []byte("{\n  \"default-gateway-v6\": \"fd3a:9c1e:77b0:77::1\","), 1)
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config:      ipv6Config(""),
			ExpectError: regexp.MustCompile(`(?s)Docker Daemon Did Not Come Back; Rolled Back.*previous daemon.json is back.*is up.*dockerd said:`),
		}},
	})
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, before) {
		t.Fatalf("daemon.json after the failed apply is not the previous file:\n--- want\n%s\n--- got\n%s", before, got)
	}
	if _, err := cli.Ping(ctx); err != nil {
		t.Fatalf("dockerd is not running after the rollback: %v", err)
	}
}

func TestAccDaemonConfig_filesOffTheDaemon(t *testing.T) {
	sandbox.Require(t)
	dir := t.TempDir()
	// A missing file (and directory) is created with mode 0644.
	created := filepath.Join(dir, "new", "daemon.json")
	// A symlinked daemon.json is written through to its target.
	target := filepath.Join(dir, "real.json")
	if err := os.WriteFile(target, []byte("{\n    \"log-level\": \"warn\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "daemon.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
resource "dockeripv6_daemon_config" "created" {
  path      = %q
  ip6tables = true
  experimental = true
  restart { method = "none" }
}
resource "dockeripv6_daemon_config" "linked" {
  path           = %q
  userland_proxy = false
  restart { method = "none" }
}
`, created, link)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: func(*terraform.State) error {
				fi, err := os.Stat(created)
				if err != nil {
					return err
				}
				if fi.Mode().Perm() != 0o644 {
					return fmt.Errorf("created file mode %v, want 0644", fi.Mode().Perm())
				}
				if lfi, err := os.Lstat(link); err != nil || lfi.Mode()&os.ModeSymlink == 0 {
					return fmt.Errorf("daemon.json is no longer a symlink (%v)", err)
				}
				b, _ := os.ReadFile(target)
				want := "{\n    \"log-level\": \"warn\",\n    \"userland-proxy\": false\n}\n"
				if string(b) != want {
					return fmt.Errorf("symlink target holds %q, want %q", b, want)
				}
				return nil
			},
		}},
	})
	// Destroy gave back exactly what was there before: the target's old content.
	b, _ := os.ReadFile(target)
	if string(b) != "{\n    \"log-level\": \"warn\"\n}\n" {
		t.Fatalf("after destroy the symlink target holds %q", b)
	}
}

func TestAccDaemonConfig_badInput(t *testing.T) {
	sandbox.Require(t)
	dir := t.TempDir()
	malformed := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(malformed, []byte("{\n  \"ipv6\": true,\n  \"bip\" \"198.18.0.1/24\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	none := `restart { method = "none" }`
	path := fmt.Sprintf("path = %q", filepath.Join(dir, "ok.json"))
	cases := []badInput{
		{path + "\n fixed_cidr_v6 = \"2001:db8::/64\"\n" + none, "documentation address space"},
		{path + "\n fixed_cidr_v6 = \"fc00::/64\"\n" + none, "L bit 0"},
		{path + "\n fixed_cidr_v6 = \"198.18.0.0/24\"\n" + none, "is an IPv4 prefix"},
		{path + "\n default_address_pools = [{ base = \"198.18.64.0/18\", size = 0 }]\n" + none, "default_address_pools[0].size is 0: it is the prefix length"},
		{path + "\n default_address_pools = [{ base = \"not-a-cidr\", size = 24 }]\n" + none, `default_address_pools[0].base "not-a-cidr" is not a CIDR prefix`},
		{path + "\n experimental = true\n restart {\n method = \"reboot\"\n }", `value must be one of: ["systemd" "none"]`},
		{path + "\n experimental = true\n restart {\n timeout = \"soon\"\n }", `is not a positive duration`},
		{path + "\n experimental = true\n restart {\n timeout = \"1ns\"\n }", `restart timeout 1ns is too short: dockerd needs seconds to restart`},
		{path + "\n experimental = true\n restart {\n timeout = \"3h\"\n }", `restart timeout 3h0m0s is longer than 1h0m0s`},
		{"path = \"daemon.json\"\n experimental = true\n" + none, `"daemon.json" is a relative path: dockerd reads daemon.json by an absolute path`},
		{fmt.Sprintf("path = %q\n default_bridge_ipv6 = true\n fixed_cidr_v6 = \"fd3a:9c1e:77b0:ff::/64\"\n%s", malformed, none), "line 3, column"},
	}
	planFails(t, func(body string) string {
		return fmt.Sprintf("resource \"dockeripv6_daemon_config\" \"bad\" {\n %s\n}\n", body)
	}, cases)
	// The malformed file was never touched.
	if b, _ := os.ReadFile(malformed); !strings.Contains(string(b), `"bip" "198.18.0.1/24"`) {
		t.Fatalf("malformed daemon.json was changed: %q", b)
	}
}

// The version rules, proven against the engine the sandbox runs.
func TestAccDaemonConfig_versionRules(t *testing.T) {
	sandbox.Require(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
resource "dockeripv6_daemon_config" "v" {
  path      = %q
  ip6tables = true
  default_bridge_ipv6 = true
  restart { method = "none" }
}`, filepath.Join(dir, "daemon.json"))
	step := resource.TestStep{Config: cfg, PlanOnly: true, ExpectNonEmptyPlan: true}
	switch sandbox.Engine() {
	case "20":
		// Docker 20.10 refuses to start with ip6tables but no experimental, and ipv6 without fixed-cidr-v6.
		step.ExpectError = regexp.MustCompile(`(?s)experimental.*fixed-cidr-v6|(?s)fixed-cidr-v6.*experimental`)
	case "29":
		// Docker 29 needs neither: the plan is clean.
	default:
		t.Fatalf("unknown sandbox engine %q", sandbox.Engine())
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: []resource.TestStep{step}})
}

// default_address_pools is judged at validate, before any plan, and its errors
// point at the attribute (Terraform cannot point inside a list of objects), the
// message naming the element and field.
func TestDaemonConfig_validatePools(t *testing.T) {
	pool := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"base": tftypes.String, "size": tftypes.Number}}
	pools := func(ps ...[2]any) tftypes.Value {
		var vs []tftypes.Value
		for _, p := range ps {
			vs = append(vs, tftypes.NewValue(pool, map[string]tftypes.Value{"base": tfString(p[0].(string)), "size": tfNumber(p[1].(float64))}))
		}
		return tftypes.NewValue(tftypes.List{ElementType: pool}, vs)
	}
	cases := []struct {
		pools         tftypes.Value
		summary, want string
	}{
		{pools([2]any{"not-a-cidr", 24.0}), "Invalid Address Pool Base",
			`default_address_pools[0].base "not-a-cidr" is not a CIDR prefix. Use a prefix such as "172.17.0.0/16" or a ULA /48 such as one from ula_prefix().`},
		{pools([2]any{"198.18.64.0/18", 24.0}, [2]any{"198.19.0.0/16", 0.0}), "Invalid Address Pool Size",
			"default_address_pools[1].size is 0: it is the prefix length of each network cut from the base, from 1 to 128 (at most 32 for IPv4), for example 24 for IPv4 or 64 for IPv6."},
		{pools([2]any{"198.18.64.0/18", 24.5}), "Invalid Address Pool Size",
			"default_address_pools[0].size is 24.5, not a whole number: it is the prefix length of each network cut from the base, for example 24 for IPv4 or 64 for IPv6."},
		{pools([2]any{"198.18.64.0/18", 16.0}), "Address Pool Size Shorter Than Base", "default_address_pools[0].size /16 is shorter than its base 198.18.64.0/18"},
	}
	for _, c := range cases {
		diags := validateResource(t, "dockeripv6_daemon_config", map[string]tftypes.Value{"default_address_pools": c.pools})
		diagAt(t, diags, tfprotov6.DiagnosticSeverityError, c.summary, "default_address_pools", c.want)
	}
	ok := pools([2]any{"198.18.64.0/18", 24.0}, [2]any{"fd7e:3c1a:95d2::/48", 64.0})
	if diags := validateResource(t, "dockeripv6_daemon_config", map[string]tftypes.Value{"default_address_pools": ok}); len(diags) != 0 {
		t.Errorf("valid pools: %s", diagsText(diags))
	}
}

// A relative daemon.json path and a restart timeout dockerd cannot meet are
// refused by `terraform validate`, before any host is asked.
func TestDaemonConfig_validatePathAndTimeout(t *testing.T) {
	typ := "dockeripv6_daemon_config"
	diags := validateResource(t, typ, map[string]tftypes.Value{"path": tftypes.NewValue(tftypes.String, "docker/daemon.json")})
	diagAt(t, diags, tfprotov6.DiagnosticSeverityError, "Invalid daemon.json Path", "path",
		`"docker/daemon.json" is a relative path: dockerd reads daemon.json by an absolute path (default /etc/docker/daemon.json)`)
	restart := func(timeout string) tftypes.Value {
		ot := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"method": tftypes.String, "unit": tftypes.String, "timeout": tftypes.String}}
		return tftypes.NewValue(ot, map[string]tftypes.Value{"method": tftypes.NewValue(tftypes.String, nil),
			"unit": tftypes.NewValue(tftypes.String, nil), "timeout": tftypes.NewValue(tftypes.String, timeout)})
	}
	for timeout, want := range map[string]string{
		"1ns":   "restart timeout 1ns is too short: dockerd needs seconds to restart, and every wait of the apply derives from this value; use at least 1s",
		"900ms": "restart timeout 900ms is too short",
		"2h":    "restart timeout 2h0m0s is longer than 1h0m0s",
	} {
		diags := validateResource(t, typ, map[string]tftypes.Value{"restart": restart(timeout)})
		found := false
		for _, d := range diags {
			found = found || d.Summary == "Invalid Restart Timeout" && strings.Contains(d.Detail, want)
		}
		if !found {
			t.Errorf("timeout %s: want %q in %s", timeout, want, diagsText(diags))
		}
	}
	if diags := validateResource(t, typ, map[string]tftypes.Value{"path": tftypes.NewValue(tftypes.String, "/etc/docker/daemon.json"), "restart": restart("1s")}); len(diags) != 0 {
		t.Errorf("valid path and timeout: %s", diagsText(diags))
	}
}
