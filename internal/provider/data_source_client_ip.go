package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
)

var (
	_ datasource.DataSource                   = &ClientIPDataSource{}
	_ datasource.DataSourceWithConfigure      = &ClientIPDataSource{}
	_ datasource.DataSourceWithValidateConfig = &ClientIPDataSource{}
)

// ClientIPDataSource is dockeripv6_client_ip: the measured client-IP behaviour.
type ClientIPDataSource struct{ data *providerData }

// NewClientIPDataSource returns the dockeripv6_client_ip data source.
func NewClientIPDataSource() datasource.DataSource { return &ClientIPDataSource{} }

type clientIPModel struct {
	Host             types.String `tfsdk:"host"`
	Network          types.String `tfsdk:"network"`
	Container        types.String `tfsdk:"container"`
	Ports            types.Set    `tfsdk:"ports"`
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
	ContainerID      types.String `tfsdk:"container_id"`
	Measurements     types.List   `tfsdk:"measurements"`
	TrustedPrefixes  types.List   `tfsdk:"trusted_prefixes"`
}

// measurementModel is one row of measurements: a container port, a family
// and a host address.
type measurementModel struct {
	Port            types.Int64  `tfsdk:"port"`
	Family          types.String `tfsdk:"family"`
	HostAddress     types.String `tfsdk:"host_address"`
	HostPort        types.Int64  `tfsdk:"host_port"`
	Path            types.String `tfsdk:"path"`
	Verdict         types.String `tfsdk:"verdict"`
	ObservedAddress types.String `tfsdk:"observed_address"`
	ClientAddress   types.String `tfsdk:"client_address"`
	FrontProxy      types.String `tfsdk:"front_proxy"`
	Trusted         types.Bool   `tfsdk:"trusted"`
	Detail          types.String `tfsdk:"detail"`
}

var measurementAttrTypes = map[string]attr.Type{
	"port": types.Int64Type, "family": types.StringType, "host_address": types.StringType, "host_port": types.Int64Type,
	"path": types.StringType, "verdict": types.StringType, "observed_address": types.StringType, "client_address": types.StringType,
	"front_proxy": types.StringType, "trusted": types.BoolType, "detail": types.StringType,
}

func (d *ClientIPDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_client_ip"
}

func (d *ClientIPDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *ClientIPDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Measures what client address a container really sees, the way an outside client would.\n\n" +
			"With `container`, it measures the running mail container itself, on its own published TCP ports, without touching it " +
			"(no image, no exec, nothing written into it, no container started): a simulated remote host with a fresh address each run " +
			"connects to each published port on each host address it is bound to, the peer address of the accepted connection is read " +
			"inside the container's network namespace with the kernel's socket diagnostics (the address the server's own `accept()` returns), " +
			"and the connection is reset at once, with no data sent. Each port, family and host address is a row of `measurements`, with the " +
			"path the connection took and whether the mail server trusts the address it saw (`trusted`: its `PERMIT_DOCKER`, Mailu's `SUBNET`, " +
			"Postfix's `mynetworks`, read from the container's environment and its own `main.cf`); the top-level verdict is the worst row's.\n\n" +
			"With `network` (or neither), for a host whose mail container does not run yet: a probe container (made on this host from the provider's own binary, no registry) publishes a port on `network`, " +
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
				MarkdownDescription: "Network to measure with a probe container, by name or ID. Defaults to Docker's default bridge (`bridge`) when `container` is not set."},
			"container": schema.StringAttribute{Optional: true,
				MarkdownDescription: "A running container to measure on its own published TCP ports, by name or ID (the mail server: `mailserver`). Instead of `network`.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)}},
			"ports": schema.SetAttribute{Optional: true, ElementType: types.Int64Type,
				MarkdownDescription: "With `container`: the container ports to measure. Defaults to every published TCP port."},
			"family": schema.StringAttribute{Optional: true,
				MarkdownDescription: "`ipv6` (default) or `ipv4`: the address family the client connects with; with `container` also `both`.",
				Validators:          []validator.String{stringvalidator.OneOf(probe.FamilyIPv6, probe.FamilyIPv4, probe.FamilyBoth)}},
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
			"verdict":      schema.StringAttribute{Computed: true, MarkdownDescription: "`preserved`, `masqueraded`, `refused` or `unreachable`."},
			"preserved":    schema.BoolAttribute{Computed: true, MarkdownDescription: "True when the verdict is `preserved`."},
			"detail":       schema.StringAttribute{Computed: true, MarkdownDescription: "One sentence: what happened and the fix."},
			"elapsed_ms":   schema.Int64Attribute{Computed: true, MarkdownDescription: "How long the measurement took."},
			"container_id": schema.StringAttribute{Computed: true, MarkdownDescription: "With `container`: its full ID."},
			"trusted_prefixes": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "With `container`: what its mail server trusts to relay without authentication, each prefix with where it comes from " +
					"(`198.18.0.0/24 (PERMIT_DOCKER=connected-networks)`); empty when nothing could be read."},
			"measurements": schema.ListNestedAttribute{Computed: true,
				MarkdownDescription: "With `container`: one row per published port, family and host address, sorted.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"port":         schema.Int64Attribute{Computed: true, MarkdownDescription: "The container's TCP port."},
					"family":       schema.StringAttribute{Computed: true, MarkdownDescription: "`ipv6` or `ipv4`: the client's family."},
					"host_address": schema.StringAttribute{Computed: true, MarkdownDescription: "The address the client connected to: the host's for `0.0.0.0` and `[::]` bindings, the bound address itself, or the container's own on a routed network."},
					"host_port":    schema.Int64Attribute{Computed: true, MarkdownDescription: "The port the client connected to."},
					"path": schema.StringAttribute{Computed: true, MarkdownDescription: "How the connection reached the container: `dnat` (the kernel's NAT, the address kept), " +
						"`proxy` (docker-proxy, or another container, relayed it), `routed` (the container's own address), `host` (host network) or `none` (refused or not answered)."},
					"verdict":          schema.StringAttribute{Computed: true, MarkdownDescription: "`preserved`, `masqueraded`, `refused` or `unreachable`."},
					"observed_address": schema.StringAttribute{Computed: true, MarkdownDescription: "The peer address the container's `accept()` returned; empty when nothing got through."},
					"client_address":   schema.StringAttribute{Computed: true, MarkdownDescription: "The simulated client's address."},
					"front_proxy":      schema.StringAttribute{Computed: true, MarkdownDescription: "The container whose address the mail container saw (a front proxy such as Traefik or HAProxy); empty otherwise."},
					"trusted": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the mail server trusts `observed_address` (may relay without authentication); " +
						"null when that is not known or nothing was seen, never false for unknown."},
					"detail": schema.StringAttribute{Computed: true, MarkdownDescription: "One sentence: what happened and the fix."},
				}}},
		},
	}
}

// ValidateConfig refuses what only one mode takes: container measures its
// own ports, network starts a probe container on a port of its own.
func (d *ClientIPDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var m clientIPModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !m.Container.IsNull() {
		containerConflicts(m, &resp.Diagnostics)
		validPorts(ctx, m.Ports, &resp.Diagnostics)
		return
	}
	if !m.Ports.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("ports"), "Ports Without A Container",
			"ports chooses which of a running container's published ports are measured: set container to the mail container's name, or leave ports out.")
	}
	if m.Family.ValueString() == probe.FamilyBoth {
		resp.Diagnostics.AddAttributeError(path.Root("family"), "Family Both Without A Container",
			`family = "both" measures a running container's ports over IPv6 and IPv4: set container, or use two data sources with "ipv6" and "ipv4".`)
	}
}

// containerConflicts refuses, naming the container, the network mode's
// attributes beside container.
func containerConflicts(m clientIPModel, diags *diag.Diagnostics) {
	name := "container"
	if !m.Container.IsUnknown() {
		name = fmt.Sprintf("container = %q", m.Container.ValueString())
	}
	for _, c := range []struct {
		attr string
		set  bool
		fix  string
	}{
		{"network", !m.Network.IsNull(), "network starts a probe container on a network instead: set one of them"},
		{"host_port", !m.HostPort.IsNull(), "host_port is the port a probe container publishes: leave it out (ports chooses which of the container's ports are measured)"},
		{"client", !m.Client.IsNull(), "its client is always a simulated remote host: leave client out"},
	} {
		if c.set {
			diags.AddAttributeError(path.Root(c.attr), "Conflicting Attributes",
				fmt.Sprintf("%s measures that running container's own published ports; %s.", name, c.fix))
		}
	}
}

// validPorts refuses a known element of ports that is not a TCP port.
func validPorts(ctx context.Context, ports types.Set, diags *diag.Diagnostics) {
	if ports.IsNull() || ports.IsUnknown() {
		return
	}
	var ps []int64
	diags.Append(ports.ElementsAs(ctx, &ps, false)...)
	for _, p := range ps {
		if p < 1 || p > 65535 {
			diags.AddAttributeError(path.Root("ports"), "Invalid Port", fmt.Sprintf("ports holds %d: a TCP port is 1 to 65535.", p))
		}
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
	var timeout time.Duration
	if s := m.Timeout.ValueString(); s != "" {
		timeout, _ = time.ParseDuration(s) // validated
	}
	if !m.Container.IsNull() {
		d.readContainer(ctx, h, &m, timeout, resp)
	} else {
		d.readNetwork(ctx, h, &m, timeout, resp)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// readNetwork measures with a probe container on a network.
func (d *ClientIPDataSource) readNetwork(ctx context.Context, h host.Host, m *clientIPModel, timeout time.Duration, resp *datasource.ReadResponse) {
	opts := probe.Options{
		Network:  m.Network.ValueString(),
		Family:   m.Family.ValueString(),
		Client:   m.Client.ValueString(),
		HostPort: portAttr(m.HostPort),
		Timeout:  timeout,
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
	m.ContainerID = types.StringNull()
	m.Measurements = types.ListNull(types.ObjectType{AttrTypes: measurementAttrTypes})
	m.TrustedPrefixes = types.ListNull(types.StringType)
}

// readContainer measures a running container's own published ports (one
// host call), with what its mail server trusts.
func (d *ClientIPDataSource) readContainer(ctx context.Context, h host.Host, m *clientIPModel, timeout time.Duration, resp *datasource.ReadResponse) {
	opts := probe.ContainerOptions{Container: m.Container.ValueString(), Family: m.Family.ValueString(), Timeout: timeout}
	if !m.Ports.IsNull() {
		var ports []int64
		resp.Diagnostics.Append(m.Ports.ElementsAs(ctx, &ports, false)...)
		for _, p := range ports {
			opts.Ports = append(opts.Ports, int(p))
		}
	}
	res, err := h.ContainerClientIP(ctx, opts)
	if err != nil {
		resp.Diagnostics.AddError(hostSummary(err, "Client-IP Measurement Failed"),
			fmt.Sprintf("The ports of container %q could not be measured: %v", opts.Container, err))
		return
	}
	for _, w := range res.Warnings {
		resp.Diagnostics.AddAttributeWarning(path.Root("ports"), "Port Not Measured", w)
	}
	if res.TrustUnknown != "" {
		tflog.Warn(ctx, "client-ip trust", map[string]any{"container": res.Container, "unknown": res.TrustUnknown})
	}
	tflog.Info(ctx, "client-ip container", map[string]any{"container": res.Container, "family": opts.Family,
		"verdict": res.Verdict, "observed": res.ObservedAddress, "rows": len(res.Ports), "elapsed_ms": res.Elapsed.Milliseconds()})
	rows := make([]measurementModel, 0, len(res.Ports))
	client := ""
	for _, p := range res.Ports {
		rows = append(rows, measurementRow(p))
		if client == "" && p.Verdict == res.Verdict && p.ObservedAddress == res.ObservedAddress {
			client = p.ClientAddress // the worst row's
		}
	}
	list, diags := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: measurementAttrTypes}, rows)
	resp.Diagnostics.Append(diags...)
	prefixes, diags := types.ListValueFrom(ctx, types.StringType, nonNil(res.Trust.Prefixes()))
	resp.Diagnostics.Append(diags...)
	m.Measurements, m.TrustedPrefixes = list, prefixes
	m.ContainerID = types.StringValue(res.ContainerID)
	m.ClientAddress = types.StringValue(client)
	m.ObservedAddress = types.StringValue(res.ObservedAddress)
	m.GatewayAddresses = types.ListValueMust(types.StringType, []attr.Value{})
	m.Verdict = types.StringValue(res.Verdict)
	m.Preserved = types.BoolValue(res.Preserved)
	m.Detail = types.StringValue(res.Detail)
	m.ElapsedMS = types.Int64Value(res.Elapsed.Milliseconds())
}

// measurementRow maps one measured row.
func measurementRow(p probe.PortResult) measurementModel {
	trusted := types.BoolNull()
	if p.Trusted != nil {
		trusted = types.BoolValue(*p.Trusted)
	}
	return measurementModel{
		Port: types.Int64Value(int64(p.Port)), Family: types.StringValue(p.Family),
		HostAddress: types.StringValue(p.HostAddress), HostPort: types.Int64Value(int64(p.HostPort)),
		Path: types.StringValue(p.Path), Verdict: types.StringValue(p.Verdict),
		ObservedAddress: types.StringValue(p.ObservedAddress), ClientAddress: types.StringValue(p.ClientAddress),
		FrontProxy: types.StringValue(p.FrontProxy), Trusted: trusted, Detail: types.StringValue(p.Detail),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
