package provider

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/ula"
)

type diagsT = diag.Diagnostics

// ipv6SubnetValidator applies the ula.Check rules: errors for what cannot work,
// warnings for what works but is a bad idea.
type ipv6SubnetValidator struct{ limits *ula.Limits }

func (v ipv6SubnetValidator) Description(context.Context) string {
	return "an IPv6 subnet: not documentation space, not fc00::/8, no host bits, /48 to /126"
}
func (v ipv6SubnetValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v ipv6SubnetValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	lim := ula.NetworkLimits
	if v.limits != nil {
		lim = *v.limits
	}
	_, warnings, err := ula.Check(req.ConfigValue.ValueString(), lim)
	if err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid IPv6 Subnet", err.Error())
		return
	}
	for _, w := range warnings {
		resp.Diagnostics.AddAttributeWarning(req.Path, "Questionable IPv6 Subnet", w)
	}
}

// stringCheck is a string validator made of a function: a non-nil error fails the
// attribute with summary as the title and the error's text as the detail.
type stringCheck struct {
	desc, summary string
	check         func(string) error
}

func (v stringCheck) Description(context.Context) string             { return v.desc }
func (v stringCheck) MarkdownDescription(ctx context.Context) string { return v.desc }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, err.Error())
	}
}

func ipv4SubnetValidator() stringCheck {
	return stringCheck{desc: "an IPv4 subnet in CIDR form with no host bits", summary: "Invalid IPv4 Subnet", check: func(s string) error {
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			return fmt.Errorf("%q is not a CIDR prefix: use an IPv4 prefix such as 198.18.10.0/24", s)
		case !p.Addr().Is4():
			return fmt.Errorf("%q is an IPv6 prefix: IPv6 subnets go in ipv6_subnet", s)
		case p.Masked() != p:
			return fmt.Errorf("%q has host bits set: the prefix of that address is %s; use that", s, p.Masked())
		case p.Bits() > 30:
			return fmt.Errorf("%q is a /%d: longer than /30 leaves no room for a gateway and containers", s, p.Bits())
		}
		return nil
	}}
}

func ipAddrValidator(family int) stringCheck {
	return stringCheck{desc: fmt.Sprintf("an IPv%d address", family), summary: "Invalid Gateway Address", check: func(s string) error {
		if a, err := netip.ParseAddr(s); err != nil || (family == 4) != a.Is4() {
			return fmt.Errorf("%q is not an IPv%d address (a gateway is a single address without a prefix length)", s, family)
		}
		return nil
	}}
}

func durationValidator() stringCheck {
	return stringCheck{desc: "a Go duration such as 90s or 2m", summary: "Invalid Duration", check: func(s string) error {
		if d, err := time.ParseDuration(s); err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration: use a Go duration such as \"90s\" or \"2m\"", s)
		}
		return nil
	}}
}

// gatewayInSubnetValidator checks that a configured gateway lies in its configured subnet.
type gatewayInSubnetValidator struct{}

func (gatewayInSubnetValidator) Description(context.Context) string {
	return "each gateway lies inside its subnet"
}
func (v gatewayInSubnetValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (gatewayInSubnetValidator) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m networkModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	check := func(subnet, gw netAddrValue, gwAttr, subnetAttr string) {
		if subnet.IsNull() || subnet.IsUnknown() || gw.IsNull() || gw.IsUnknown() {
			return
		}
		p, err1 := netip.ParsePrefix(subnet.ValueString())
		a, err2 := netip.ParseAddr(gw.ValueString())
		if err1 != nil || err2 != nil {
			return // the attribute validators report these
		}
		if !p.Contains(a) {
			resp.Diagnostics.AddAttributeError(path.Root(gwAttr), "Gateway Outside Subnet",
				fmt.Sprintf("%s %s is not inside %s %s; pick an address inside it (Docker uses the first one, %s, when unset)",
					gwAttr, a, subnetAttr, p, p.Addr().Next()))
		}
	}
	check(m.IPv6Subnet, m.IPv6Gateway, "ipv6_gateway", "ipv6_subnet")
	check(m.IPv4Subnet, m.IPv4Gateway, "ipv4_gateway", "ipv4_subnet")
	if !m.IPv6.IsNull() && !m.IPv6.IsUnknown() && !m.IPv6.ValueBool() && !m.IPv6Subnet.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("ipv6_subnet"), "IPv6 Subnet On An IPv4-Only Network",
			"ipv6 is false but ipv6_subnet is set; remove ipv6_subnet or set ipv6 = true")
	}
}

// portValidator accepts a TCP port number, 1 to 65535. The attribute is a number,
// not an int64, so that 25.5 reaches this check (and is called not a whole number)
// instead of failing the framework's conversion with an error for the developers.
type portValidator struct{}

func (portValidator) Description(context.Context) string               { return "a TCP port number, 1 to 65535" }
func (v portValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (portValidator) ValidateNumber(_ context.Context, req validator.NumberRequest, resp *validator.NumberResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	f := req.ConfigValue.ValueBigFloat()
	text := f.Text('g', -1)
	switch {
	case !f.IsInt():
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Port", text+" is not a whole number: a port is a TCP port number from 1 to 65535.")
	case f.Cmp(big.NewFloat(1)) < 0 || f.Cmp(big.NewFloat(65535)) > 0: // 1e20 is whole, but no int64
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Port", "port "+text+" is out of range: TCP ports are 1 to 65535.")
	}
}

// portAttr is a validated port attribute as an int; 0 when null.
func portAttr(v types.Number) int {
	p, _ := portNumber(v)
	return int(p)
}
