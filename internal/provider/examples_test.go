package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// TestAccExampleMailserver_drift applies examples/mailserver as a user would, breaks the
// posture the ways people do, and checks that each shows in the plan and that the next
// apply brings the verdict back to preserved.
func TestAccExampleMailserver_drift(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	ctx := testCtx(t)
	withDaemonJSON(t, cli, func(orig []byte) []byte { return orig })
	// The example names its provider dockeripv6/dockeripv6, as users will.
	t.Setenv("TF_ACC_PROVIDER_NAMESPACE", "dockeripv6")

	dir := config.StaticDirectory("../../examples/mailserver")
	vars := config.Variables{"hostname": config.StringVariable("mx.acc.test"), "network_name": config.StringVariable("acc-mail")}
	preserved := []statecheck.StateCheck{
		statecheck.ExpectKnownOutputValue("ipv6_verdict", knownvalue.StringExact("preserved")),
		statecheck.ExpectKnownOutputValue("ipv4_verdict", knownvalue.StringExact("preserved")),
	}
	planShows := func(addr string, action plancheck.ResourceActionType) resource.ConfigPlanChecks {
		return resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, action)}}
	}
	editAndRestart := func(edit func([]byte) []byte) func() {
		return func() {
			p := sandbox.DaemonJSONPath()
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, edit(b), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := sandbox.RestartDocker(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The example has a provider block, so the providers go on each step (a
	// terraform-plugin-testing rule for configurations that declare providers).
	steps := []resource.TestStep{
		{ConfigDirectory: dir, ConfigVariables: vars, ConfigStateChecks: preserved},
		{
			// Someone hand-edits daemon.json (ip6tables off) and restarts Docker.
			PreConfig: editAndRestart(func(b []byte) []byte {
				out, err := daemonconfig.Merge(b, daemonconfig.Settings{IP6Tables: daemonconfig.Bool(false)})
				if err != nil {
					t.Fatal(err)
				}
				return out
			}),
			ConfigDirectory: dir, ConfigVariables: vars,
			ConfigPlanChecks:  planShows("dockeripv6_daemon_config.this", plancheck.ResourceActionUpdate),
			ConfigStateChecks: preserved,
		},
		{
			// docker network rm.
			PreConfig: func() {
				if err := cli.NetworkRemove(ctx, "acc-mail"); err != nil {
					t.Fatal(err)
				}
			},
			ConfigDirectory: dir, ConfigVariables: vars,
			ConfigPlanChecks:  planShows("dockeripv6_network.mail", plancheck.ResourceActionCreate),
			ConfigStateChecks: preserved,
		},
		{
			// Someone deletes our nftables table.
			PreConfig: func() {
				if out, err := exec.Command("nft", "delete", "table", "inet", "dockeripv6").CombinedOutput(); err != nil {
					t.Fatalf("nft delete table: %v: %s", err, out)
				}
			},
			ConfigDirectory: dir, ConfigVariables: vars,
			ConfigPlanChecks:  planShows("dockeripv6_firewall.mail", plancheck.ResourceActionCreate),
			ConfigStateChecks: preserved,
		},
		{
			// A Docker restart with ip6tables gone from daemon.json.
			PreConfig: editAndRestart(func(b []byte) []byte {
				out, err := daemonconfig.Remove(b, "ip6tables")
				if err != nil {
					t.Fatal(err)
				}
				return out
			}),
			ConfigDirectory: dir, ConfigVariables: vars,
			ConfigPlanChecks:  planShows("dockeripv6_daemon_config.this", plancheck.ResourceActionUpdate),
			ConfigStateChecks: preserved,
		},
	}
	for i := range steps {
		steps[i].ProtoV6ProviderFactories = testProviders
	}
	resource.Test(t, resource.TestCase{Steps: steps})
	if _, err := cli.NetworkInspect(ctx, "acc-mail", network.InspectOptions{}); err == nil {
		t.Fatalf("network acc-mail survived destroy")
	}
}

// TestAccExamples_apply applies the documentation examples as they are written.
func TestAccExamples_apply(t *testing.T) {
	sandbox.RequireExclusive(t) // the daemon_config example restarts dockerd
	cli := dockerClient(t)
	ctx := testCtx(t)
	withDaemonJSON(t, cli, func(orig []byte) []byte { return orig })
	t.Setenv("TF_ACC_PROVIDER_NAMESPACE", "dockeripv6")
	// The client_ip example measures the network a compose project makes.
	if _, err := cli.NetworkCreate(ctx, "mailserver_default", network.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), "mailserver_default") })
	// Its container example measures the running mail container: a stand-in
	// server named as compose's container_name, on one published port,
	// started after the daemon_config example has restarted dockerd.
	mp := ctrFreePort(t)
	for _, c := range []struct {
		dir    string
		checks []statecheck.StateCheck
	}{
		{"functions/ula_prefix", []statecheck.StateCheck{statecheck.ExpectKnownOutputValue("mail_subnet", knownvalue.StringExact("fda8:3b4f:4f2c:1::/64"))}},
		{"resources/dockeripv6_ula_prefix", []statecheck.StateCheck{statecheck.ExpectKnownOutputValue("site_prefix", knownvalue.StringRegexp(ulaShape))}},
		{"resources/dockeripv6_network", []statecheck.StateCheck{statecheck.ExpectKnownOutputValue("mail_network",
			knownvalue.MapPartial(map[string]knownvalue.Check{"ipv4_subnet": knownvalue.StringRegexp(benchV4)}))}},
		{"resources/dockeripv6_daemon_config", []statecheck.StateCheck{statecheck.ExpectKnownValue("dockeripv6_daemon_config.this",
			tfjsonpath.New("restart_pending"), knownvalue.Bool(false))}},
		{"data-sources/dockeripv6_client_ip", []statecheck.StateCheck{statecheck.ExpectKnownOutputValue("ipv6_verdict",
			knownvalue.StringRegexp(regexp.MustCompile(`^masqueraded: `))),
			statecheck.ExpectKnownOutputValue("mail_ports", knownvalue.ListExact([]knownvalue.Check{
				knownvalue.StringRegexp(regexp.MustCompile(fmt.Sprintf(`^%d/ipv6 via proxy: masqueraded, seen as `, mp))),
				knownvalue.StringRegexp(regexp.MustCompile(fmt.Sprintf(`^%d/ipv4 via dnat: preserved, seen as `, mp)))}))}},
	} {
		t.Run(c.dir, func(t *testing.T) {
			if c.dir == "data-sources/dockeripv6_client_ip" {
				ctrStart(t, cli, "mailserver", ctrStandIn{ports: []int{mp}, bindings: map[int][]string{mp: ctrWildcard}})
			}
			resource.Test(t, resource.TestCase{Steps: []resource.TestStep{{
				ProtoV6ProviderFactories: testProviders,
				ConfigDirectory:          config.StaticDirectory(exampleWithProvider(t, c.dir)),
				ConfigStateChecks:        c.checks,
				// A preserved row is seen as the simulated client, which takes a
				// fresh address at each read: the container example's output
				// changes at every plan (no resource does).
				ExpectNonEmptyPlan: c.dir == "data-sources/dockeripv6_client_ip",
			}}})
		})
	}
}

// exampleWithProvider copies examples/<dir> beside examples/provider/provider.tf (the
// required_providers block the documentation examples leave out) into a temporary directory.
func exampleWithProvider(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	for _, src := range []string{"../../examples/" + dir, "../../examples/provider"} {
		files, err := filepath.Glob(filepath.Join(src, "*.tf"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no .tf files in %s (%v)", src, err)
		}
		for _, f := range files {
			if strings.HasPrefix(filepath.Base(f), "import-") {
				continue // import blocks adopt what a user already has; applied by the import tests
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, filepath.Base(filepath.Dir(f))+"_"+filepath.Base(f)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// The mail example's ULA seed is a required input: no shared default prefix.
func TestAccExampleMailserver_hostnameRequired(t *testing.T) {
	sandbox.Require(t)
	t.Setenv("TF_ACC_PROVIDER_NAMESPACE", "dockeripv6")
	dir := config.StaticDirectory("../../examples/mailserver")
	for _, c := range []struct {
		vars config.Variables
		want *regexp.Regexp
	}{
		{config.Variables{}, errorLike(`The root module input variable "hostname" is not set, and has no default value.`)},
		{config.Variables{"hostname": config.StringVariable(" ")},
			errorLike(`hostname seeds the mail network's ULA prefix and must not be empty: set it to this host's fully qualified name.`)},
	} {
		resource.Test(t, resource.TestCase{Steps: []resource.TestStep{{
			ProtoV6ProviderFactories: testProviders,
			ConfigDirectory:          dir, ConfigVariables: c.vars,
			PlanOnly: true, ExpectError: c.want,
		}}})
	}
}
