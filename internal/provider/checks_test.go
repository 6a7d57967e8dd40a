package provider

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
)

// stringFunc is a knownvalue check with a predicate, for values only known at run time.
type stringFunc func(string) bool

func (f stringFunc) CheckValue(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("expected a string, got %T", v)
	}
	if !f(s) {
		return fmt.Errorf("unexpected value %q", s)
	}
	return nil
}

func (f stringFunc) String() string { return "string predicate" }

var _ knownvalue.Check = stringFunc(nil)

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// errorLike matches msg in terraform's output, where long lines wrap at any space.
func errorLike(msg string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(msg), " ", `\s+`))
}

// badInput is a configuration body and the message its plan must fail with.
type badInput struct{ body, msg string }

// planFails checks, one subtest each, that cfg(body) fails at plan with msg.
func planFails(t *testing.T, cfg func(body string) string, cases []badInput) {
	t.Helper()
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testProviders,
				Steps:                    []resource.TestStep{{Config: cfg(c.body), PlanOnly: true, ExpectError: errorLike(c.msg)}},
			})
		})
	}
}

// validateResource sends typeName's configuration to the provider as `terraform
// validate` does (ValidateResourceConfig, with no provider configured and no
// daemon): every attribute null except those in set. It returns the diagnostics
// a user would read, each with the attribute path Terraform would point at.
func validateResource(t *testing.T, typeName string, set map[string]tftypes.Value) []*tfprotov6.Diagnostic {
	t.Helper()
	ctx := context.Background()
	server, err := testProviders["dockeripv6"]()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := schemas.ResourceSchemas[typeName]
	if !ok {
		t.Fatalf("no resource %s", typeName)
	}
	typ := s.ValueType().(tftypes.Object)
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		vals[name] = tftypes.NewValue(at, nil)
	}
	for name, v := range set {
		if _, ok := typ.AttributeTypes[name]; !ok {
			t.Fatalf("%s has no attribute %s", typeName, name)
		}
		vals[name] = v
	}
	cfg, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, vals))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: typeName, Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Diagnostics
}

// diagAt finds the one diagnostic with summary, asserting its severity, that it
// points at the root attribute attr ("" for none) and that its detail has want.
func diagAt(t *testing.T, diags []*tfprotov6.Diagnostic, sev tfprotov6.DiagnosticSeverity, summary, attr, want string) {
	t.Helper()
	var found []*tfprotov6.Diagnostic
	for _, d := range diags {
		if d.Summary == summary {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one diagnostic %q, got %d in %s", summary, len(found), diagsText(diags))
	}
	d := found[0]
	if d.Severity != sev {
		t.Errorf("%q: severity %v, want %v", summary, d.Severity, sev)
	}
	got := ""
	if d.Attribute != nil {
		got = d.Attribute.String()
	}
	if wantPath := tftypes.NewAttributePath().WithAttributeName(attr).String(); attr != "" && got != wantPath || attr == "" && got != "" {
		t.Errorf("%q points at %q, want the attribute %q", summary, got, attr)
	}
	if !strings.Contains(d.Detail, want) {
		t.Errorf("%q detail:\n%s\nwant it to contain:\n%s", summary, d.Detail, want)
	}
}

func diagsText(diags []*tfprotov6.Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "\n  %v %q at %v: %s", d.Severity, d.Summary, d.Attribute, d.Detail)
	}
	return b.String()
}

// tfString, tfNumber and tfNumbers build configuration values for validateResource.
func tfString(s string) tftypes.Value  { return tftypes.NewValue(tftypes.String, s) }
func tfNumber(f float64) tftypes.Value { return tftypes.NewValue(tftypes.Number, big.NewFloat(f)) }
func tfNumbers(fs ...float64) tftypes.Value {
	var vs []tftypes.Value
	for _, f := range fs {
		vs = append(vs, tfNumber(f))
	}
	return tftypes.NewValue(tftypes.Set{ElementType: tftypes.Number}, vs)
}
