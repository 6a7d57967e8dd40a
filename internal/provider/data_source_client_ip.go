package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
)

var (
	_ datasource.DataSource              = &ClientIPDataSource{}
	_ datasource.DataSourceWithConfigure = &ClientIPDataSource{}
)

// ClientIPDataSource is dockeripv6_client_ip: the measured client-IP behaviour.
type ClientIPDataSource struct{ data *providerData }

// NewClientIPDataSource returns the dockeripv6_client_ip data source.
func NewClientIPDataSource() datasource.DataSource { return &ClientIPDataSource{} }

type clientIPModel struct {
	Host             types.String `tfsdk:"host"`
	Network          types.String `tfsdk:"network"`
	Family           types.String `tfsdk:"family"`
	Client           types.String `tfsdk:"client"`
	HostPort         types.Number `tfsdk:"host_port"`
	Timeout          types.String `tfsdk:"timeout"`
	ClientAddress    types.String `tfsdk:"client_address"`
	ObservedAddress  types.String `tfsdk:"observed_address"`
	GatewayAddresses types.List   `tfsdk:"gateway_addresses"`
	Verdict          types.String `tfsdk:"verdict"`
	Preserved        types.Bool   `tfsdk:"preserved"`
	Detail           types.String `tfsdk:"detail"`
	ElapsedMS        types.Int64  `tfsdk:"elapsed_ms"`
}

func (d *ClientIPDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_client_ip"
}

func (d *ClientIPDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *ClientIPDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Measures what client address a container really sees, the way an outside client would: " +
			"a probe container (made on this host from the provider's own binary, no registry) publishes a port on `network`, " +
			"a simulated remote host in its own network namespace behind a veth pair connects to it over IPv6 or IPv4, and the " +
			"container answers with the peer address it saw. Everything the probe creates is removed on every path.\n\n" +
			"| verdict | what it means on a mail host | fix |\n|---|---|---|\n" +
			"| `preserved` | the container sees the client's own address: Fail2Ban bans the right host, SPF checks the right sender, `PERMIT_DOCKER` trusts only what it should | nothing to do |\n" +
			"| `masqueraded` | the container sees the network's gateway (docker-proxy relayed the connection): Fail2Ban bans everyone at once, SPF fails, and a server that trusts its container subnet is an open relay | give the network an IPv6 subnet (`dockeripv6_network`) and turn on `ip6tables` (`dockeripv6_daemon_config`; Docker 20.10 to 26 also need `experimental`), or refuse IPv6 (`dockeripv6_firewall`) |\n" +
			"| `refused` | the connection is refused at once: clients fall back to IPv4, which keeps their address | a deliberate posture (`dockeripv6_firewall` with `ipv6_clients = \"refuse\"`, or `userland_proxy = false`) |\n" +
			"| `unreachable` | nothing answered in time: clients wait for a time-out before falling back | check the firewall (a `drop` posture) and the published ports |\n\n" +
			"It runs at every plan when its inputs are known, at apply when they depend on resources being created, " +
			"and inside `check` blocks, whose failed assertions show as warnings. It needs root on the Docker host itself " +
			"(it makes a network namespace and a veth pair there): the machine Terraform runs on, or, with `host`, the provider's " +
			"agent on that host.",
		Attributes: map[string]schema.Attribute{
			"host": dataSourceHostAttribute(),
			"network": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Network to measure, by name or ID. Defaults to Docker's default bridge (`bridge`)."},
			"family": schema.StringAttribute{Optional: true,
				MarkdownDescription: "`ipv6` (default) or `ipv4`: the address family the client connects with.",
				Validators:          []validator.String{stringvalidator.OneOf(probe.FamilyIPv6, probe.FamilyIPv4)}},
			"client": schema.StringAttribute{Optional: true,
				MarkdownDescription: "`remote` (default): a simulated remote host behind a veth pair, so packets arrive as an outside client's do. `local`: a connection from the host itself (loopback).",
				Validators:          []validator.String{stringvalidator.OneOf(probe.ClientRemote, probe.ClientLocal)}},
			"host_port": schema.NumberAttribute{Optional: true,
				MarkdownDescription: "Host port the probe publishes, 1 to 65535. Defaults to a port that is free for both families.",
				Validators:          []validator.Number{portValidator{}}},
			"timeout": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Bound on the measurement, as a Go duration. Defaults to `10s`. Making the probe image first (once per host) has a bound of its own, 2 minutes.",
				Validators:          []validator.String{durationValidator()}},
			"client_address":   schema.StringAttribute{Computed: true, MarkdownDescription: "The address the simulated client connected from."},
			"observed_address": schema.StringAttribute{Computed: true, MarkdownDescription: "The address the container saw; empty when the connection did not get through."},
			"gateway_addresses": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The network's gateway addresses (IPv4 and IPv6)."},
			"verdict":    schema.StringAttribute{Computed: true, MarkdownDescription: "`preserved`, `masqueraded`, `refused` or `unreachable`."},
			"preserved":  schema.BoolAttribute{Computed: true, MarkdownDescription: "True when the verdict is `preserved`."},
			"detail":     schema.StringAttribute{Computed: true, MarkdownDescription: "One sentence: what happened and the fix."},
			"elapsed_ms": schema.Int64Attribute{Computed: true, MarkdownDescription: "How long the measurement took."},
		},
	}
}

func (d *ClientIPDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m clientIPModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.data == nil {
		resp.Diagnostics.AddError("Provider Not Configured", "dockeripv6_client_ip needs the provider's Docker connection")
		return
	}
	h, ok := d.data.on(m.Host, &resp.Diagnostics)
	if !ok {
		return
	}
	if _, err := h.DockerClient().API(ctx); err != nil {
		resp.Diagnostics.AddError(hostSummary(err, "Docker Daemon Unreachable"), err.Error())
		return
	}
	opts := probe.Options{
		Network:  m.Network.ValueString(),
		Family:   m.Family.ValueString(),
		Client:   m.Client.ValueString(),
		HostPort: portAttr(m.HostPort),
	}
	if s := m.Timeout.ValueString(); s != "" {
		opts.Timeout, _ = time.ParseDuration(s) // validated
	}
	res, err := h.ClientIP(ctx, opts)
	if err != nil {
		resp.Diagnostics.AddError(hostSummary(err, "Client-IP Probe Failed"), fmt.Sprintf("The measurement could not be made: %v", err))
		return
	}
	tflog.Info(ctx, "client-ip probe", map[string]any{"network": opts.Network, "family": opts.Family, "client": opts.Client,
		"verdict": res.Verdict, "observed": res.ObservedAddress, "elapsed_ms": res.Elapsed.Milliseconds()})
	m.ClientAddress = types.StringValue(res.ClientAddress)
	m.ObservedAddress = types.StringValue(res.ObservedAddress)
	gws, diags := types.ListValueFrom(ctx, types.StringType, nonNil(res.GatewayAddresses))
	resp.Diagnostics.Append(diags...)
	m.GatewayAddresses = gws
	m.Verdict = types.StringValue(res.Verdict)
	m.Preserved = types.BoolValue(res.Verdict == probe.VerdictPreserved)
	m.Detail = types.StringValue(res.Detail)
	m.ElapsedMS = types.Int64Value(res.Elapsed.Milliseconds())
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
