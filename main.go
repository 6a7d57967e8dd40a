// Command terraform-provider-dockeripv6 serves the dockeripv6 Terraform provider.
// Run with "probe-server" as its first argument it is the client-IP probe's
// server inside the probe container instead (see internal/probe); run with
// "agent" it is the agent on a remote mail host, serving that host's Host on
// its stdio to the provider that started it over SSH (see internal/host/remote).
package main

// Generate docs/ from the schema, examples/ and templates/ (offline: uses terraform on PATH).
//go:generate go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@v0.25.0 generate --provider-name dockeripv6 --rendered-provider-name dockeripv6

import (
	"context"
	"flag"
	"io"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host/local"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host/remote"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/provider"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sshhost"
)

// version is set by the release build (goreleaser: -X main.version=...).
var version = "dev"

func main() {
	probe.MaybeServe()
	sshhost.MaybeServeAgent(func(stream io.ReadWriteCloser) error { return remote.Serve(stream, local.New, version) })

	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version, local.New), providerserver.ServeOpts{
		Address:         "registry.terraform.io/dockeripv6/dockeripv6",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
