package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/daemonconfig"
)

var (
	_ resource.Resource                = &DaemonConfigResource{}
	_ resource.ResourceWithConfigure   = &DaemonConfigResource{}
	_ resource.ResourceWithImportState = &DaemonConfigResource{}
	_ resource.ResourceWithModifyPlan  = &DaemonConfigResource{}
)

// daemonJSONAttributes maps each owned daemon.json key to the attribute that
// manages it: the one place where daemon.json's words meet the schema's.
var daemonJSONAttributes = map[string]string{
	daemonconfig.KeyIPv6:                "default_bridge_ipv6",
	daemonconfig.KeyFixedCIDRv6:         "fixed_cidr_v6",
	daemonconfig.KeyIP6Tables:           "ip6tables",
	daemonconfig.KeyExperimental:        "experimental",
	daemonconfig.KeyUserlandProxy:       "userland_proxy",
	daemonconfig.KeyDefaultAddressPools: "default_address_pools",
	daemonconfig.KeyLiveRestore:         "live_restore",
}

// DefaultDaemonJSON is where dockerd reads its configuration by default.
const DefaultDaemonJSON = "/etc/docker/daemon.json"

// privateBefore is the private-state key holding each owned key's raw value from
// before this resource took it (JSON null = the key was absent), for destroy.
const privateBefore = "before"

// DaemonConfigResource is dockeripv6_daemon_config: the IPv6 keys of daemon.json.
type DaemonConfigResource struct{ data *providerData }

// NewDaemonConfigResource returns the dockeripv6_daemon_config resource.
func NewDaemonConfigResource() resource.Resource { return &DaemonConfigResource{} }

type daemonConfigModel struct {
	Host                types.String  `tfsdk:"host"`
	ID                  types.String  `tfsdk:"id"`
	Path                types.String  `tfsdk:"path"`
	DefaultBridgeIPv6   types.Bool    `tfsdk:"default_bridge_ipv6"`
	FixedCIDRv6         netAddrValue  `tfsdk:"fixed_cidr_v6"`
	IP6Tables           types.Bool    `tfsdk:"ip6tables"`
	Experimental        types.Bool    `tfsdk:"experimental"`
	UserlandProxy       types.Bool    `tfsdk:"userland_proxy"`
	LiveRestore         types.Bool    `tfsdk:"live_restore"`
	DefaultAddressPools types.List    `tfsdk:"default_address_pools"`
	Restart             *restartModel `tfsdk:"restart"`
	RestartPending      types.Bool    `tfsdk:"restart_pending"`
	DockerVersion       types.String  `tfsdk:"docker_version"`
}

type restartModel struct {
	Method  types.String `tfsdk:"method"`
	Unit    types.String `tfsdk:"unit"`
	Timeout types.String `tfsdk:"timeout"`
}

var poolAttrTypes = map[string]attr.Type{"base": types.StringType, "size": types.NumberType}

// poolModel is one element of default_address_pools.
type poolModel struct {
	Base types.String `tfsdk:"base"`
	Size types.Number `tfsdk:"size"`
}

// poolSize is a pool's size as an int; ok is false when it is not a whole number.
func poolSize(v types.Number) (int, bool) {
	f := v.ValueBigFloat()
	if f == nil || !f.IsInt() {
		return 0, false
	}
	i, acc := f.Int64()
	if acc != big.Exact || i < -1<<31 || i > 1<<31-1 {
		return -1, true // out of range either way; daemonconfig says so
	}
	return int(i), true
}

// poolsValidator checks default_address_pools at validate time with daemonconfig's
// rules for the values (the version rules wait for the plan) and reports errors on
// the attribute itself, naming the element and field in the message.
type poolsValidator struct{}

func (poolsValidator) Description(context.Context) string {
	return "address pools: each base a CIDR prefix, each size a prefix length no shorter than its base"
}
func (v poolsValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (poolsValidator) ValidateList(ctx context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	var elems []types.Object
	resp.Diagnostics.Append(req.ConfigValue.ElementsAs(ctx, &elems, false)...)
	if resp.Diagnostics.HasError() {
		return
	}
	pools := make([]daemonconfig.Pool, len(elems))
	skip := map[int]bool{}
	for i, e := range elems {
		var m poolModel
		if e.IsNull() || e.IsUnknown() {
			skip[i] = true
			continue
		}
		resp.Diagnostics.Append(e.As(ctx, &m, basetypes.ObjectAsOptions{})...)
		if m.Base.IsUnknown() || m.Size.IsUnknown() || m.Base.IsNull() || m.Size.IsNull() {
			skip[i] = true
			continue
		}
		size, whole := poolSize(m.Size)
		if !whole {
			resp.Diagnostics.AddAttributeError(req.Path, "Invalid Address Pool Size",
				fmt.Sprintf("default_address_pools[%d].size is %s, not a whole number: it is the prefix length of each network cut "+
					"from the base, for example 24 for IPv4 or 64 for IPv6.", i, m.Size.ValueBigFloat().Text('g', -1)))
			skip[i] = true
			continue
		}
		pools[i] = daemonconfig.Pool{Base: m.Base.ValueString(), Size: size}
	}
	for _, d := range daemonconfig.Validate(daemonconfig.Settings{DefaultAddressPools: &pools}, daemonconfig.DockerVersion{}) {
		if d.Severity != daemonconfig.SeverityError || d.Key != daemonconfig.KeyDefaultAddressPools || skip[d.Index] {
			continue // warnings come at plan, with the version rules
		}
		resp.Diagnostics.AddAttributeError(req.Path, d.Summary, d.Detail)
	}
}

// restartSettings are the restart block's values with defaults applied.
type restartSettings struct {
	Method  string
	Unit    string
	Timeout time.Duration
}

func (r restartSettings) policy() daemonconfig.RestartPolicy {
	return daemonconfig.RestartPolicy{Method: r.Method, Unit: r.Unit, Timeout: r.Timeout}
}

func (m *daemonConfigModel) restart() restartSettings {
	r := restartSettings{Method: "systemd", Unit: "docker.service", Timeout: 90 * time.Second}
	if m.Restart == nil {
		return r
	}
	if v := m.Restart.Method.ValueString(); v != "" {
		r.Method = v
	}
	if v := m.Restart.Unit.ValueString(); v != "" {
		r.Unit = v
	}
	if d, err := time.ParseDuration(m.Restart.Timeout.ValueString()); err == nil && d > 0 {
		r.Timeout = d
	}
	return r
}

func (r *DaemonConfigResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_daemon_config"
}

func (r *DaemonConfigResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *DaemonConfigResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	managed := func(key, what string) string {
		return fmt.Sprintf("daemon.json `%s`: %s Null (unset) means not managed: the key is left as it is.", key, what)
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The IPv6 keys of the Docker daemon's `daemon.json`, merged per key into the existing file, " +
			"validated against the running Docker version, written atomically with a backup, and applied by restarting " +
			"dockerd through systemd over D-Bus; if dockerd does not come back, the previous file is put back and dockerd " +
			"restarted again.\n\n" +
			"Only the keys set here are written. Every other key, nested objects, key order, unicode and the formatting " +
			"of the rest of the file survive every apply byte for byte. Destroy puts each owned key back to what it was " +
			"before this resource took it (keys that were absent are removed) and restarts dockerd.",
		Attributes: map[string]schema.Attribute{
			"host": resourceHostAttribute(),
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The path of daemon.json.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"path": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(DefaultDaemonJSON),
				MarkdownDescription: "Path of daemon.json. Defaults to `" + DefaultDaemonJSON + "`. A symlink is written " +
					"through to its target. Changing it replaces the resource.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{stringvalidator.LengthAtLeast(1),
					stringCheck{desc: "an absolute path", summary: "Invalid daemon.json Path", check: daemonconfig.CheckPath}},
			},
			"default_bridge_ipv6": schema.BoolAttribute{Optional: true, MarkdownDescription: managed("ipv6",
				"IPv6 on the default bridge (`docker0`, the network of containers started without `--network`) only; user-defined networks such as `dockeripv6_network` enable IPv6 themselves, so a mail host rarely needs it. Docker before 28 needs `fixed_cidr_v6` with it.")},
			"fixed_cidr_v6": schema.StringAttribute{CustomType: netAddrType{}, Optional: true,
				MarkdownDescription: managed("fixed-cidr-v6", "The default bridge's IPv6 subnet. Same rules as a network's `ipv6_subnet`."),
				Validators:          []validator.String{ipv6SubnetValidator{}}},
			"ip6tables": schema.BoolAttribute{Optional: true, MarkdownDescription: managed("ip6tables",
				"Docker's IPv6 NAT and filter rules, so remote IPv6 clients reach containers with their own address. Docker 20.10 to 26 need `experimental = true` for it; 27+ turn it on by default.")},
			"experimental": schema.BoolAttribute{Optional: true, MarkdownDescription: managed("experimental",
				"Experimental daemon features. Needed for `ip6tables` on Docker 20.10 to 26; on 27+ it only turns on other experimental features.")},
			"userland_proxy": schema.BoolAttribute{Optional: true, MarkdownDescription: managed("userland-proxy",
				"docker-proxy for published ports. With it on and an IPv4-only network, remote IPv6 clients are relayed and seen as the gateway; off, they are refused.")},
			"live_restore": schema.BoolAttribute{Optional: true, MarkdownDescription: managed("live-restore",
				"Keep containers running while dockerd restarts (within the same Docker release series).")},
			"default_address_pools": schema.ListNestedAttribute{
				Optional: true,
				MarkdownDescription: managed("default-address-pools", "Pools Docker carves network subnets from. "+
					"Setting it replaces Docker's default IPv4 pools, so list IPv4 pools too."),
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"base": schema.StringAttribute{Required: true, MarkdownDescription: "The pool, in CIDR form."},
					// A number, not an int64: 2.5 then reaches poolsValidator, which says what is wrong.
					"size": schema.NumberAttribute{Required: true, MarkdownDescription: "Prefix length of each network's subnet, 1 to 128 (at most 32 for IPv4)."},
				}},
				// Errors point at the attribute: Terraform cannot show a path inside a list of objects.
				Validators: []validator.List{poolsValidator{}},
			},
			"restart_pending": schema.BoolAttribute{
				Computed: true,
				MarkdownDescription: "True when daemon.json asks for something the running dockerd does not do yet " +
					"(the file was changed and dockerd not restarted). A plan then shows an update that restarts dockerd.",
			},
			"docker_version": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The running daemon's version, as the version rules saw it.",
			},
		},
		Blocks: map[string]schema.Block{
			"restart": schema.SingleNestedBlock{
				MarkdownDescription: "How an apply makes dockerd read the new file. Without this block: `systemd`, `docker.service`, `90s`.",
				Attributes: map[string]schema.Attribute{
					"method": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("systemd"),
						MarkdownDescription: "`systemd` restarts the unit over the system D-Bus and waits for it; `none` only writes the file and leaves `restart_pending` true.",
						Validators:          []validator.String{stringvalidator.OneOf("systemd", "none")}},
					"unit": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("docker.service"),
						MarkdownDescription: "The systemd unit that runs dockerd."},
					"timeout": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("90s"),
						MarkdownDescription: "How long to wait for the restart job and then for the Docker API, as a Go duration.",
						Validators:          []validator.String{durationValidator(), restartTimeoutValidator()}},
				},
			},
		},
	}
}

// restartTimeoutValidator refuses a timeout outside daemonconfig's range
// (durationValidator reports what is no positive duration).
func restartTimeoutValidator() stringCheck {
	return stringCheck{desc: "from 1s to 1h", summary: "Invalid Restart Timeout", check: func(s string) error {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			return daemonconfig.CheckRestartTimeout(d)
		}
		return nil
	}}
}

// desiredSettings maps the configuration onto daemonconfig.Settings (null = unmanaged).
func desiredSettings(ctx context.Context, m daemonConfigModel, diags *diag.Diagnostics) daemonconfig.Settings {
	var s daemonconfig.Settings
	b := func(v types.Bool) *bool {
		if v.IsNull() || v.IsUnknown() {
			return nil
		}
		return daemonconfig.Bool(v.ValueBool())
	}
	s.IPv6, s.IP6Tables, s.Experimental, s.UserlandProxy, s.LiveRestore =
		b(m.DefaultBridgeIPv6), b(m.IP6Tables), b(m.Experimental), b(m.UserlandProxy), b(m.LiveRestore)
	if !m.FixedCIDRv6.IsNull() && !m.FixedCIDRv6.IsUnknown() {
		s.FixedCIDRv6 = daemonconfig.String(canonicalNetAddr(m.FixedCIDRv6.ValueString()))
	}
	if !m.DefaultAddressPools.IsNull() && !m.DefaultAddressPools.IsUnknown() {
		var pools []poolModel
		diags.Append(m.DefaultAddressPools.ElementsAs(ctx, &pools, false)...)
		out := []daemonconfig.Pool{}
		for _, p := range pools {
			size, _ := poolSize(p.Size) // poolsValidator refused what is not a whole number
			out = append(out, daemonconfig.Pool{Base: p.Base.ValueString(), Size: size})
		}
		s.DefaultAddressPools = &out
	}
	return s
}

// setManagedFromFile sets each managed attribute of m (non-null in m) to the value the file holds.
func setManagedFromFile(ctx context.Context, m *daemonConfigModel, file daemonconfig.Settings, diags *diag.Diagnostics) {
	bv := func(cur types.Bool, v *bool) types.Bool {
		if cur.IsNull() {
			return cur
		}
		if v == nil {
			return types.BoolNull()
		}
		return types.BoolValue(*v)
	}
	m.DefaultBridgeIPv6 = bv(m.DefaultBridgeIPv6, file.IPv6)
	m.IP6Tables = bv(m.IP6Tables, file.IP6Tables)
	m.Experimental = bv(m.Experimental, file.Experimental)
	m.UserlandProxy = bv(m.UserlandProxy, file.UserlandProxy)
	m.LiveRestore = bv(m.LiveRestore, file.LiveRestore)
	if !m.FixedCIDRv6.IsNull() {
		if file.FixedCIDRv6 == nil {
			m.FixedCIDRv6 = netAddrNull()
		} else if canonicalNetAddr(*file.FixedCIDRv6) != canonicalNetAddr(m.FixedCIDRv6.ValueString()) {
			m.FixedCIDRv6 = netAddrOf(*file.FixedCIDRv6)
		}
	}
	if !m.DefaultAddressPools.IsNull() {
		m.DefaultAddressPools = poolsValue(ctx, file.DefaultAddressPools, diags)
	}
}

func poolsValue(ctx context.Context, pools *[]daemonconfig.Pool, diags *diag.Diagnostics) types.List {
	objType := types.ObjectType{AttrTypes: poolAttrTypes}
	if pools == nil {
		return types.ListNull(objType)
	}
	var elems []attr.Value
	for _, p := range *pools {
		o, d := types.ObjectValue(poolAttrTypes, map[string]attr.Value{"base": types.StringValue(p.Base), "size": types.NumberValue(new(big.Float).SetInt64(int64(p.Size)))})
		diags.Append(d...)
		elems = append(elems, o)
	}
	l, d := types.ListValue(objType, elems)
	diags.Append(d...)
	return l
}

// noPrivate is the private state of a resource that has none yet.
type noPrivate struct{}

func (noPrivate) GetKey(context.Context, string) ([]byte, diag.Diagnostics) { return nil, nil }

func (r *DaemonConfigResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		// Destroy: the owned keys go back, and dockerd restarts.
		var state daemonConfigModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() || r.data == nil || state.restart().Method != daemonconfig.MethodSystemd {
			return
		}
		h, ok := r.data.on(state.Host, &resp.Diagnostics)
		if !ok {
			return
		}
		before, d := loadBefore(ctx, req.Private)
		resp.Diagnostics.Append(d...)
		preview, err := h.PlanDaemonConfig(ctx, daemonconfig.Request{
			Path: state.Path.ValueString(), Before: before, Destroy: true, Restart: state.restart().policy()})
		if err == nil && preview.Changed {
			r.warnRestart(ctx, state, "Destroying dockeripv6_daemon_config puts the owned daemon.json keys back to their earlier values and restarts dockerd", &resp.Diagnostics)
		}
		return
	}
	if r.data == nil || !planKnownEnough(ctx, req) {
		return
	}
	var plan daemonConfigModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	desired := desiredSettings(ctx, plan, &resp.Diagnostics)
	h, ok := r.data.on(plan.Host, &resp.Diagnostics)
	if !ok {
		return
	}

	// The file as it is now: validation judges what dockerd will read after the merge.
	data, _, err := h.ReadDaemonJSON(ctx, plan.Path.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("path"), hostSummary(err, "Cannot Read daemon.json"), err.Error())
		return
	}
	file, err := daemonconfig.Parse(data)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("path"), "Malformed daemon.json",
			fmt.Sprintf("%s: %v. The provider never writes a file it cannot parse; fix it by hand first.", plan.Path.ValueString(), err))
		return
	}
	version, verr := h.DockerVersion(ctx)
	if verr != nil {
		resp.Diagnostics.AddWarning("Docker Version Unknown",
			fmt.Sprintf("The version rules for daemon.json could not be checked: %v. They will be checked again at apply.", verr))
	}
	for _, d := range daemonconfig.ValidateChange(file, desired, version) {
		at := path.Root(daemonJSONAttributes[d.Key])
		if d.Index >= 0 && d.Key == daemonconfig.KeyDefaultAddressPools {
			at = at.AtListIndex(d.Index)
			if d.Field != "" {
				at = at.AtName(d.Field)
			}
		}
		if d.Severity == daemonconfig.SeverityWarning {
			resp.Diagnostics.AddAttributeWarning(at, d.Summary, d.Detail)
		} else {
			resp.Diagnostics.AddAttributeError(at, d.Summary, d.Detail)
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if version.Known() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("docker_version"), version.String())...)
	}

	restart := plan.restart()
	if restart.Method == daemonconfig.MethodSystemd {
		// An apply that restarts either leaves dockerd running with the file
		// or fails: restart_pending is false whatever the preview says. Set
		// before the preview, so that a preview that fails only when the plan
		// is made again during apply (a busy dockerd) leaves it as known as it
		// was in the plan Terraform showed.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("restart_pending"), false)...)
	}
	req2, d2 := r.request(ctx, plan, priorModel(ctx, req.State, &resp.Diagnostics), req.Private)
	resp.Diagnostics.Append(d2...)
	preview, err := h.PlanDaemonConfig(ctx, req2)
	if err != nil {
		tflog.Warn(ctx, "cannot preview the daemon.json apply", map[string]any{"error": err.Error()})
		resp.Diagnostics.AddWarning("Cannot Preview The daemon.json Apply",
			fmt.Sprintf("Whether applying restarts dockerd could not be told: %v. The apply checks again before it writes.", err))
		return
	}
	if restart.Method == daemonconfig.MethodNone {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("restart_pending"), preview.Restart)...)
	}
	if restart.Method == daemonconfig.MethodSystemd && preview.Restart {
		r.warnRestart(ctx, plan, fmt.Sprintf("Applying restarts dockerd (%s over systemd) because %s",
			restart.Unit, strings.Join(preview.Why, "; and ")), &resp.Diagnostics)
	}
}

// priorModel is the resource's state, or nil when there is none (create).
func priorModel(ctx context.Context, st tfsdk.State, diags *diag.Diagnostics) *daemonConfigModel {
	if st.Raw.IsNull() {
		return nil
	}
	var m daemonConfigModel
	diags.Append(st.Get(ctx, &m)...)
	return &m
}

// request is the daemon.json transaction for plan: the keys it sets, the
// keys the prior state owned and plan no longer does, and the saved values.
func (r *DaemonConfigResource) request(ctx context.Context, plan daemonConfigModel, prior *daemonConfigModel, private privateGetter) (daemonconfig.Request, diag.Diagnostics) {
	var diags diag.Diagnostics
	before, d := loadBefore(ctx, private)
	diags.Append(d...)
	req := daemonconfig.Request{
		Path:    plan.Path.ValueString(),
		Set:     desiredSettings(ctx, plan, &diags),
		Before:  before,
		Restart: plan.restart().policy(),
	}
	if prior != nil {
		req.Pending = prior.RestartPending.ValueBool()
		for _, k := range desiredSettings(ctx, *prior, &diags).Keys() {
			if !slices.Contains(req.Set.Keys(), k) {
				req.Release = append(req.Release, k)
			}
		}
	}
	return req, diags
}

func planKnownEnough(ctx context.Context, req resource.ModifyPlanRequest) bool {
	var p types.String
	req.Plan.GetAttribute(ctx, path.Root("path"), &p)
	return !p.IsUnknown()
}

func (r *DaemonConfigResource) warnRestart(ctx context.Context, m daemonConfigModel, what string, diags *diag.Diagnostics) {
	if r.data == nil {
		return
	}
	h, ok := r.data.on(m.Host, diags)
	if !ok {
		return
	}
	n, err := h.DockerClient().RunningContainers(ctx)
	detail := what + ". "
	switch {
	case err != nil:
		detail += fmt.Sprintf("The number of running containers could not be read (%v).", err)
	case n == 0:
		detail += "No container is running, so nothing stops."
	default:
		info, _ := h.DockerClient().Info(ctx)
		if info.LiveRestoreEnabled {
			detail += fmt.Sprintf("%d running container(s) keep running: live-restore is on (as long as the bridge settings they use do not change).", n)
		} else {
			detail += fmt.Sprintf("%d running container(s) will be stopped and started again with it (set live_restore = true to keep them running across restarts). On a mail host, plan this for a quiet moment.", n)
		}
	}
	diags.AddWarning("Docker Daemon Restart", detail)
}

func (r *DaemonConfigResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan daemonConfigModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, plan, nil, noPrivate{}, &resp.State, resp.Private, &resp.Diagnostics)
}

func (r *DaemonConfigResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state daemonConfigModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, plan, &state, req.Private, &resp.State, resp.Private, &resp.Diagnostics)
}

type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

func loadBefore(ctx context.Context, p privateGetter) (map[string]json.RawMessage, diag.Diagnostics) {
	raw, diags := p.GetKey(ctx, privateBefore)
	before := map[string]json.RawMessage{}
	if len(raw) == 0 {
		return before, diags
	}
	var stored map[string]json.RawMessage
	if err := json.Unmarshal(raw, &stored); err != nil {
		diags.AddError("Corrupt Private State", err.Error())
		return before, diags
	}
	for k, v := range stored {
		if string(v) == `{"absent":true}` {
			before[k] = nil
		} else {
			before[k] = v
		}
	}
	return before, diags
}

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func storeBefore(ctx context.Context, p privateSetter, before map[string]json.RawMessage) diag.Diagnostics {
	// Private state values must be JSON objects at the top; an absent key is
	// stored as {"absent":true}, which no daemon.json value of an owned key can be.
	stored := map[string]json.RawMessage{}
	for k, v := range before {
		if v == nil {
			stored[k] = json.RawMessage(`{"absent":true}`)
		} else {
			stored[k] = v
		}
	}
	b, _ := json.Marshal(stored)
	return p.SetKey(ctx, privateBefore, b)
}

// apply runs the daemon.json transaction for plan and sets state from its result.
func (r *DaemonConfigResource) apply(ctx context.Context, plan daemonConfigModel, prior *daemonConfigModel,
	private privateGetter, state stateSetter, privOut privateSetter, diags *diag.Diagnostics) {
	req, d := r.request(ctx, plan, prior, private)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	h, ok := r.data.on(plan.Host, diags)
	if !ok {
		return
	}
	res, err := h.ApplyDaemonConfig(ctx, req)
	reportApply(ctx, res, err, diags)
	if err != nil {
		return
	}
	diags.Append(storeBefore(ctx, privOut, res.Before)...)
	plan.ID = types.StringValue(req.Path)
	plan.RestartPending = types.BoolValue(res.Pending)
	if res.Version.Known() {
		plan.DockerVersion = types.StringValue(res.Version.String())
	} else if plan.DockerVersion.IsUnknown() {
		plan.DockerVersion = types.StringNull()
	}
	diags.Append(state.Set(ctx, &plan)...)
}

// reportApply turns a transaction's result and error into log lines and diagnostics.
func reportApply(ctx context.Context, res daemonconfig.Result, err error, diags *diag.Diagnostics) {
	tflog.Info(ctx, "daemon.json apply finished", map[string]any{"wrote": res.Wrote, "backup": res.Backup,
		"restarted": res.Restarted, "why": strings.Join(res.Why, "; "), "downtime_ms": res.Downtime.Milliseconds()})
	var refused *daemonconfig.RefusedError
	var rolled *daemonconfig.RolledBackError
	switch {
	case errors.As(err, &refused):
		diags.AddError(refused.Summary, refused.Detail)
	case errors.As(err, &rolled):
		diags.AddError("Docker Daemon Did Not Come Back; Rolled Back", rolled.Error())
	case err != nil:
		diags.AddError(hostSummary(err, "Cannot Apply daemon.json"), err.Error())
	case len(res.Notes) > 0:
		diags.AddWarning("systemd Held The Docker Unit Failed", strings.Join(res.Notes, "\n")+
			"\n\ndockerd was restarted and verified afterwards. Look at `journalctl -u docker.service` for what made it fail before.")
	}
}

type stateSetter interface {
	Set(ctx context.Context, v any) diag.Diagnostics
}

func (r *DaemonConfigResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state daemonConfigModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h, ok := r.data.on(state.Host, &resp.Diagnostics)
	if !ok {
		return
	}
	p := state.Path.ValueString()
	data, _, err := h.ReadDaemonJSON(ctx, p)
	if err != nil {
		resp.Diagnostics.AddError(hostSummary(err, "Cannot Read daemon.json"), err.Error())
		return
	}
	file, err := daemonconfig.Parse(data)
	if err != nil {
		resp.Diagnostics.AddError("Malformed daemon.json", fmt.Sprintf("%s: %v. The provider never writes a file it cannot parse; fix it by hand.", p, err))
		return
	}
	setManagedFromFile(ctx, &state, file, &resp.Diagnostics)
	{
		unit := state.restart().Unit
		if obs, err := h.Observe(ctx, unit); err == nil {
			pending := daemonconfig.PendingKeys(file, obs)
			state.RestartPending = types.BoolValue(len(pending) > 0)
			state.DockerVersion = types.StringValue(obs.Version.String())
			if len(pending) > 0 {
				tflog.Info(ctx, "daemon.json differs from the running daemon", map[string]any{"keys": strings.Join(pending, ",")})
			}
		} else {
			// A daemon that does not answer runs none of the file's settings.
			state.RestartPending = types.BoolValue(true)
			resp.Diagnostics.AddWarning("Docker Daemon Not Answering",
				fmt.Sprintf("%v\n\nrestart_pending is set: the next apply starts %s through systemd and verifies that dockerd runs with daemon.json.", err, unit))
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *DaemonConfigResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state daemonConfigModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	h, ok := r.data.on(state.Host, &resp.Diagnostics)
	if !ok {
		return
	}
	before, diags := loadBefore(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if _, exists, err := h.ReadDaemonJSON(ctx, state.Path.ValueString()); err == nil && !exists {
		return // nothing to put back
	}
	res, err := h.ApplyDaemonConfig(ctx, daemonconfig.Request{
		Path: state.Path.ValueString(), Before: before, Destroy: true, Restart: state.restart().policy()})
	reportApply(ctx, res, err, &resp.Diagnostics)
}

// ImportState adopts daemon.json at the given path: every owned key present in the
// file becomes managed, with its current value as the value to restore on destroy.
func (r *DaemonConfigResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	hostName, p := splitImportID(req.ID)
	h, ok := r.data.on(hostName, &resp.Diagnostics)
	if !ok {
		return
	}
	data, exists, err := h.ReadDaemonJSON(ctx, p)
	if err != nil || !exists {
		resp.Diagnostics.AddError("Cannot Import daemon.json", fmt.Sprintf("reading %s: %v", p, errOr(err, "no such file")))
		return
	}
	file, err := daemonconfig.Parse(data)
	if err != nil {
		resp.Diagnostics.AddError("Malformed daemon.json", fmt.Sprintf("%s: %v", p, err))
		return
	}
	m := daemonConfigModel{
		Host: hostName,
		ID:   types.StringValue(p), Path: types.StringValue(p),
		DefaultBridgeIPv6: types.BoolValue(false), IP6Tables: types.BoolValue(false), Experimental: types.BoolValue(false),
		UserlandProxy: types.BoolValue(false), LiveRestore: types.BoolValue(false),
		FixedCIDRv6:         netAddrOf("::/0"),
		DefaultAddressPools: types.ListValueMust(types.ObjectType{AttrTypes: poolAttrTypes}, nil),
		RestartPending:      types.BoolValue(false), DockerVersion: types.StringNull(),
	}
	setManagedFromFile(ctx, &m, file, &resp.Diagnostics)
	snap, err := daemonconfig.Snapshot(data, file.Keys()...)
	if err != nil {
		resp.Diagnostics.AddError("Malformed daemon.json", err.Error())
		return
	}
	resp.Diagnostics.Append(storeBefore(ctx, resp.Private, snap)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}
