// Package provider maps the dockeripv6 Terraform schemas onto the domain
// packages (ula, dockerapi, daemonconfig, firewall, hostcheck, probe) through
// host.Host, the machine it works on (this one or one reached over SSH).
package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
)

var (
	_ provider.Provider              = &Provider{}
	_ provider.ProviderWithFunctions = &Provider{}
)

// Provider is the dockeripv6 provider.
type Provider struct {
	version string
	// newHost makes the machine the provider works on from docker_host.
	newHost host.Factory
}

// New returns the provider factory for providerserver; newHost makes the
// machine resources and data sources work on (local.New: this one).
func New(version string, newHost host.Factory) func() provider.Provider {
	return func() provider.Provider { return &Provider{version: version, newHost: newHost} }
}

// providerModel is the provider block.
type providerModel struct {
	DockerHost types.String `tfsdk:"docker_host"`
	Hosts      types.Map    `tfsdk:"hosts"`
}

// providerData is what resources and data sources receive from Configure.
type providerData struct {
	// Host is the only way to the machine Terraform runs on; objects
	// without a host argument work on it.
	Host host.Host
	// Hosts are the provider's hosts (over SSH), by name: objects name one
	// in their host argument (see on).
	Hosts map[string]host.Host
}

func (p *Provider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "dockeripv6"
	resp.Version = p.version
}

func (p *Provider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Makes a mail host's Docker IPv6 posture declarative, diffable and verified: " +
			"daemon.json's IPv6 keys, IPv6 networks with ULA subnets, an nftables posture for the mail ports, " +
			"and data sources that measure what client address a container really sees.",
		Attributes: map[string]schema.Attribute{
			"docker_host": schema.StringAttribute{
				MarkdownDescription: "Address of the Docker daemon, for example `unix:///var/run/docker.sock`. " +
					"Defaults to the `DOCKER_HOST` environment variable, else `" + dockerapi.DefaultHost + "`. " +
					"The API version is negotiated with the daemon (Docker 20.10 speaks API 1.41). " +
					"The daemon is contacted only when a resource or data source needs it. " +
					"Supported: `unix://` socket paths and `tcp://host:port` (plain TCP, no TLS). This is the daemon of the machine " +
					"Terraform runs on (objects without `host`); for mail hosts elsewhere use `hosts`: the provider edits daemon.json, " +
					"nftables and systemd too, so it works on the host itself over SSH rather than only on its Docker API.",
				Optional: true,
				Validators: []validator.String{stringCheck{desc: "a unix:// or tcp:// address of the Docker daemon",
					summary: "Unsupported Docker Host", check: dockerapi.CheckHost}},
			},
			"hosts": hostsSchema(),
		},
	}
}

func (p *Provider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.DockerHost.IsUnknown() {
		resp.Diagnostics.AddAttributeError(pathRoot("docker_host"), "Unknown Docker Host",
			"docker_host depends on a value that is not known until apply; set it to a literal or a variable.")
		return
	}
	data := &providerData{Host: p.newHost(m.DockerHost.ValueString())}
	data.Hosts = configureHosts(ctx, m.Hosts, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	tflog.Debug(ctx, "configured dockeripv6 provider", map[string]any{"docker_host": data.Host.DockerClient().Host})
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *Provider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewULAPrefixResource,
		NewNetworkResource,
		NewDaemonConfigResource,
		NewFirewallResource,
	}
}

func (p *Provider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewClientIPDataSource,
		NewHostDataSource,
	}
}

func (p *Provider) Functions(_ context.Context) []func() function.Function {
	return []func() function.Function{
		NewULAPrefixFunction,
	}
}
