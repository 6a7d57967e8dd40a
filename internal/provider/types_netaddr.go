package provider

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// netAddrType is a string holding an IP address or prefix that compares by its
// canonical form, so "FD12:0000::/64" written by a user and "fd12::/64" read back
// from Docker are the same value and never a diff.
type netAddrType struct{ basetypes.StringType }

var (
	_ basetypes.StringTypable                    = netAddrType{}
	_ basetypes.StringValuableWithSemanticEquals = netAddrValue{}
)

func (t netAddrType) Equal(o attr.Type) bool { _, ok := o.(netAddrType); return ok }
func (t netAddrType) String() string         { return "netAddrType" }
func (t netAddrType) ValueType(context.Context) attr.Value {
	return netAddrValue{}
}

func (t netAddrType) ValueFromString(_ context.Context, in basetypes.StringValue) (basetypes.StringValuable, diag.Diagnostics) {
	return netAddrValue{StringValue: in}, nil
}

func (t netAddrType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.StringType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	s, ok := v.(basetypes.StringValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return netAddrValue{StringValue: s}, nil
}

type netAddrValue struct{ basetypes.StringValue }

func (v netAddrValue) Type(context.Context) attr.Type { return netAddrType{} }
func (v netAddrValue) Equal(o attr.Value) bool {
	other, ok := o.(netAddrValue)
	return ok && v.StringValue.Equal(other.StringValue)
}

func (v netAddrValue) StringSemanticEquals(_ context.Context, newV basetypes.StringValuable) (bool, diag.Diagnostics) {
	n, ok := newV.(netAddrValue)
	if !ok {
		return false, nil
	}
	return canonicalNetAddr(v.ValueString()) == canonicalNetAddr(n.ValueString()), nil
}

// canonicalNetAddr is the canonical text of an address or prefix, or s itself.
func canonicalNetAddr(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.String()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	return s
}

func netAddrNull() netAddrValue       { return netAddrValue{StringValue: basetypes.NewStringNull()} }
func netAddrUnknown() netAddrValue    { return netAddrValue{StringValue: basetypes.NewStringUnknown()} }
func netAddrOf(s string) netAddrValue { return netAddrValue{StringValue: basetypes.NewStringValue(s)} }
func netAddrOrNull(s string) netAddrValue {
	if s == "" {
		return netAddrNull()
	}
	return netAddrOf(s)
}
