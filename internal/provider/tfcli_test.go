package provider

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host/local"
)

// tfWorkdir is a working directory in which the real terraform binary runs
// against this provider served in-process (TF_REATTACH_PROVIDERS). It shows
// what terraform-plugin-testing does not: the warnings a user reads in plan.
type tfWorkdir struct {
	t   *testing.T
	dir string
	env []string
}

func newTFWorkdir(t *testing.T, config string) *tfWorkdir {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	go func() {
		err := tf6server.Serve("registry.terraform.io/dockeripv6/dockeripv6",
			providerserver.NewProtocol6(New("test", local.New)()), tf6server.WithDebug(ctx, reattach, closed),
			tf6server.WithoutLogStderrOverride())
		if err != nil {
			t.Errorf("serving the provider: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-closed })
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case <-time.After(30 * time.Second):
		t.Fatal("the provider did not start serving")
	}
	env, err := json.Marshal(map[string]any{"registry.terraform.io/dockeripv6/dockeripv6": map[string]any{
		"Protocol": string(rc.Protocol), "ProtocolVersion": rc.ProtocolVersion, "Pid": rc.Pid, "Test": true,
		"Addr": map[string]string{"Network": rc.Addr.Network(), "String": rc.Addr.String()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rc2 := filepath.Join(dir, ".terraformrc")
	if err := os.WriteFile(rc2, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := &tfWorkdir{t: t, dir: dir, env: append(os.Environ(), "TF_REATTACH_PROVIDERS="+string(env),
		"TF_IN_AUTOMATION=1", "TF_CLI_CONFIG_FILE="+rc2)}
	w.write(config)
	w.run("init", "-input=false")
	return w
}

// write makes config the working directory's main.tf (with the provider's source address).
func (w *tfWorkdir) write(config string) {
	w.t.Helper()
	config = "terraform {\n  required_providers {\n    dockeripv6 = { source = \"dockeripv6/dockeripv6\" }\n  }\n}\n" + config
	if err := os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(config), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// run runs terraform with args and returns what it printed; a failure fails the test.
func (w *tfWorkdir) run(args ...string) string {
	w.t.Helper()
	out, err := w.try(args...)
	if err != nil {
		w.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// try runs terraform with args; the error is its exit status.
func (w *tfWorkdir) try(args ...string) (string, error) {
	w.t.Helper()
	bin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{args[0], "-no-color"}, args[1:]...)...)
	cmd.Dir, cmd.Env = w.dir, w.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// folded is terraform's output with its line wrapping undone (runs of white
// space become one space), so a test can look for a whole sentence.
func folded(out string) string { return strings.Join(strings.Fields(out), " ") }
