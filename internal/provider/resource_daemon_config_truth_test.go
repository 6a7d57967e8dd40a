package provider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/docker/docker/client"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// Issue 10's defects: an apply must end with dockerd running the settings it
// promised, also when daemon.json already holds them (a hand edit never
// applied, or an apply killed between its write and its restart) and when
// dockerd is not running at all.

const experimentalConfig = `
resource "dockeripv6_daemon_config" "d" {
  ip6tables    = true
  experimental = true
}
`

// fileAheadOfDaemon writes ip6tables and experimental into daemon.json without
// restarting dockerd, so the file says what the running daemon does not do.
func fileAheadOfDaemon(t *testing.T) {
	t.Helper()
	editDaemonJSON(t, daemonconfig.Settings{IP6Tables: daemonconfig.Bool(true), Experimental: daemonconfig.Bool(true)})
}

// stopDocker stops docker.service through systemd, as `systemctl stop docker` would.
func stopDocker(t *testing.T, cli *client.Client) {
	t.Helper()
	ctx := testCtx(t)
	conn, err := sd.NewSystemConnectionContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	done := make(chan string, 1)
	if _, err := conn.StopUnitContext(ctx, sandbox.DockerUnit, "replace", done); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r != "done" {
		t.Fatalf("stopping %s: job %s", sandbox.DockerUnit, r)
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err == nil {
		t.Fatal("dockerd still answers after systemctl stop")
	}
}

// runsExperimental checks that dockerd answers and runs with experimental on.
func runsExperimental(cli *client.Client) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		info, err := cli.Info(ctx)
		if err != nil {
			return fmt.Errorf("dockerd does not answer after the apply: %w", err)
		}
		if !info.ExperimentalBuild {
			return fmt.Errorf("dockerd runs with experimental = false after an apply that promised true")
		}
		return nil
	}
}

var notPending = statecheck.ExpectKnownValue("dockeripv6_daemon_config.d", tfjsonpath.New("restart_pending"), knownvalue.Bool(false))

// Defect 1: the file already holds the values, dockerd runs without them, no state.
func TestAccDaemonConfig_fileAheadOfDaemonIsApplied(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	withDaemonJSON(t, cli, func(orig []byte) []byte { return orig })
	fileAheadOfDaemon(t)
	before, err := os.ReadFile(sandbox.DaemonJSONPath())
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config:            experimentalConfig,
				Check:             runsExperimental(cli),
				ConfigStateChecks: []statecheck.StateCheck{notPending},
			},
			{
				Config:           experimentalConfig,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
	after, err := os.ReadFile(sandbox.DaemonJSONPath())
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Fatalf("destroy did not leave the keys the file held before the resource took them:\n%s\n---\n%s", before, after)
	}
}

// Defect 2: the same file with dockerd stopped; then dockerd stopped under an
// existing state: the refresh says so and the apply starts it.
func TestAccDaemonConfig_stoppedDaemonIsStarted(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	withDaemonJSON(t, cli, func(orig []byte) []byte { return orig })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				PreConfig:         func() { fileAheadOfDaemon(t); stopDocker(t, cli) },
				Config:            experimentalConfig,
				Check:             runsExperimental(cli),
				ConfigStateChecks: []statecheck.StateCheck{notPending},
			},
			{
				PreConfig: func() { stopDocker(t, cli) },
				Config:    experimentalConfig,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("dockeripv6_daemon_config.d", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("dockeripv6_daemon_config.d", tfjsonpath.New("restart_pending"), knownvalue.Bool(false)),
				}},
				Check:             runsExperimental(cli),
				ConfigStateChecks: []statecheck.StateCheck{notPending},
			},
			{
				Config:           experimentalConfig,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// The plan warns that dockerd restarts only when the apply will restart it
// (issue 13): not for a file and a daemon that already agree.
func TestAccDaemonConfig_restartWarningOnlyWhenItRestarts(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	withDaemonJSON(t, cli, func(orig []byte) []byte { return orig })
	fileAheadOfDaemon(t)
	w := newTFWorkdir(t, experimentalConfig)

	out := folded(w.run("plan", "-input=false"))
	if !strings.Contains(out, "Warning: Docker Daemon Restart") ||
		!strings.Contains(out, "the running dockerd does not have the file's") {
		t.Fatalf("plan over a file dockerd does not run yet does not warn of the restart and why:\n%s", out)
	}
	w.run("apply", "-input=false", "-auto-approve")
	if err := runsExperimental(cli)(nil); err != nil {
		t.Fatal(err)
	}

	// The file holds the values and dockerd runs them: no restart, no warning.
	w2 := newTFWorkdir(t, experimentalConfig)
	out = folded(w2.run("plan", "-input=false"))
	if strings.Contains(out, "Docker Daemon Restart") {
		t.Fatalf("plan warns of a restart that the apply will not do:\n%s", out)
	}
	if !strings.Contains(out, "dockeripv6_daemon_config.d will be created") {
		t.Fatalf("unexpected plan:\n%s", out)
	}
	w.run("destroy", "-input=false", "-auto-approve")
}

// systemd unreachable after the write: the old file goes back and the error says so.
func TestAccDaemonConfig_systemdUnreachableRollsBack(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	before := withDaemonJSON(t, cli, func(orig []byte) []byte { return orig })
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/dockeripv6-test-no-bus")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: experimentalConfig,
			ExpectError: wrapped(`Docker Daemon Did Not Come Back; Rolled Back.*systemd could not be reached.*` +
				`no-bus.*previous daemon.json is back in place.*systemd unreachable.*dockerd is running`),
		}},
	})
	assertFileAndDaemon(t, cli, before)
}

// The Docker API silent past `timeout` after a restart: rolled back, and said.
func TestAccDaemonConfig_apiSilentPastTimeoutRollsBack(t *testing.T) {
	sandbox.RequireExclusive(t)
	cli := dockerClient(t)
	before := withDaemonJSON(t, cli, func(orig []byte) []byte { return orig })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			// dockerd restarts through systemd, but nothing answers where the provider looks.
			Config: `
provider "dockeripv6" {
  docker_host = "unix:///run/dockeripv6-test-nothing-listens.sock"
}
` + strings.Replace(experimentalConfig, "experimental = true", "experimental = true\n  restart {\n    timeout = \"20s\"\n  }", 1),
			ExpectError: wrapped(`Docker Daemon Did Not Come Back; Rolled Back.*` +
				`docker.service restarted but the Docker API did not answer within 20s.*nothing-listens.*previous daemon.json is back in place.*still does not answer`),
		}},
	})
	assertFileAndDaemon(t, cli, before)
}

// wrapped matches pattern in terraform's output, whose lines wrap at any space.
func wrapped(pattern string) *regexp.Regexp {
	return regexp.MustCompile("(?s)" + strings.ReplaceAll(pattern, " ", `\s+`))
}

// assertFileAndDaemon: daemon.json holds want byte for byte and dockerd answers.
func assertFileAndDaemon(t *testing.T, cli *client.Client, want []byte) {
	t.Helper()
	got, err := os.ReadFile(sandbox.DaemonJSONPath())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("daemon.json after the rollback is not the previous file:\n--- want\n%s\n--- got\n%s", want, got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sandbox.WaitDocker(ctx, "/run/docker.sock"); err != nil {
		t.Fatalf("dockerd is not running after the rollback: %v", err)
	}
}

// Every daemon.json key the resource owns maps to an attribute of its schema.
func TestDaemonJSONAttributesCoverOwnedKeys(t *testing.T) {
	var resp fwresource.SchemaResponse
	NewDaemonConfigResource().Schema(context.Background(), fwresource.SchemaRequest{}, &resp)
	for _, k := range daemonconfig.OwnedKeys {
		a, ok := daemonJSONAttributes[k]
		if !ok {
			t.Errorf("daemon.json key %q has no attribute in daemonJSONAttributes", k)
			continue
		}
		if _, ok := resp.Schema.Attributes[a]; !ok {
			t.Errorf("daemon.json key %q maps to %q, which the schema does not have", k, a)
		}
	}
}
