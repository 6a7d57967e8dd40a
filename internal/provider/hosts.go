package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/dockerapi"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/host/remote"
	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/sshhost"
)

// sshHostModel is one entry of the provider's hosts map: a mail host reached
// over SSH.
type sshHostModel struct {
	Address                         types.String `tfsdk:"address"`
	Port                            types.Number `tfsdk:"port"`
	User                            types.String `tfsdk:"user"`
	PrivateKey                      types.String `tfsdk:"private_key"`
	AgentSocket                     types.String `tfsdk:"ssh_agent_socket"`
	HostKey                         types.String `tfsdk:"host_key"`
	KnownHostsFile                  types.String `tfsdk:"known_hosts_file"`
	InsecureSkipHostKeyVerification types.Bool   `tfsdk:"insecure_skip_host_key_verification"`
	Sudo                            types.String `tfsdk:"sudo"`
	AgentBinary                     types.String `tfsdk:"agent_binary"`
	DockerHost                      types.String `tfsdk:"docker_host"`
}

const hostAttrDescription = "The name of the entry of the provider's `hosts` this object is on. Omitted: the machine Terraform runs on. " +
	"With `for_each = var.mail_hosts` and `host = each.key`, one configuration holds a posture per host."

// hostsSchema is the provider's hosts attribute.
func hostsSchema() schema.MapNestedAttribute {
	return schema.MapNestedAttribute{
		MarkdownDescription: "Mail hosts reached over SSH, by the name objects use in their `host` argument. For each, the provider " +
			"uploads its own binary once (kept by SHA-256 in `" + sshhost.DefaultAgentDir + "`, root only, checked before it runs), " +
			"runs it as an agent as root (directly, or through `sudo -n`) for the length of the Terraform run, and does all the work " +
			"there: daemon.json, the restart through systemd, nftables, the client-IP probe and the host's findings. One SSH connection " +
			"per host is opened when an object first needs it and shared by every object on that host. Host keys are always verified.",
		Optional: true,
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"address": schema.StringAttribute{
				MarkdownDescription: "Host name or address of the mail host: `mx1.example.net`, an IPv4 address, or an IPv6 address " +
					"without brackets (`fd00::25`, not `[fd00::25]`). The port goes in `port`, the user in `user`.",
				Required: true,
				Validators: []validator.String{stringCheck{desc: "a host name or an address, without port, brackets or user",
					summary: "Invalid Host Address", check: checkSSHAddress}},
			},
			// A number, not an int64: 22.5 or 1e20 then reach the validator, which says what is
			// wrong, instead of failing the framework's conversion (see portValue).
			"port": schema.NumberAttribute{MarkdownDescription: "SSH port, 1 to 65535. Default 22.", Optional: true,
				Validators: []validator.Number{portValidator{}}},
			"user": schema.StringAttribute{
				MarkdownDescription: "SSH user. Default `root`. Any other user needs passwordless sudo (see `sudo`).",
				Optional:            true,
			},
			"private_key": schema.StringAttribute{
				MarkdownDescription: "Unencrypted private key (PEM or OpenSSH format), e.g. `file(\"~/.ssh/id_ed25519\")`. " +
					"Omitted: the keys of the SSH agent at `ssh_agent_socket`.",
				Optional: true, Sensitive: true,
			},
			"ssh_agent_socket": schema.StringAttribute{
				MarkdownDescription: "SSH agent socket used when `private_key` is not set. Default: `SSH_AUTH_SOCK`. " +
					"A leading `~/` is the home directory of the user running Terraform.",
				Optional: true,
			},
			"host_key": schema.StringAttribute{
				MarkdownDescription: "The host's public key, as a line of `authorized_keys` (`ssh-ed25519 AAAA...`) or of " +
					"`ssh-keyscan`. Wins over `known_hosts_file`.",
				Optional: true,
			},
			"known_hosts_file": schema.StringAttribute{
				MarkdownDescription: "OpenSSH known_hosts file to verify the host key against. Default `~/.ssh/known_hosts` " +
					"when `host_key` is not set. A leading `~/` is the home directory of the user running Terraform.",
				Optional: true,
			},
			"insecure_skip_host_key_verification": schema.BoolAttribute{
				MarkdownDescription: "Accept any host key. Anyone on the path can then pose as the host and receive the agent " +
					"and root's work. For throw-away test hosts only: every plan warns while it is set.",
				Optional: true,
			},
			"sudo": schema.StringAttribute{
				MarkdownDescription: "How the agent becomes root: `auto` (default: directly as root, else `sudo -n`), `always` " +
					"(a non-root user with passwordless sudo is expected) or `never` (the user must be root).",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf("auto", "always", "never")},
			},
			"agent_binary": schema.StringAttribute{
				MarkdownDescription: "A local build of this provider for the host's architecture, uploaded as the agent when the " +
					"host's differs from the machine Terraform runs on (`GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build`). " +
					"Default: the provider's own binary. A leading `~/` is the home directory of the user running Terraform.",
				Optional: true,
			},
			"docker_host": schema.StringAttribute{
				MarkdownDescription: "Address of the Docker daemon on that host. Default `" + dockerapi.DefaultHost + "`.",
				Optional:            true,
				Validators: []validator.String{stringCheck{desc: "a unix:// or tcp:// address of the Docker daemon",
					summary: "Unsupported Docker Host", check: dockerapi.CheckHost}},
			},
		}},
	}
}

// resourceHostAttribute is the host argument of every resource: moving an
// object to another host replaces it.
func resourceHostAttribute() rschema.StringAttribute {
	return rschema.StringAttribute{
		MarkdownDescription: hostAttrDescription + " Changing it replaces the object.",
		Optional:            true,
		Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

// dataSourceHostAttribute is the host argument of every data source.
func dataSourceHostAttribute() dsschema.StringAttribute {
	return dsschema.StringAttribute{
		MarkdownDescription: hostAttrDescription,
		Optional:            true,
		Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
	}
}

// configureHosts makes a remote Host per entry of hosts; they share one
// SSH connection pool.
func configureHosts(ctx context.Context, hosts types.Map, diags *diag.Diagnostics) map[string]host.Host {
	if hosts.IsNull() {
		return nil
	}
	if hosts.IsUnknown() {
		diags.AddAttributeError(path.Root("hosts"), "Unknown Hosts",
			"hosts depends on a value that is not known until apply; the provider needs its hosts at plan time. Use literals, variables or data read at plan time.")
		return nil
	}
	var m map[string]sshHostModel
	diags.Append(hosts.ElementsAs(ctx, &m, false)...)
	if diags.HasError() {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		diags.AddError("Cannot Find The Provider's Binary", fmt.Sprintf("The agent uploaded to each host is the provider's own binary: %v", err))
		return nil
	}
	pool := sshhost.NewPool()
	out := map[string]host.Host{}
	for name, hm := range m {
		at := path.Root("hosts").AtMapKey(name)
		if unknownHost(hm) {
			diags.AddAttributeError(at, "Unknown Host Settings",
				fmt.Sprintf("hosts[%q] depends on a value that is not known until apply; the provider connects at plan time.", name))
			continue
		}
		sudo, err := sshhost.ParseSudoMode(hm.Sudo.ValueString())
		if err != nil {
			diags.AddAttributeError(at.AtName("sudo"), "Invalid Sudo", err.Error())
			continue
		}
		cfg, ok := sshConfig(hm, sudo, at, diags)
		if !ok {
			continue
		}
		if cfg.InsecureSkipHostKeyVerification && cfg.HostKey == "" {
			// host_key wins over insecure_skip_host_key_verification (sshhost): only
			// without it is the key really not checked.
			diags.AddAttributeWarning(at.AtName("insecure_skip_host_key_verification"), "Host Key Not Verified",
				fmt.Sprintf("hosts[%q] (%s) accepts any host key: anyone on the path to it can pose as the host, receive the provider's agent and "+
					"run as root in its place, and the provider would report their answers as this host's posture. Set host_key "+
					"(`ssh-keyscan -t ed25519 %s`, checked out of band) or known_hosts_file, and remove this setting.", name, cfg.String(), cfg.Host))
		}
		out[name] = remote.OverSSH(name, cfg, hm.DockerHost.ValueString(), pool, self)
	}
	return out
}

// sshConfig is the SSH connection an entry of hosts describes, with a leading
// ~/ of its paths expanded; false (and an error on the attribute) when a path
// cannot be.
func sshConfig(hm sshHostModel, sudo sshhost.SudoMode, at path.Path, diags *diag.Diagnostics) (sshhost.Config, bool) {
	ok := true
	expand := func(attr string, v types.String) string {
		p, err := expandHome(v.ValueString())
		if err != nil {
			diags.AddAttributeError(at.AtName(attr), "Invalid Path", attr+" "+err.Error())
			ok = false
		}
		return p
	}
	cfg := sshhost.Config{
		Host:                            hm.Address.ValueString(),
		Port:                            portAttr(hm.Port),
		User:                            hm.User.ValueString(),
		PrivateKey:                      hm.PrivateKey.ValueString(),
		AgentSocket:                     expand("ssh_agent_socket", hm.AgentSocket),
		HostKey:                         hm.HostKey.ValueString(),
		KnownHostsFile:                  expand("known_hosts_file", hm.KnownHostsFile),
		InsecureSkipHostKeyVerification: hm.InsecureSkipHostKeyVerification.ValueBool(),
		Sudo:                            sudo,
		AgentBinary:                     expand("agent_binary", hm.AgentBinary),
	}
	return cfg, ok
}

// expandHome reads a leading "~" or "~/" of a path as the home directory of
// the user running Terraform, as a shell would; "~user/" is refused (the
// provider does not look other users up).
func expandHome(p string) (string, error) {
	if !strings.HasPrefix(p, "~") {
		return p, nil
	}
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return "", fmt.Errorf("%q: only a leading ~/ (the home directory of the user running Terraform) is expanded; write the full path", p)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%q starts with ~, but the home directory of the user running Terraform is not known (%v); write the full path", p, err)
	}
	return filepath.Join(home, p[1:]), nil
}

// checkSSHAddress refuses an address that carries what other attributes
// hold: a port, brackets around an IPv6 address, a user, a URL.
func checkSSHAddress(s string) error {
	if s == "" {
		return errors.New("address is empty: set the mail host's name or address")
	}
	if strings.Contains(s, "://") {
		return fmt.Errorf("%q is a URL: write the host name or address alone; the port goes in port and the user in user", s)
	}
	if u, h, ok := strings.Cut(s, "@"); ok {
		return fmt.Errorf("%q names a user: write address = %q and user = %q", s, h, u)
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		if p == "" {
			return fmt.Errorf("%q ends in \":\": write address = %q; a port goes in port", s, h)
		}
		return fmt.Errorf("%q has a port: write address = %q and port = %s", s, h, p)
	}
	if strings.ContainsAny(s, "[]") {
		return fmt.Errorf("%q has brackets: write the address without them (%q); a port goes in port", s, strings.Trim(s, "[]"))
	}
	if strings.Count(s, ":") > 1 {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("%q is not an IPv6 address (an address with more than one \":\" is read as one); a port goes in port", s)
		}
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%q has spaces in it: write the host name or address alone", s)
	}
	return nil
}

func unknownHost(h sshHostModel) bool {
	for _, v := range []interface{ IsUnknown() bool }{h.Address, h.Port, h.User, h.PrivateKey, h.AgentSocket, h.HostKey,
		h.KnownHostsFile, h.InsecureSkipHostKeyVerification, h.Sudo, h.AgentBinary, h.DockerHost} {
		if v.IsUnknown() {
			return true
		}
	}
	return false
}

// on returns the Host an object's host argument names: the local machine
// when it is null.
func (d *providerData) on(name types.String, diags *diag.Diagnostics) (host.Host, bool) {
	if name.IsUnknown() {
		diags.AddAttributeError(path.Root("host"), "Unknown Host",
			"host depends on a value that is not known until apply; the provider must know at plan which machine an object is on. Use a literal, a variable or each.key.")
		return nil, false
	}
	if name.IsNull() || name.ValueString() == "" {
		return d.Host, true
	}
	h, ok := d.Hosts[name.ValueString()]
	if !ok {
		names := make([]string, 0, len(d.Hosts))
		for n := range d.Hosts {
			names = append(names, n)
		}
		sort.Strings(names)
		known := "The provider block has no hosts."
		if len(names) > 0 {
			known = "The provider's hosts are: " + strings.Join(names, ", ") + "."
		}
		diags.AddAttributeError(path.Root("host"), "Unknown Host",
			fmt.Sprintf("host = %q names no entry of the provider's hosts. %s", name.ValueString(), known))
		return nil, false
	}
	return h, true
}

// splitImportID reads an import ID "HOST:ID" (an object on one of the
// provider's hosts) or "ID" (on the machine Terraform runs on). Network
// names, nftables table names and daemon.json paths have no ":".
func splitImportID(id string) (types.String, string) {
	if h, rest, ok := strings.Cut(id, ":"); ok && h != "" && !strings.Contains(h, "/") {
		return types.StringValue(h), rest
	}
	return types.StringNull(), id
}

// hostSummary is summary, unless err says that the way to a remote host
// failed: then the summary says that, and the detail (err) names the host
// and the step (host key, auth, sudo, ...).
func hostSummary(err error, summary string) string {
	var lost *remote.LostError
	var step *sshhost.StepError
	var hostKey *sshhost.HostKeyError
	switch {
	case errors.As(err, &hostKey):
		return "Host Key Not Accepted"
	case errors.As(err, &lost), errors.Is(err, sshhost.ErrConnectionLost):
		return "Connection To The Host Lost"
	case errors.As(err, &step):
		return "Cannot Reach The Host"
	}
	return summary
}
