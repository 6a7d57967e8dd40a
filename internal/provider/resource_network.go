package provider

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/docker/docker/api/types/network"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
)

var (
	_ resource.Resource                     = &NetworkResource{}
	_ resource.ResourceWithConfigure        = &NetworkResource{}
	_ resource.ResourceWithImportState      = &NetworkResource{}
	_ resource.ResourceWithModifyPlan       = &NetworkResource{}
	_ resource.ResourceWithConfigValidators = &NetworkResource{}
)

// NetworkResource is dockeripv6_network: a user-defined Docker network with an IPv6 subnet.
type NetworkResource struct{ data *providerData }

// NewNetworkResource returns the dockeripv6_network resource.
func NewNetworkResource() resource.Resource { return &NetworkResource{} }

type networkModel struct {
	Host        types.String `tfsdk:"host"`
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Driver      types.String `tfsdk:"driver"`
	IPv6        types.Bool   `tfsdk:"ipv6"`
	IPv6Subnet  netAddrValue `tfsdk:"ipv6_subnet"`
	IPv6Gateway netAddrValue `tfsdk:"ipv6_gateway"`
	IPv4Subnet  netAddrValue `tfsdk:"ipv4_subnet"`
	IPv4Gateway netAddrValue `tfsdk:"ipv4_gateway"`
	Internal    types.Bool   `tfsdk:"internal"`
	Attachable  types.Bool   `tfsdk:"attachable"`
	Options     types.Map    `tfsdk:"options"`
	Labels      types.Map    `tfsdk:"labels"`
}

var dockerNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

func (r *NetworkResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_network"
}

func (r *NetworkResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *NetworkResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replaceStr := []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A user-defined Docker network with an IPv6 subnet, so that containers on it get IPv6 addresses " +
			"and, with the daemon's `ip6tables` on, remote IPv6 clients reach them with their own source address instead of " +
			"the network's gateway address.\n\n" +
			"Docker networks have no update call: every argument change replaces the network, and the plan warns which " +
			"running containers that disconnects. Values Docker fills in (an IPv4 subnet from its pools, the gateways, " +
			"and on Docker 27+ an auto-allocated ULA subnet) are computed and never show as a diff, also after a daemon restart.",
		Attributes: map[string]schema.Attribute{
			"host": resourceHostAttribute(),
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The network ID Docker assigned.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Network name, as in `docker network ls` and in a compose file's `networks:` key.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{stringvalidator.RegexMatches(dockerNameRE,
					"must start with a letter or digit and contain only letters, digits, '_', '.' and '-' (Docker's rule for network names)")},
			},
			"driver": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString("bridge"),
				MarkdownDescription: "Network driver. Defaults to `bridge`, the driver docker-mailserver's compose file uses.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"ipv6": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Enable IPv6 on the network. Defaults to `true`. With no `ipv6_subnet`, Docker 27+ allocates " +
					"a ULA `/64` from its pools (derived from the engine ID); Docker 20.10 to 26 cannot, so set `ipv6_subnet` there.",
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
			},
			"ipv6_subnet": schema.StringAttribute{
				CustomType: netAddrType{}, Optional: true, Computed: true,
				MarkdownDescription: "IPv6 subnet in CIDR form, for example `cidrsubnet(dockeripv6_ula_prefix.mail.prefix, 16, 1)`. " +
					"A ULA (`fd00::/8`) `/64` is the usual choice. Refused: the documentation prefix `2001:db8::/32`, `fc00::/8` " +
					"(ULA with the L bit 0), host bits set, lengths outside /48 to /126. Well-known example ULAs (such as " +
					"`fd00:cafe:face:feed::/64`) and global prefixes get a warning. Compared in canonical form.",
				PlanModifiers: replaceStr,
				Validators:    []validator.String{ipv6SubnetValidator{}},
			},
			"ipv6_gateway": schema.StringAttribute{
				CustomType: netAddrType{}, Optional: true, Computed: true,
				MarkdownDescription: "IPv6 gateway address inside `ipv6_subnet`; Docker picks the first address when unset.",
				PlanModifiers:       replaceStr,
				Validators:          []validator.String{ipAddrValidator(6)},
			},
			"ipv4_subnet": schema.StringAttribute{
				CustomType: netAddrType{}, Optional: true, Computed: true,
				MarkdownDescription: "IPv4 subnet in CIDR form; Docker allocates one from its `default-address-pools` when unset.",
				PlanModifiers:       replaceStr,
				Validators:          []validator.String{ipv4SubnetValidator()},
			},
			"ipv4_gateway": schema.StringAttribute{
				CustomType: netAddrType{}, Optional: true, Computed: true,
				MarkdownDescription: "IPv4 gateway address inside `ipv4_subnet`; Docker picks the first address when unset.",
				PlanModifiers:       replaceStr,
				Validators:          []validator.String{ipAddrValidator(4)},
			},
			"internal": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Restrict external access to the network (no gateway routing, no published ports).",
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
			},
			"attachable": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Allow manual container attachment (meaningful for swarm-scoped networks).",
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
			},
			"options": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Driver options, for example `com.docker.network.bridge.name` or " +
					"`com.docker.network.bridge.gateway_mode_ipv6` (Docker 27+).",
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
			},
			"labels": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Labels on the network.",
				PlanModifiers:       []planmodifier.Map{mapplanmodifier.RequiresReplace()},
			},
		},
	}
}

func (r *NetworkResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{gatewayInSubnetValidator{}}
}

// ModifyPlan warns which running containers a replacement or destroy disconnects, and
// refuses at plan what the running daemon cannot do.
func (r *NetworkResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.data == nil {
		return
	}
	if !req.Plan.Raw.IsNull() {
		var plan networkModel
		resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
		if resp.Diagnostics.HasError() {
			return
		}
		var configSubnet netAddrValue
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("ipv6_subnet"), &configSubnet)...)
		if plan.IPv6.ValueBool() && configSubnet.IsNull() && req.State.Raw.IsNull() {
			// Only an unset subnet needs the daemon's version; unknown values come from other resources.
			h, ok := r.data.on(plan.Host, &resp.Diagnostics)
			if !ok {
				return
			}
			v, err := h.DockerVersion(ctx)
			if err != nil {
				resp.Diagnostics.AddAttributeWarning(path.Root("ipv6_subnet"), "Docker Version Unknown",
					fmt.Sprintf("Whether this Docker can pick an IPv6 subnet for network %q by itself (Docker 27 and later can; 20.10 to 26 "+
						"refuse an IPv6 network without one) could not be checked: %v. It will be checked again at apply. Set ipv6_subnet, "+
						"for example cidrsubnet(provider::dockeripv6::ula_prefix(\"<this host's name>\"), 16, 1), to work on every version.",
						plan.Name.ValueString(), err))
			} else if v.Known() && v.Before(27, 0) {
				resp.Diagnostics.AddAttributeError(path.Root("ipv6_subnet"), "IPv6 Subnet Required On This Docker Version",
					fmt.Sprintf("Docker %s cannot allocate an IPv6 subnet for a network by itself (automatic ULA pools arrived in Docker 27). "+
						"Set ipv6_subnet, for example cidrsubnet(provider::dockeripv6::ula_prefix(\"%s\"), 16, 1), or set ipv6 = false for an IPv4-only network.",
						v, plan.Name.ValueString()))
			}
		}
	}
	if req.State.Raw.IsNull() {
		return
	}
	destroying := req.Plan.Raw.IsNull()
	if !destroying && len(resp.RequiresReplace) == 0 {
		return
	}
	var state networkModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || state.ID.IsNull() {
		return
	}
	h, ok := r.data.on(state.Host, &resp.Diagnostics)
	if !ok {
		return
	}
	names, err := h.DockerClient().RunningContainersOn(ctx, state.ID.ValueString())
	if err != nil || len(names) == 0 {
		return
	}
	verb := "Replacing"
	if destroying {
		verb = "Destroying"
	}
	what := "replaces"
	if destroying {
		what = "destroys"
	}
	resp.Diagnostics.AddWarning(fmt.Sprintf("%s Network %q Disconnects %d Running Container(s)", verb, state.Name.ValueString(), len(names)),
		fmt.Sprintf("This plan %s network %q. These running containers are attached to it and will be disconnected: %s. "+
			"Docker cannot reattach them by itself: recreate them afterwards (for example `docker compose up -d`), "+
			"and plan this change for a maintenance window on a mail host.", what, state.Name.ValueString(), strings.Join(names, ", ")))
}

func (r *NetworkResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan networkModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h, ok := r.data.on(plan.Host, &resp.Diagnostics)
	if !ok {
		return
	}
	cli, err := h.DockerClient().API(ctx)
	if err != nil {
		resp.Diagnostics.AddError(hostSummary(err, "Docker Daemon Unreachable"), err.Error())
		return
	}
	ipv6 := plan.IPv6.ValueBool()
	opts := network.CreateOptions{
		Driver:     plan.Driver.ValueString(),
		EnableIPv6: &ipv6,
		Internal:   plan.Internal.ValueBool(),
		Attachable: plan.Attachable.ValueBool(),
		Options:    stringMap(ctx, plan.Options, &resp.Diagnostics),
		Labels:     stringMap(ctx, plan.Labels, &resp.Diagnostics),
		IPAM:       &network.IPAM{Driver: "default"},
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if s := knownString(plan.IPv4Subnet); s != "" {
		opts.IPAM.Config = append(opts.IPAM.Config, network.IPAMConfig{Subnet: s, Gateway: knownString(plan.IPv4Gateway)})
	}
	if s := knownString(plan.IPv6Subnet); s != "" && ipv6 {
		opts.IPAM.Config = append(opts.IPAM.Config, network.IPAMConfig{Subnet: s, Gateway: knownString(plan.IPv6Gateway)})
	}
	tflog.Info(ctx, "creating docker network", map[string]any{"name": plan.Name.ValueString(), "ipv6": ipv6, "ipam": fmt.Sprint(opts.IPAM.Config)})
	created, err := cli.NetworkCreate(ctx, plan.Name.ValueString(), opts)
	if err != nil {
		resp.Diagnostics.AddError("Cannot Create Docker Network", fmt.Sprintf("Docker refused to create network %q: %v", plan.Name.ValueString(), err))
		return
	}
	if created.Warning != "" {
		resp.Diagnostics.AddWarning("Docker Warning", created.Warning)
	}
	n, err := cli.NetworkInspect(ctx, created.ID, network.InspectOptions{})
	if err != nil {
		resp.Diagnostics.AddError("Cannot Read Created Network", err.Error())
		return
	}
	state := networkFromDocker(ctx, n, plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *NetworkResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state networkModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h, ok := r.data.on(state.Host, &resp.Diagnostics)
	if !ok {
		return
	}
	n, err := h.DockerClient().NetworkInspect(ctx, state.ID.ValueString())
	if dockerapi.IsNotFound(err) {
		// Deleted, or deleted and recreated outside Terraform under the same name: in that case
		// adopt the new one so the plan shows what changed (a replacement when the subnet differs).
		var found bool
		n, found, err = h.DockerClient().NetworkByExactName(ctx, state.Name.ValueString())
		if err == nil && !found {
			tflog.Info(ctx, "network is gone; planning to create it", map[string]any{"name": state.Name.ValueString()})
			resp.State.RemoveResource(ctx)
			return
		}
	}
	if err != nil {
		resp.Diagnostics.AddError(hostSummary(err, "Cannot Read Docker Network"), fmt.Sprintf("Inspecting network %q (%s): %v", state.Name.ValueString(), state.ID.ValueString(), err))
		return
	}
	next := networkFromDocker(ctx, n, state, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

// Update is never a real change (every argument forces replacement); it keeps state in step.
func (r *NetworkResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan networkModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *NetworkResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state networkModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h, ok := r.data.on(state.Host, &resp.Diagnostics)
	if !ok {
		return
	}
	cli, err := h.DockerClient().API(ctx)
	if err != nil {
		resp.Diagnostics.AddError(hostSummary(err, "Docker Daemon Unreachable"), err.Error())
		return
	}
	id := state.ID.ValueString()
	n, err := cli.NetworkInspect(ctx, id, network.InspectOptions{})
	if dockerapi.IsNotFound(err) {
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(hostSummary(err, "Cannot Read Docker Network"), err.Error())
		return
	}
	// Docker refuses to remove a network with endpoints; the plan warned which containers these are.
	for cid, ep := range n.Containers {
		tflog.Warn(ctx, "disconnecting container before removing its network", map[string]any{"container": ep.Name, "network": n.Name})
		if err := cli.NetworkDisconnect(ctx, id, cid, true); err != nil && !dockerapi.IsNotFound(err) {
			resp.Diagnostics.AddError("Cannot Disconnect Container", fmt.Sprintf("Disconnecting %s from %s: %v", ep.Name, n.Name, err))
			return
		}
	}
	if err := cli.NetworkRemove(ctx, id); err != nil && !dockerapi.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot Remove Docker Network", fmt.Sprintf("Removing network %q: %v", n.Name, err))
	}
}

// ImportState takes a network name or ID.
func (r *NetworkResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if r.data == nil {
		resp.Diagnostics.AddError("Provider Not Configured", "the provider must be configured to import a network")
		return
	}
	hostName, id := splitImportID(req.ID)
	h, ok := r.data.on(hostName, &resp.Diagnostics)
	if !ok {
		return
	}
	n, err := h.DockerClient().NetworkInspect(ctx, id)
	var unreachable *dockerapi.UnreachableError
	var badHost *dockerapi.HostError
	switch {
	case errors.As(err, &unreachable) || errors.As(err, &badHost):
		resp.Diagnostics.AddError("Docker Daemon Unreachable",
			fmt.Sprintf("Network %q cannot be imported: the Docker daemon could not be reached, so whether the network exists is unknown. %v", id, err))
		return
	case dockerapi.IsNotFound(err):
		resp.Diagnostics.AddError("Cannot Import Docker Network",
			fmt.Sprintf("The Docker daemon at %s has no network named or with ID %q (`docker network ls` lists them). Import a network by its name or ID (on one of the provider's hosts: \"mail1:NAME\").", h.DockerClient().Where(), id))
		return
	case err != nil:
		resp.Diagnostics.AddError("Cannot Import Docker Network", fmt.Sprintf("Inspecting network %q: %v", id, err))
		return
	}
	// Read fills in the rest; name lets Read find it again and options/labels are taken whole.
	prior := networkModel{Host: hostName, Options: types.MapUnknown(types.StringType), Labels: types.MapUnknown(types.StringType)}
	state := networkFromDocker(ctx, n, prior, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// dockerAddedOptions are options Docker records on networks by itself; they are never a diff.
var dockerAddedOptions = map[string]bool{
	"com.docker.network.enable_ipv4": true,
	"com.docker.network.enable_ipv6": true,
}

// networkFromDocker builds state from an inspected network. prior decides how maps
// that Docker may have filled itself are kept (null stays null when Docker's map holds
// nothing but defaults) and keeps the user's spelling of equal addresses.
func networkFromDocker(ctx context.Context, n network.Inspect, prior networkModel, diags *diagsT) networkModel {
	m := networkModel{
		Host:       prior.Host,
		ID:         types.StringValue(n.ID),
		Name:       types.StringValue(n.Name),
		Driver:     types.StringValue(n.Driver),
		IPv6:       types.BoolValue(n.EnableIPv6),
		Internal:   types.BoolValue(n.Internal),
		Attachable: types.BoolValue(n.Attachable),
	}
	m.IPv4Subnet, m.IPv4Gateway, m.IPv6Subnet, m.IPv6Gateway = netAddrNull(), netAddrNull(), netAddrNull(), netAddrNull()
	for _, c := range n.IPAM.Config {
		p, err := netip.ParsePrefix(c.Subnet)
		if err != nil {
			continue
		}
		gw := c.Gateway
		if a, err := netip.ParseAddr(strings.SplitN(gw, "/", 2)[0]); err == nil {
			gw = a.String()
		} else if n.Driver == "bridge" && !n.Internal {
			// Docker 20.10 does not record an IPv6 gateway it chose itself; its default
			// IPAM always takes the subnet's first address for the bridge.
			gw = p.Masked().Addr().Next().String()
		}
		if p.Addr().Is4() {
			m.IPv4Subnet, m.IPv4Gateway = netAddrOf(p.String()), netAddrOrNull(gw)
		} else {
			m.IPv6Subnet, m.IPv6Gateway = netAddrOf(p.String()), netAddrOrNull(gw)
		}
	}
	m.Options = readMap(ctx, n.Options, prior.Options, dockerAddedOptions, diags)
	m.Labels = readMap(ctx, n.Labels, prior.Labels, nil, diags)
	return m
}

// readMap turns a Docker map into state: keys Docker adds by itself are dropped unless
// the prior state has them, and an empty result stays null when prior was null.
func readMap(ctx context.Context, got map[string]string, prior types.Map, dockerAdded map[string]bool, diags *diagsT) types.Map {
	priorKeys := map[string]bool{}
	if !prior.IsNull() && !prior.IsUnknown() {
		for k := range prior.Elements() {
			priorKeys[k] = true
		}
	}
	out := map[string]string{}
	for k, v := range got {
		if dockerAdded[k] && !priorKeys[k] {
			continue
		}
		out[k] = v
	}
	if len(out) == 0 && (prior.IsNull() || prior.IsUnknown()) {
		return types.MapNull(types.StringType)
	}
	v, d := types.MapValueFrom(ctx, types.StringType, out)
	diags.Append(d...)
	return v
}

func stringMap(ctx context.Context, m types.Map, diags *diagsT) map[string]string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := map[string]string{}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

func knownString(v netAddrValue) string {
	if v.IsNull() || v.IsUnknown() {
		return ""
	}
	return canonicalNetAddr(v.ValueString())
}
