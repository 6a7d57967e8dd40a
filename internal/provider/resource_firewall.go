package provider

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/firewall"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/hostcheck"
)

var (
	_ resource.Resource                   = &FirewallResource{}
	_ resource.ResourceWithConfigure      = &FirewallResource{}
	_ resource.ResourceWithImportState    = &FirewallResource{}
	_ resource.ResourceWithModifyPlan     = &FirewallResource{}
	_ resource.ResourceWithValidateConfig = &FirewallResource{}
)

// FirewallResource is dockeripv6_firewall: the IPv6 posture for the mail ports, in
// an nftables inet table of its own (internal/firewall). It never reads for
// change, writes or flushes any other table.
type FirewallResource struct{ data *providerData }

// NewFirewallResource returns the dockeripv6_firewall resource.
func NewFirewallResource() resource.Resource { return &FirewallResource{} }

type firewallModel struct {
	Host           types.String `tfsdk:"host"`
	ID             types.String `tfsdk:"id"`
	Table          types.String `tfsdk:"table"`
	IPv6Clients    types.String `tfsdk:"ipv6_clients"`
	Ports          types.Set    `tfsdk:"ports"`
	AllowIPv6From  types.Set    `tfsdk:"allow_ipv6_from"`
	RejectWith     types.String `tfsdk:"reject_with"`
	Drift          types.List   `tfsdk:"drift"`
	OtherFirewalls types.List   `tfsdk:"other_firewalls"`
}

var fwOtherAttrTypes = map[string]attr.Type{
	"name":   types.StringType,
	"kind":   types.StringType,
	"detail": types.StringType,
}

var fwOtherType = types.ObjectType{AttrTypes: fwOtherAttrTypes}

func fwDefaultPorts() types.Set {
	var elems []attr.Value
	for _, p := range firewall.DefaultPorts() {
		elems = append(elems, portValue(p))
	}
	return types.SetValueMust(types.NumberType, elems)
}

// Ports are numbers, not int64s, in the schema: a value such as 25.5 then reaches
// the validator, which says what is wrong, instead of failing the framework's
// conversion with an error addressed to the provider's developers.
func portValue(p uint16) types.Number { return types.NumberValue(new(big.Float).SetInt64(int64(p))) }

// portNumber is v as a port number; ok is false when it is not a whole number.
func portNumber(v types.Number) (int64, bool) {
	f := v.ValueBigFloat()
	if f == nil || !f.IsInt() {
		return 0, false
	}
	i, acc := f.Int64()
	return i, acc == big.Exact
}

func fwPortsDoc() string {
	var s []string
	for _, p := range firewall.DefaultPorts() {
		s = append(s, strconv.Itoa(int(p)))
	}
	return strings.Join(s, ", ")
}

func (r *FirewallResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_firewall"
}

func (r *FirewallResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *FirewallResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The IPv6 firewall posture for the mail ports a Docker host publishes, in an nftables `inet` " +
			"table of its own. `ipv6_clients = \"refuse\"` turns remote IPv6 clients away from those ports with a TCP reset, so they " +
			"fall back to IPv4 at once instead of reaching the mail server masqueraded as the Docker network's gateway; " +
			"`ipv6_clients = \"allow\"` leaves them open (the posture for a host whose containers have IPv6 addresses).\n\n" +
			"The table holds an `input` chain (IPv6 to docker-proxy, which listens on the host for containers without an " +
			"IPv6 address) and a `forward` chain (IPv6 that Docker DNATs to a container with an IPv6 address, matched on the " +
			"port the client asked for). Loopback and the sources in `allow_ipv6_from` are never refused; IPv4 is never " +
			"touched. The table is written, changed and removed in one nftables transaction, read back from the kernel on " +
			"every refresh (a deleted table, a rule deleted or added by hand, a changed port set all show in the plan and the " +
			"next apply restores the posture), and no other table or chain is ever written or flushed: Docker's, UFW's, " +
			"firewalld's and your own rules stay exactly as they are.",
		Attributes: map[string]schema.Attribute{
			"host": resourceHostAttribute(),
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The table's name.",
			},
			"table": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(firewall.DefaultTable),
				MarkdownDescription: "Name of the nftables `inet` table this resource owns (`nft list table inet <name>`). " +
					"Defaults to `" + firewall.DefaultTable + "`. A letter first, then letters, digits, `_`, `-` or `.`; not an " +
					"nft keyword. Changing it replaces the resource. An existing table of that name that this provider did " +
					"not write is never replaced: create and import refuse it.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{stringCheck{desc: "an nftables table name: a letter first, then letters, digits, '_', '-' or '.', not an nft keyword",
					summary: "Invalid Table Name", check: firewall.ValidateTableName}},
			},
			"ipv6_clients": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "`refuse`: remote IPv6 connections to `ports` are refused (see `reject_with`), on both paths " +
					"Docker uses (docker-proxy and DNAT); IPv6 clients fall back to IPv4, where the mail server sees their real " +
					"address. `allow`: they are let through; the table stays in place (empty chains) so a rule added by hand " +
					"still shows as drift.",
				Validators: []validator.String{stringCheck{desc: `"refuse" or "allow"`, summary: "Unknown ipv6_clients Posture", check: checkIPv6Clients}},
			},
			"ports": schema.SetAttribute{
				ElementType: types.NumberType, Optional: true, Computed: true, Default: setdefault.StaticValue(fwDefaultPorts()),
				MarkdownDescription: "TCP ports the posture applies to: the host ports the mail server publishes (the left " +
					"side of `25:25` in a compose file). Defaults to the ports docker-mailserver publishes: " + fwPortsDoc() +
					" (SMTP, POP3, IMAP, submissions, submission, IMAPS, POP3S, ManageSieve). Each 1 to 65535; at least one.",
				Validators: []validator.Set{firewallPortsValidator{}},
			},
			"allow_ipv6_from": schema.SetAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "IPv6 source prefixes that are never refused, in CIDR form without host bits, for example " +
					"an office's ULA `fd12:3456:789a::/48` or a backup MX's `2001:db8:1::25/128`. Prefixes inside others and " +
					"neighbours are merged in the kernel; the plan compares by the addresses covered, so that is never a diff.",
				Validators: []validator.Set{firewallAllowValidator{}},
			},
			"reject_with": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(firewall.RejectTCPReset),
				MarkdownDescription: "How a refused IPv6 connection ends. `tcp-reset` (default): the client sees " +
					"\"connection refused\" at once and tries the server's IPv4 address. `drop`: the SYN is silently discarded " +
					"and the client waits for its connect time-out before falling back (MTAs commonly wait 30 s or more per " +
					"attempt). Only used with `ipv6_clients = \"refuse\"`.",
				Validators: []validator.String{stringvalidator.OneOf(firewall.RejectTCPReset, firewall.RejectDrop)},
			},
			"drift": schema.ListAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "How the table in the kernel differs from what this resource writes, one line per " +
					"difference: a rule deleted or added by hand, a chain or set changed or added. Empty after every apply. " +
					"When a refresh finds drift, the plan shows an update from those lines to `[]`: the apply rewrites the table.",
			},
			"other_firewalls": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "What else filters (or NATs) this host's traffic, as found in nftables (Docker's " +
					"iptables-nft chains or Docker 29's nftables tables, UFW's chains, firewalld's table, any other table " +
					"hooked on input or forward) and, for `ufw.service` and `firewalld.service`, from systemd over D-Bus. " +
					"Rules made with iptables-legacy are not in nftables and are not seen. Read only: this resource never " +
					"changes them.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":   schema.StringAttribute{Computed: true, MarkdownDescription: "Where: `ip6 filter`, `inet firewalld`, `ufw.service`."},
					"kind":   schema.StringAttribute{Computed: true, MarkdownDescription: "`docker-iptables`, `docker-nftables`, `ufw`, `firewalld`, `iptables-nft` or `nftables`."},
					"detail": schema.StringAttribute{Computed: true, MarkdownDescription: "One line: what it is and what it means for IPv6."},
				}},
			},
		},
	}
}

// ---- validators -------------------------------------------------------------

// checkIPv6Clients accepts "refuse" and "allow", and for anything else says what
// each means and which one a common other word most likely meant.
func checkIPv6Clients(s string) error {
	if s == firewall.IPv6Refuse || s == firewall.IPv6Allow {
		return nil
	}
	hint := ""
	switch strings.ToLower(strings.TrimSpace(s)) {
	case firewall.IPv6Refuse, "refused", "deny", "denied", "block", "blocked", "reject", "off", "false", "no", "disable", "disabled", "ipv4", "ipv4-only", "ipv4_only":
		hint = ` Did you mean "refuse"?`
	case firewall.RejectDrop, "dropped":
		hint = ` Did you mean "refuse" (with reject_with = "drop", so the connection is dropped instead of reset)?`
	case firewall.IPv6Allow, "allowed", "accept", "permit", "open", "native", "pass", "on", "true", "yes", "enable", "enabled", "ipv6":
		hint = ` Did you mean "allow"?`
	}
	return fmt.Errorf("%q is not an ipv6_clients posture. It is %q: remote IPv6 clients get a TCP reset on the mail ports and fall back "+
		"to IPv4, for a mail container on an IPv4-only network; or %q: they reach the mail server with their own address, for a "+
		"mail container on a network with an IPv6 subnet.%s", s, firewall.IPv6Refuse, firewall.IPv6Allow, hint)
}

// ValidateConfig warns about settings the chosen posture ignores.
func (r *FirewallResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var clients, rejectWith types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("ipv6_clients"), &clients)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("reject_with"), &rejectWith)...)
	if resp.Diagnostics.HasError() || clients.ValueString() != firewall.IPv6Allow || rejectWith.IsNull() || rejectWith.IsUnknown() {
		return
	}
	resp.Diagnostics.AddAttributeWarning(path.Root("reject_with"), "reject_with Has No Effect With ipv6_clients = \"allow\"",
		fmt.Sprintf("reject_with = %q says how refused IPv6 connections end, but ipv6_clients = \"allow\" refuses none: remote IPv6 "+
			"clients reach the mail ports. Remove reject_with, or set ipv6_clients = \"refuse\" if IPv6 clients should fall back to IPv4.",
			rejectWith.ValueString()))
}

type firewallPortsValidator struct{}

func (firewallPortsValidator) Description(context.Context) string {
	return fmt.Sprintf("1 to %d TCP ports, each 1 to 65535", firewall.MaxPorts)
}
func (v firewallPortsValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (firewallPortsValidator) ValidateSet(_ context.Context, req validator.SetRequest, resp *validator.SetResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	elems := req.ConfigValue.Elements()
	if len(elems) == 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "No Ports",
			fmt.Sprintf("ports is empty, so the posture would apply to nothing. List the TCP ports the mail server publishes, "+
				"or remove ports to use docker-mailserver's: %s.", fwPortsDoc()))
		return
	}
	if len(elems) > firewall.MaxPorts {
		resp.Diagnostics.AddAttributeError(req.Path, "Too Many Ports",
			fmt.Sprintf("ports has %d entries; at most %d are supported in one table.", len(elems), firewall.MaxPorts))
	}
	for _, e := range elems {
		v, ok := e.(types.Number)
		if !ok || v.IsUnknown() || v.IsNull() {
			continue
		}
		port, whole := portNumber(v)
		if !whole {
			resp.Diagnostics.AddAttributeError(req.Path, "Invalid Port",
				fmt.Sprintf("%s is not a whole number: ports are TCP port numbers from 1 to 65535; use the host port the container publishes, such as 25 or 587.", v.ValueBigFloat().Text('g', -1)))
			continue
		}
		if err := firewall.ValidatePort(port); err != nil {
			resp.Diagnostics.AddAttributeError(req.Path.AtSetValue(e), "Invalid Port", err.Error()+"; use the host port the container publishes, such as 25 or 587.")
		}
	}
}

type firewallAllowValidator struct{}

func (firewallAllowValidator) Description(context.Context) string {
	return "IPv6 prefixes in CIDR form without host bits, such as fd12:3456:789a::/48"
}
func (v firewallAllowValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (firewallAllowValidator) ValidateSet(_ context.Context, req validator.SetRequest, resp *validator.SetResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for _, e := range req.ConfigValue.Elements() {
		v, ok := e.(types.String)
		if !ok || v.IsUnknown() || v.IsNull() {
			continue
		}
		if _, err := firewall.ValidateAllowPrefix(v.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(req.Path.AtSetValue(e), "Invalid IPv6 Prefix", err.Error())
		}
	}
}

// ---- model <-> posture --------------------------------------------------------

// posture maps a plan or configuration onto a firewall.Posture. known is false
// when a value is not known yet (it comes from another resource).
func (m firewallModel) posture(ctx context.Context, diags *diag.Diagnostics) (p firewall.Posture, known bool) {
	if m.Table.IsUnknown() || m.IPv6Clients.IsUnknown() || m.Ports.IsUnknown() || m.AllowIPv6From.IsUnknown() || m.RejectWith.IsUnknown() {
		return p, false
	}
	p.Table, p.IPv6Clients, p.RejectWith = m.Table.ValueString(), m.IPv6Clients.ValueString(), m.RejectWith.ValueString()
	ports, ok := fwSetPorts(ctx, m.Ports, diags)
	if !ok {
		return p, false
	}
	p.Ports = ports
	if !m.AllowIPv6From.IsNull() {
		var ss []types.String
		diags.Append(m.AllowIPv6From.ElementsAs(ctx, &ss, false)...)
		for _, s := range ss {
			if s.IsUnknown() {
				return p, false
			}
			pfx, err := firewall.ValidateAllowPrefix(s.ValueString())
			if err != nil {
				diags.AddAttributeError(path.Root("allow_ipv6_from"), "Invalid IPv6 Prefix", err.Error())
				continue
			}
			p.AllowIPv6From = append(p.AllowIPv6From, pfx)
		}
	}
	return p, !diags.HasError()
}

// fwSetPorts reads a set of port numbers; ok is false when one is unknown.
func fwSetPorts(ctx context.Context, s types.Set, diags *diag.Diagnostics) ([]uint16, bool) {
	if s.IsNull() || s.IsUnknown() {
		return nil, !s.IsUnknown()
	}
	var vs []types.Number
	diags.Append(s.ElementsAs(ctx, &vs, false)...)
	var out []uint16
	for _, v := range vs {
		if v.IsUnknown() {
			return nil, false
		}
		port, whole := portNumber(v)
		if v.IsNull() || !whole || firewall.ValidatePort(port) != nil {
			continue // the validator has said so already
		}
		out = append(out, uint16(port))
	}
	return out, true
}

func fwPortsValue(ports []uint16) types.Set {
	elems := make([]attr.Value, 0, len(ports))
	for _, p := range ports {
		elems = append(elems, portValue(p))
	}
	return types.SetValueMust(types.NumberType, elems)
}

func fwSortedUnique(ports []uint16) []uint16 {
	s := slices.Clone(ports)
	slices.Sort(s)
	return slices.Compact(s)
}

func fwStrings(ss []string) types.List {
	elems := make([]attr.Value, 0, len(ss))
	for _, s := range ss {
		elems = append(elems, types.StringValue(s))
	}
	return types.ListValueMust(types.StringType, elems)
}

func fwFindings(fs []firewall.Finding) types.List {
	elems := make([]attr.Value, 0, len(fs))
	for _, f := range fs {
		elems = append(elems, types.ObjectValueMust(fwOtherAttrTypes, map[string]attr.Value{
			"name": types.StringValue(f.Name), "kind": types.StringValue(f.Kind), "detail": types.StringValue(f.Detail),
		}))
	}
	return types.ListValueMust(fwOtherType, elems)
}

// fwStateFromKernel is prior with the posture the kernel holds. The user's spelling
// of ports and prefixes is kept when it covers exactly what the kernel holds, so
// merged prefixes ("fd00::/16" and "fd01::/16" read back as "fd00::/15") or a
// different case are never a diff; anything else is taken from the kernel, so
// the plan shows it.
func fwStateFromKernel(ctx context.Context, prior firewallModel, got *firewall.Posture, drift []string, diags *diag.Diagnostics) firewallModel {
	next := prior
	next.ID = types.StringValue(got.Table)
	next.Table = types.StringValue(got.Table)
	next.IPv6Clients = types.StringValue(got.IPv6Clients)
	switch {
	case got.IPv6Clients == firewall.IPv6Refuse:
		next.RejectWith = types.StringValue(got.RejectWith)
	case prior.RejectWith.IsNull() || prior.RejectWith.IsUnknown():
		// An "allow" table has no rule to store reject_with in (import): the default.
		next.RejectWith = types.StringValue(firewall.RejectTCPReset)
	}

	priorPorts, _ := fwSetPorts(ctx, prior.Ports, diags)
	if prior.Ports.IsNull() || prior.Ports.IsUnknown() || !slices.Equal(fwSortedUnique(priorPorts), fwSortedUnique(got.Ports)) {
		next.Ports = fwPortsValue(got.Ports)
	}

	var priorPrefixes []netip.Prefix
	priorOK := !prior.AllowIPv6From.IsUnknown()
	if !prior.AllowIPv6From.IsNull() && priorOK {
		var ss []types.String
		diags.Append(prior.AllowIPv6From.ElementsAs(ctx, &ss, false)...)
		for _, s := range ss {
			p, err := firewall.ValidateAllowPrefix(s.ValueString())
			if err != nil {
				priorOK = false
				break
			}
			priorPrefixes = append(priorPrefixes, p)
		}
	}
	if !priorOK || !slices.Equal(firewall.CanonicalPrefixes(priorPrefixes), firewall.CanonicalPrefixes(got.AllowIPv6From)) {
		if len(got.AllowIPv6From) == 0 && (prior.AllowIPv6From.IsNull() || prior.AllowIPv6From.IsUnknown()) {
			next.AllowIPv6From = types.SetNull(types.StringType)
		} else {
			elems := make([]attr.Value, 0, len(got.AllowIPv6From))
			for _, p := range got.AllowIPv6From {
				elems = append(elems, types.StringValue(p.String()))
			}
			next.AllowIPv6From = types.SetValueMust(types.StringType, elems)
		}
	}
	if drift == nil {
		drift = []string{}
	}
	next.Drift = fwStrings(drift)
	return next
}

// ---- plan ---------------------------------------------------------------------

// ModifyPlan keeps drift at [] in every plan (so a refresh that found drift plans
// an update) and warns about what else decides whether IPv6 clients get through.
func (r *FirewallResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy: only the table goes
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("drift"), fwStrings([]string{}))...)
	var plan firewallModel
	resp.Diagnostics.Append(resp.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.Table.IsUnknown() {
		// id is the table's name, also when a new name replaces the resource.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), plan.Table)...)
	}
	if !req.State.Raw.IsNull() && !resp.Plan.Raw.Equal(req.State.Raw) {
		// An update (a drift-only one too) reads other_firewalls again at apply;
		// what it finds then may differ from this plan's refresh.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("other_firewalls"), types.ListUnknown(fwOtherType))...)
	}
	p, known := plan.posture(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || !known {
		return
	}
	n, err := p.Normalize()
	if err != nil {
		resp.Diagnostics.AddError("Invalid Firewall Posture", err.Error())
		return
	}
	if r.data == nil {
		return
	}
	h, ok := r.data.on(plan.Host, &resp.Diagnostics)
	if !ok {
		return
	}
	r.warnPosture(ctx, h, n, &resp.Diagnostics)
}

// warnPosture warns about what else decides whether IPv6 clients reach the
// posture's ports: UFW or firewalld beside it, a refuse posture beside Docker
// networks with IPv6, ports no running container publishes. What cannot be read
// (systemd, nftables, an unreachable Docker daemon) only skips its warnings.
func (r *FirewallResource) warnPosture(ctx context.Context, h host.Host, p firewall.Posture, diags *diag.Diagnostics) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	facts := h.GatherPosture(ctx)
	for _, g := range facts.Gaps {
		tflog.Info(ctx, "skipping the firewall plan warnings that need what could not be read", map[string]any{"gap": g})
	}
	for _, f := range hostcheck.PostureFindings(facts, p) {
		w, _ := hostcheck.Lookup(f.ID) // the plan warning's summary and attribute
		tflog.Info(ctx, "firewall plan warning", map[string]any{"id": f.ID})
		if w.Attribute == "" {
			diags.AddWarning(w.Summary, f.Message+" "+f.Fix)
		} else {
			diags.AddAttributeWarning(path.Root(w.Attribute), w.Summary, f.Message+" "+f.Fix)
		}
	}
}

// unitStates reads the ActiveState of ufw.service and firewalld.service over
// D-Bus; nil when systemd cannot be asked.
func (r *FirewallResource) unitStates(ctx context.Context, h host.Host) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, units, err := h.Units(ctx, "", firewall.FrontendUnits()...)
	if err != nil {
		tflog.Info(ctx, "cannot read unit states from systemd", map[string]any{"error": err.Error()})
		return nil
	}
	return units
}

// otherFirewalls is the other_firewalls value: nftables findings plus unit states.
func (r *FirewallResource) otherFirewalls(ctx context.Context, h host.Host, conn firewall.Handle, table string, diags *diag.Diagnostics) types.List {
	findings, err := conn.OtherFirewalls(ctx, table)
	if err != nil {
		diags.AddError(hostSummary(err, "Cannot List Other Firewalls"), fmt.Sprintf("Reading nftables' tables and chains: %v", err))
		return types.ListNull(fwOtherType)
	}
	merged := firewall.MergeUnitStates(findings, r.unitStates(ctx, h))
	for _, f := range merged {
		tflog.Debug(ctx, "other firewall", map[string]any{"name": f.Name, "kind": f.Kind, "detail": f.Detail})
	}
	return fwFindings(merged)
}

// ---- CRUD ---------------------------------------------------------------------

func (r *FirewallResource) fwConnect(ctx context.Context, h host.Host, diags *diag.Diagnostics) (firewall.Handle, func() error, bool) {
	conn, err := h.Firewall(ctx)
	if err != nil {
		diags.AddError("Cannot Reach nftables",
			fmt.Sprintf("Opening a netlink connection to nftables failed: %v. The provider needs CAP_NET_ADMIN (run terraform as root on the Docker host, or reach the host through the provider's hosts).", err))
		return nil, nil, false
	}
	return conn, conn.Close, true
}

// fwOpen connects to nftables and looks table up. When ok is false the error is in
// diags and nothing is left open; otherwise the caller must call done.
func (r *FirewallResource) fwOpen(ctx context.Context, h host.Host, table string, diags *diag.Diagnostics) (conn firewall.Handle, done func() error, exists, ours, ok bool) {
	conn, done, ok = r.fwConnect(ctx, h, diags)
	if !ok {
		return nil, nil, false, false, false
	}
	exists, ours, err := conn.Exists(ctx, table)
	if err != nil {
		_ = done()
		diags.AddError(hostSummary(err, "Cannot Read nftables"), fmt.Sprintf("Looking for table inet %s: %v", table, err))
		return nil, nil, false, false, false
	}
	return conn, done, exists, ours, true
}

func fwNotOursDetail(table string) string {
	return fmt.Sprintf("An inet table named %q exists in nftables and was not written by this provider (none of its sets "+
		"carry the provider's comment). Writing the posture would replace it and every rule in it. Choose another table "+
		"name, or, if you are sure nothing uses it (`nft list table inet %s`), delete it yourself (`nft delete table inet %s`) "+
		"and apply again.", table, table, table)
}

func (r *FirewallResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan firewallModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	state, ok := r.write(ctx, plan, &resp.Diagnostics)
	if ok {
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
}

func (r *FirewallResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan firewallModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	state, ok := r.write(ctx, plan, &resp.Diagnostics)
	if ok {
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
}

// write applies the planned posture in one transaction, after making sure an
// existing table of that name is ours, and reads it back.
func (r *FirewallResource) write(ctx context.Context, plan firewallModel, diags *diag.Diagnostics) (firewallModel, bool) {
	p, known := plan.posture(ctx, diags)
	if diags.HasError() {
		return plan, false
	}
	if !known {
		diags.AddError("Unknown Firewall Values", "A value of the posture is still unknown at apply; this is a bug in the provider or Terraform.")
		return plan, false
	}
	want, err := p.Normalize()
	if err != nil {
		diags.AddError("Invalid Firewall Posture", err.Error())
		return plan, false
	}
	h, ok := r.data.on(plan.Host, diags)
	if !ok {
		return plan, false
	}
	conn, done, exists, ours, ok := r.fwOpen(ctx, h, want.Table, diags)
	if !ok {
		return plan, false
	}
	defer func() { _ = done() }()
	if exists && !ours {
		diags.AddAttributeError(path.Root("table"), "Table Exists And Is Not Ours", fwNotOursDetail(want.Table))
		return plan, false
	}
	tflog.Info(ctx, "writing firewall table", map[string]any{
		"table": want.Table, "ipv6_clients": want.IPv6Clients, "reject_with": want.RejectWith,
		"ports": fmt.Sprint(want.Ports), "allow_ipv6_from": fmt.Sprint(want.AllowIPv6From), "replacing": exists,
	})
	if err := conn.Apply(ctx, want); err != nil {
		diags.AddError("Cannot Write Firewall Table",
			fmt.Sprintf("%v. Nothing was changed: the kernel applies the table in one transaction or not at all.", err))
		return plan, false
	}

	got, found, drift, err := conn.Read(ctx, want.Table)
	switch {
	case err != nil:
		diags.AddError("Cannot Read Back Firewall Table", fmt.Sprintf("The table was written, but reading it back failed: %v", err))
		return plan, false
	case !found:
		diags.AddError("Firewall Table Vanished", fmt.Sprintf("Table inet %s was written but is not in the kernel right after; something else removes it (a firewall frontend flushing the whole ruleset?).", want.Table))
		return plan, false
	}
	if d := append(drift, firewall.Diff(want, *got)...); len(d) > 0 {
		diags.AddError("Firewall Table Not As Written",
			fmt.Sprintf("Table inet %s reads back differently from what was written: %s. Something else changes it at once; look for a firewall manager that rewrites the ruleset.", want.Table, strings.Join(d, "; ")))
		return plan, false
	}

	state := plan
	state.ID = types.StringValue(want.Table)
	state.Drift = fwStrings([]string{})
	state.OtherFirewalls = r.otherFirewalls(ctx, h, conn, want.Table, diags)
	return state, !diags.HasError()
}

func (r *FirewallResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state firewallModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	table := state.Table.ValueString()
	if table == "" {
		table = state.ID.ValueString()
	}
	h, ok := r.data.on(state.Host, &resp.Diagnostics)
	if !ok {
		return
	}
	conn, done, exists, ours, ok := r.fwOpen(ctx, h, table, &resp.Diagnostics)
	if !ok {
		return
	}
	defer func() { _ = done() }()
	if !exists {
		tflog.Warn(ctx, "firewall table is gone; planning to create it", map[string]any{"table": table})
		resp.State.RemoveResource(ctx)
		return
	}
	if !ours {
		// Someone replaced our table with one of their own: never touch it. The plan
		// creates the table again, and create refuses with the same explanation.
		resp.Diagnostics.AddWarning("Firewall Table Replaced Outside Terraform", fwNotOursDetail(table))
		resp.State.RemoveResource(ctx)
		return
	}
	got, found, drift, err := conn.Read(ctx, table)
	if err != nil {
		resp.Diagnostics.AddError(hostSummary(err, "Cannot Read Firewall Table"), fmt.Sprintf("Decoding table inet %s: %v", table, err))
		return
	}
	if !found {
		tflog.Warn(ctx, "firewall table is gone; planning to create it", map[string]any{"table": table})
		resp.State.RemoveResource(ctx)
		return
	}
	for _, d := range drift {
		tflog.Warn(ctx, "firewall table drift", map[string]any{"table": table, "drift": d})
	}
	// What the refresh changes (the plan shows it too), for TF_LOG. After import the
	// state holds only the table, so there is nothing to compare with.
	var scratch diag.Diagnostics
	if want, known := state.posture(ctx, &scratch); known && !scratch.HasError() && !state.IPv6Clients.IsNull() {
		for _, d := range firewall.Diff(want, *got) {
			tflog.Warn(ctx, "firewall posture changed outside Terraform", map[string]any{"table": table, "change": d})
		}
	}
	next := fwStateFromKernel(ctx, state, got, drift, &resp.Diagnostics)
	next.OtherFirewalls = r.otherFirewalls(ctx, h, conn, table, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

func (r *FirewallResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state firewallModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	table := state.Table.ValueString()
	h, ok := r.data.on(state.Host, &resp.Diagnostics)
	if !ok {
		return
	}
	conn, done, exists, ours, ok := r.fwOpen(ctx, h, table, &resp.Diagnostics)
	if !ok {
		return
	}
	defer func() { _ = done() }()
	if !exists {
		return
	}
	if !ours {
		resp.Diagnostics.AddWarning("Firewall Table Left Alone",
			fmt.Sprintf("Table inet %s is no longer one this provider wrote (someone replaced it), so destroy leaves it as it is.", table))
		return
	}
	tflog.Info(ctx, "deleting firewall table", map[string]any{"table": table})
	if err := conn.Delete(ctx, table); err != nil {
		resp.Diagnostics.AddError("Cannot Delete Firewall Table", fmt.Sprintf("%v. The kernel removes a table in one transaction or not at all, so it is still there as it was.", err))
	}
}

// ImportState takes the table's name and adopts it when this provider wrote it.
func (r *FirewallResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	hostName, table := splitImportID(strings.TrimSpace(req.ID))
	if err := firewall.ValidateTableName(table); err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("Import a dockeripv6_firewall by the name of its nftables inet table, for example %q "+
			"(on one of the provider's hosts: \"mail1:%s\"): %v", firewall.DefaultTable, firewall.DefaultTable, err))
		return
	}
	h, ok := r.data.on(hostName, &resp.Diagnostics)
	if !ok {
		return
	}
	_, done, exists, ours, ok := r.fwOpen(ctx, h, table, &resp.Diagnostics)
	if !ok {
		return
	}
	defer func() { _ = done() }()
	switch {
	case !exists:
		resp.Diagnostics.AddError("No Such Firewall Table", fmt.Sprintf("There is no nftables table inet %s to import (`nft list tables inet` lists them). Apply a configuration to create it instead.", table))
		return
	case !ours:
		resp.Diagnostics.AddError("Cannot Import A Table That Is Not Ours", fwNotOursDetail(table))
		return
	}
	// Read fills in the posture from the kernel.
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("host"), hostName)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("table"), table)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), table)...)
}
