package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/ula"
)

var (
	_ resource.Resource                = &ULAPrefixResource{}
	_ resource.ResourceWithImportState = &ULAPrefixResource{}
)

// ULAPrefixResource is dockeripv6_ula_prefix: a random RFC 4193 /48 kept in state.
type ULAPrefixResource struct{}

// NewULAPrefixResource returns the dockeripv6_ula_prefix resource.
func NewULAPrefixResource() resource.Resource { return &ULAPrefixResource{} }

type ulaPrefixModel struct {
	ID       types.String `tfsdk:"id"`
	Keepers  types.Map    `tfsdk:"keepers"`
	Prefix   types.String `tfsdk:"prefix"`
	GlobalID types.String `tfsdk:"global_id"`
}

func (r *ULAPrefixResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ula_prefix"
}

func (r *ULAPrefixResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "An RFC 4193 Unique Local Address prefix: a `/48` inside `fd00::/8` whose 40-bit Global ID " +
			"comes from a cryptographic random source, as RFC 4193 section 3.2 requires (never a well-known number such as " +
			"`fd00:cafe:face:feed`). The prefix is generated once and kept in state; it changes only when `keepers` change. " +
			"Carve Docker network subnets from it with `cidrsubnet(prefix, 16, n)` (65,536 `/64`s). " +
			"For a prefix that needs no state, use the `ula_prefix(seed)` function.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The prefix, as `prefix`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"keepers": schema.MapAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Arbitrary values that, when changed, force a new prefix to be generated " +
					"(for example the host name the prefix belongs to).",
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
			},
			"prefix": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The generated `/48` in canonical form, for example `fd3a:9c1e:77b0::/48`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"global_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The 40-bit Global ID as 10 hexadecimal digits.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *ULAPrefixResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m ulaPrefixModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	p, err := ula.Generate(nil)
	if err != nil {
		resp.Diagnostics.AddError("Cannot Generate ULA Prefix", err.Error())
		return
	}
	m.Prefix = types.StringValue(p.String())
	m.GlobalID = types.StringValue(p.GlobalIDHex())
	m.ID = m.Prefix
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *ULAPrefixResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	// Nothing outside Terraform holds the prefix: state is the truth.
}

func (r *ULAPrefixResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	// Only keepers can change without replacement when they go from null to an empty map; keep the prefix.
	var plan, state ulaPrefixModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID, plan.Prefix, plan.GlobalID = state.ID, state.Prefix, state.GlobalID
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *ULAPrefixResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
}

// ImportState takes an existing /48 (for example one already deployed by hand).
func (r *ULAPrefixResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	p, warnings, err := ula.Check(req.ID, ula.Limits{Min: 48, Max: 48})
	if err == nil && ula.Classify(p) != ula.ClassULA {
		err = fmt.Errorf("%q is %s space, not a unique local prefix", req.ID, ula.Classify(p))
	}
	if err != nil {
		resp.Diagnostics.AddError("Invalid ULA Prefix Import ID",
			err.Error()+". Import a dockeripv6_ula_prefix by the /48 it holds: a unique local prefix inside fd00::/8, "+
				"the one your networks' subnets are carved from.")
		return
	}
	for _, w := range warnings {
		resp.Diagnostics.AddWarning("Questionable ULA Prefix", w)
	}
	a := p.Addr().As16()
	var id [5]byte
	copy(id[:], a[1:6])
	u := ula.Prefix{Prefix: p, GlobalID: id}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), u.String())...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("prefix"), u.String())...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("global_id"), u.GlobalIDHex())...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("keepers"), types.MapNull(types.StringType))...)
}
