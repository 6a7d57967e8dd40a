package provider

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host/local"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sandbox"
)

// testProviders serves the provider in-process to the real terraform binary.
var testProviders = map[string]func() (tfprotov6.ProviderServer, error){
	"dockeripv6": providerserver.NewProtocol6WithError(New("test", local.New)()),
}

func TestMain(m *testing.M) {
	// This test binary is also the probe image's binary (internal/probe builds the
	// image from os.Executable()), so it must answer "probe-server" like main does.
	probe.MaybeServe()
	// Acceptance tests always run (make test runs them in the sandbox); they never
	// skip for a missing TF_ACC, and they use the terraform on PATH, never a download.
	os.Setenv("TF_ACC", "1")
	os.Setenv("CHECKPOINT_DISABLE", "1")
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if p, err := exec.LookPath("terraform"); err == nil {
			os.Setenv("TF_ACC_TERRAFORM_PATH", p)
		}
	}
	os.Exit(m.Run())
}

// dockerClient is a plain Docker client for tests to change the world outside Terraform.
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	sandbox.Require(t)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		t.Fatalf("sandbox dockerd does not answer: %v", err)
	}
	cli.NegotiateAPIVersion(ctx)
	t.Cleanup(func() { cli.Close() })
	return cli
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
