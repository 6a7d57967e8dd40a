package provider

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/hostcheck"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
)

var (
	_ datasource.DataSource              = &HostDataSource{}
	_ datasource.DataSourceWithConfigure = &HostDataSource{}
)

// HostDataSource is dockeripv6_host: the host's IPv6 posture and its findings.
type HostDataSource struct{ data *providerData }

// NewHostDataSource returns the dockeripv6_host data source.
func NewHostDataSource() datasource.DataSource { return &HostDataSource{} }

type hostModel struct {
	Host                  types.String         `tfsdk:"host"`
	DaemonJSONPath        types.String         `tfsdk:"daemon_json_path"`
	DockerVersion         types.String         `tfsdk:"docker_version"`
	APIVersion            types.String         `tfsdk:"api_version"`
	DaemonJSON            *hostDaemonJSONModel `tfsdk:"daemon_json"`
	Running               *hostRunningModel    `tfsdk:"running"`
	RestartPending        types.Bool           `tfsdk:"restart_pending"`
	RestartPendingKeys    []string             `tfsdk:"restart_pending_keys"`
	Networks              []hostNetworkModel   `tfsdk:"networks"`
	IPv6Forwarding        types.Bool           `tfsdk:"ipv6_forwarding"`
	DefaultRouteInterface types.String         `tfsdk:"default_route_interface"`
	AcceptRA              types.Int64          `tfsdk:"accept_ra"`
	GaiConfULAPrecedence  types.Int64          `tfsdk:"gai_conf_ula_precedence"`
	OtherFirewalls        []hostFirewallModel  `tfsdk:"other_firewalls"`
	Findings              []hostFindingModel   `tfsdk:"findings"`
	FindingIDs            []string             `tfsdk:"finding_ids"`
	MailContainers        []string             `tfsdk:"mail_containers"`
}

type hostDaemonJSONModel struct {
	DefaultBridgeIPv6   types.Bool   `tfsdk:"default_bridge_ipv6"`
	FixedCIDRv6         types.String `tfsdk:"fixed_cidr_v6"`
	IP6Tables           types.Bool   `tfsdk:"ip6tables"`
	Experimental        types.Bool   `tfsdk:"experimental"`
	UserlandProxy       types.Bool   `tfsdk:"userland_proxy"`
	LiveRestore         types.Bool   `tfsdk:"live_restore"`
	DefaultAddressPools types.List   `tfsdk:"default_address_pools"`
}

type hostRunningModel struct {
	DefaultBridgeIPv6 types.Bool   `tfsdk:"default_bridge_ipv6"`
	FixedCIDRv6       types.String `tfsdk:"fixed_cidr_v6"`
	IP6TablesChain    types.Bool   `tfsdk:"ip6tables_chain"`
	Experimental      types.Bool   `tfsdk:"experimental"`
	LiveRestore       types.Bool   `tfsdk:"live_restore"`
	UserlandProxy     types.Bool   `tfsdk:"userland_proxy"`
}

type hostNetworkModel struct {
	Name           types.String `tfsdk:"name"`
	ID             types.String `tfsdk:"id"`
	Driver         types.String `tfsdk:"driver"`
	IPv6           types.Bool   `tfsdk:"ipv6"`
	IPv4Subnet     types.String `tfsdk:"ipv4_subnet"`
	IPv6Subnet     types.String `tfsdk:"ipv6_subnet"`
	IPv4Gateway    types.String `tfsdk:"ipv4_gateway"`
	IPv6Gateway    types.String `tfsdk:"ipv6_gateway"`
	PublishedPorts []string     `tfsdk:"published_ports"`
}

type hostFirewallModel struct {
	Name   types.String `tfsdk:"name"`
	Kind   types.String `tfsdk:"kind"`
	Detail types.String `tfsdk:"detail"`
}

type hostFindingModel struct {
	ID       types.String `tfsdk:"id"`
	Severity types.String `tfsdk:"severity"`
	Message  types.String `tfsdk:"message"`
	Fix      types.String `tfsdk:"fix"`
}

// hostFindingDocs is the findings table of the documentation: every ID
// hostcheck.Findings can return, its severity and when it appears, from
// hostcheck.Catalog.
var hostFindingDocs = hostFindingRows()

func hostFindingRows() []struct{ id, severity, when string } {
	var out []struct{ id, severity, when string }
	for _, e := range hostcheck.Entries(hostcheck.Host) {
		out = append(out, struct{ id, severity, when string }{e.ID, e.Severity, e.When})
	}
	return out
}

func hostFindingsTable() string {
	var b strings.Builder
	b.WriteString("| id | severity | when |\n|---|---|---|\n")
	for _, r := range hostFindingDocs {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.id, r.severity, r.when)
	}
	return b.String()
}

func (d *HostDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_host"
}

func (d *HostDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *HostDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	boolean := func(desc string) schema.BoolAttribute {
		return schema.BoolAttribute{Computed: true, MarkdownDescription: desc}
	}
	fileKey := func(key string) string {
		return fmt.Sprintf("`%s` as the file says; null when the file does not set it.", key)
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Everything on a Docker host that decides whether remote IPv6 clients reach a mail server with their own " +
			"address, are relayed by docker-proxy and seen as the network's gateway, or are refused, and a list of findings, each " +
			"with a severity and a one-line fix that names the resource to use.\n\n" +
			"It reads the Docker version, daemon.json's IPv6 keys as the file says them and as the running daemon shows them " +
			"(`restart_pending` when they differ), every network with its IPv6 state and the ports its containers publish, IPv6 " +
			"forwarding and `accept_ra` on the default-route interface, the other firewalls in nftables (UFW, firewalld, Docker's own " +
			"chains) and the ufw/firewalld units over D-Bus, running ipv6nat containers, and `/etc/gai.conf`. It changes nothing.\n\n" +
			"It runs at every plan when its inputs are known, at apply when they depend on resources being created (or when it " +
			"`depends_on` them), and inside `check` blocks, whose failed assertions show as warnings, so a plan in CI reports a host " +
			"that drifted into a bad posture. `finding_ids` is a set for easy `contains()` tests.\n\n" +
			"It reads the Docker host itself (`/proc`, netlink and nftables there, as root for nftables): the machine Terraform runs on, " +
			"or the provider's agent on a host of the provider's `hosts` (see `host`).\n\n" +
			"## Findings\n\n" + hostFindingsTable(),
		Attributes: map[string]schema.Attribute{
			"host": dataSourceHostAttribute(),
			"mail_containers": schema.SetAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Running mail containers, by name or ID, whose published TCP ports are measured from a simulated remote client " +
					"(as `dockeripv6_client_ip` with `container` does, over IPv6 and IPv4) for the `masqueraded-clients-trusted` finding: a remote " +
					"client the container sees as another address that its mail server trusts (`PERMIT_DOCKER`, `mynetworks`) may relay through it. " +
					"A container that cannot be measured is a warning."},
			"daemon_json_path": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "Path of the daemon.json the host's dockerd reads. Defaults to `" + DefaultDaemonJSON + "`. A missing file " +
					"reads as empty (Docker's defaults). `restart_pending` compares this file with the running daemon.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"docker_version": str("The daemon's version as `/version` reports it, e.g. `20.10.24+dfsg1` or `28.5.2`."),
			"api_version":    str("The daemon's API version, e.g. `1.41`."),
			"daemon_json": schema.SingleNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The IPv6 keys of daemon.json as the file says them (what dockerd reads at its next start). Null when the file cannot be parsed (see the `daemon-json-malformed` finding).",
				Attributes: map[string]schema.Attribute{
					"default_bridge_ipv6": boolean(fileKey("ipv6") + " IPv6 on the default bridge (`docker0`)."),
					"fixed_cidr_v6":       str(fileKey("fixed-cidr-v6")),
					"ip6tables":           boolean(fileKey("ip6tables")),
					"experimental":        boolean(fileKey("experimental")),
					"userland_proxy":      boolean(fileKey("userland-proxy")),
					"live_restore":        boolean(fileKey("live-restore")),
					"default_address_pools": schema.ListNestedAttribute{
						Computed:            true,
						MarkdownDescription: fileKey("default-address-pools"),
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"base": str("The pool, in CIDR form."),
							"size": schema.Int64Attribute{Computed: true, MarkdownDescription: "Prefix length of each network's subnet."},
						}},
					},
				},
			},
			"running": schema.SingleNestedAttribute{
				Computed: true,
				MarkdownDescription: "What the running daemon shows of those settings. Each value is null when it cannot be observed. " +
					"Null as a whole when the daemon could not be inspected.",
				Attributes: map[string]schema.Attribute{
					"default_bridge_ipv6": boolean("IPv6 on the default bridge (`docker0`)."),
					"fixed_cidr_v6":       str("The default bridge's IPv6 subnet."),
					"ip6tables_chain": boolean("Whether Docker's `DOCKER` chain exists in the ip6 nat table (iptables-nft). Null when that says " +
						"nothing: the nftables firewall backend, iptables-legacy, or no Docker chain in the IPv4 nat table either."),
					"experimental":   boolean("`/info` ExperimentalBuild."),
					"live_restore":   boolean("`/info` LiveRestoreEnabled."),
					"userland_proxy": boolean("Whether docker-proxy processes serve the published ports; null when no port is published."),
				},
			},
			"restart_pending": boolean("True when daemon.json asks for something the running daemon does not do: the file was edited " +
				"and dockerd not restarted. Its settings take effect at the next restart, whoever causes it."),
			"restart_pending_keys": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The daemon.json keys behind `restart_pending`."},
			"networks": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Every Docker network, sorted by name.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":         str("Network name."),
					"id":           str("Network ID."),
					"driver":       str("Driver (`bridge`, `host`, `null`, ...)."),
					"ipv6":         boolean("Whether IPv6 is enabled on the network."),
					"ipv4_subnet":  str("The (first) IPv4 subnet; null when none."),
					"ipv6_subnet":  str("The (first) IPv6 subnet; null when none."),
					"ipv4_gateway": str("The IPv4 gateway Docker lists; null when none."),
					"ipv6_gateway": str("The IPv6 gateway Docker lists; null when none (Docker 20.10 does not list one it picked itself)."),
					"published_ports": schema.ListAttribute{Computed: true, ElementType: types.StringType,
						MarkdownDescription: "The ports its running containers publish, `docker ps` style: `0.0.0.0:25->25/tcp`, " +
							"`[::]:25->25/tcp` (`:25->25/tcp` when published on all addresses with no host IP listed)."},
				}},
			},
			"ipv6_forwarding":         boolean("`net.ipv6.conf.all.forwarding`; null when the host has no IPv6."),
			"default_route_interface": str("The interface of the IPv6 default route, else of the IPv4 one; null when there is none."),
			"accept_ra": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "`accept_ra` of the default-route interface (2 keeps router advertisements working while forwarding); null when unknown."},
			"gai_conf_ula_precedence": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "The value of a `precedence fc00::/7` line in `/etc/gai.conf`; null when there is none."},
			"other_firewalls": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "Other things that filter or NAT this host's traffic, from the kernel's nftables ruleset (tables and " +
					"chains, never rules) and the ufw/firewalld units: UFW, firewalld, Docker's iptables-nft chains and nftables tables, " +
					"other tables hooking input or forward. The provider's own `dockeripv6_firewall` table is not listed.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":   str("Where: `ip6 filter`, `inet firewalld`, `ufw.service`."),
					"kind":   str("`docker-iptables`, `docker-nftables`, `ufw`, `firewalld`, `iptables-nft` or `nftables`."),
					"detail": str("One line for a human."),
				}},
			},
			"findings": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "What is wrong or worth knowing, errors first, then warnings, then info. See the table above.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":       str("Stable identifier, e.g. `ipv4-only-network-published-on-ipv6`. Several findings may share one (one per network)."),
					"severity": str("`error`, `warning` or `info`."),
					"message":  str("What was found, naming the network, ports or Docker version."),
					"fix":      str("What to do, naming the resource to use."),
				}},
			},
			"finding_ids": schema.SetAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The IDs of `findings`, as a set: `contains(data.dockeripv6_host.this.finding_ids, \"restart-pending\")`."},
		},
	}
}

func (d *HostDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var p, hostName types.String
	var mail []string
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("daemon_json_path"), &p)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("host"), &hostName)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("mail_containers"), &mail)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.data == nil {
		resp.Diagnostics.AddError("Provider Not Configured", "dockeripv6_host needs the provider's Docker connection")
		return
	}
	djPath := p.ValueString()
	if p.IsNull() || djPath == "" {
		djPath = DefaultDaemonJSON
	}
	h, ok := d.data.on(hostName, &resp.Diagnostics)
	if !ok {
		return
	}
	facts, err := h.Gather(ctx, djPath, "docker.service")
	if err != nil {
		resp.Diagnostics.AddError(hostSummary(err, "Cannot Inspect The Docker Host"), err.Error())
		return
	}
	for _, g := range facts.Gaps {
		tflog.Warn(ctx, "host fact not observed", map[string]any{"gap": g})
	}
	facts.Clients = measureMailContainers(ctx, h, mail, &resp.Diagnostics)
	findings := hostcheck.Findings(facts)
	tflog.Info(ctx, "host posture", map[string]any{"docker_version": facts.DockerVersion, "findings": len(findings),
		"finding_ids": strings.Join(findingIDs(findings), ","), "gaps": strings.Join(facts.Gaps, "; ")})
	m := hostModelOf(ctx, djPath, facts, findings, &resp.Diagnostics)
	m.Host = hostName
	m.MailContainers = mail
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// measureMailContainers measures each mail container's published ports (one
// host call each) and gives the rows as hostcheck.Clients; a container that
// cannot be measured is a warning.
func measureMailContainers(ctx context.Context, h host.Host, names []string, diags *diag.Diagnostics) []hostcheck.Client {
	var out []hostcheck.Client
	for _, name := range names {
		res, err := h.ContainerClientIP(ctx, probe.ContainerOptions{Container: name, Family: probe.FamilyBoth})
		if err != nil {
			diags.AddAttributeWarning(path.Root("mail_containers"), "Mail Container Not Measured",
				fmt.Sprintf("The masqueraded-clients-trusted finding could not be judged for container %q: %v", name, err))
			continue
		}
		for _, row := range res.Ports {
			c := hostcheck.Client{Container: res.Container, Port: uint16(row.HostPort), Family: row.Family, Trust: res.Trust}
			if row.Verdict == probe.VerdictMasqueraded {
				c.Masqueraded, _ = netip.ParseAddr(row.ObservedAddress)
			}
			out = append(out, c)
		}
	}
	return out
}

func findingIDs(fs []hostcheck.Finding) []string {
	out := []string{}
	for _, f := range fs {
		if !slices.Contains(out, f.ID) {
			out = append(out, f.ID)
		}
	}
	return out
}

func hostModelOf(ctx context.Context, djPath string, f hostcheck.Facts, findings []hostcheck.Finding, diags *diag.Diagnostics) hostModel {
	m := hostModel{
		DaemonJSONPath:        types.StringValue(djPath),
		DockerVersion:         types.StringValue(f.DockerVersion),
		APIVersion:            types.StringValue(f.APIVersion),
		RestartPending:        types.BoolValue(len(f.PendingKeys) > 0),
		RestartPendingKeys:    append([]string{}, f.PendingKeys...),
		Networks:              []hostNetworkModel{},
		IPv6Forwarding:        types.BoolPointerValue(f.IPv6Forwarding),
		DefaultRouteInterface: hostOptString(f.DefaultRoute.Interface),
		AcceptRA:              hostOptInt(f.AcceptRA),
		GaiConfULAPrecedence:  hostOptInt(f.GaiConf.ULAPrecedence),
		OtherFirewalls:        []hostFirewallModel{},
		Findings:              []hostFindingModel{},
		FindingIDs:            findingIDs(findings),
	}
	if f.DaemonJSONError == "" {
		s := f.DaemonJSON
		m.DaemonJSON = &hostDaemonJSONModel{
			DefaultBridgeIPv6: types.BoolPointerValue(s.IPv6), FixedCIDRv6: types.StringPointerValue(s.FixedCIDRv6),
			IP6Tables: types.BoolPointerValue(s.IP6Tables), Experimental: types.BoolPointerValue(s.Experimental),
			UserlandProxy: types.BoolPointerValue(s.UserlandProxy), LiveRestore: types.BoolPointerValue(s.LiveRestore),
			DefaultAddressPools: poolsValue(ctx, s.DefaultAddressPools, diags),
		}
	}
	if f.Running.Version.Known() {
		r := f.Running
		m.Running = &hostRunningModel{
			DefaultBridgeIPv6: types.BoolPointerValue(r.IPv6), FixedCIDRv6: types.StringPointerValue(r.FixedCIDRv6),
			IP6TablesChain: types.BoolPointerValue(r.IP6TablesChain), Experimental: types.BoolPointerValue(r.Experimental),
			LiveRestore: types.BoolPointerValue(r.LiveRestore), UserlandProxy: types.BoolPointerValue(r.UserlandProxy),
		}
	}
	for _, n := range f.Networks {
		m.Networks = append(m.Networks, hostNetworkModel{
			Name: types.StringValue(n.Name), ID: types.StringValue(n.ID), Driver: types.StringValue(n.Driver),
			IPv6:       types.BoolValue(n.IPv6),
			IPv4Subnet: hostFirst(n.IPv4Subnets), IPv6Subnet: hostFirst(n.IPv6Subnets),
			IPv4Gateway: hostFirst(n.IPv4Gateways), IPv6Gateway: hostFirst(n.IPv6Gateways),
			PublishedPorts: n.PublishedPorts(),
		})
	}
	for _, o := range f.OtherFirewalls {
		m.OtherFirewalls = append(m.OtherFirewalls, hostFirewallModel{
			Name: types.StringValue(o.Name), Kind: types.StringValue(o.Kind), Detail: types.StringValue(o.Detail)})
	}
	for _, x := range findings {
		m.Findings = append(m.Findings, hostFindingModel{
			ID: types.StringValue(x.ID), Severity: types.StringValue(x.Severity),
			Message: types.StringValue(x.Message), Fix: types.StringValue(x.Fix)})
	}
	return m
}

func hostOptString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func hostOptInt(i *int) types.Int64 {
	if i == nil {
		return types.Int64Null()
	}
	return types.Int64Value(int64(*i))
}

func hostFirst(s []string) types.String {
	if len(s) == 0 {
		return types.StringNull()
	}
	return types.StringValue(s[0])
}
