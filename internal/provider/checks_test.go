package provider

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"

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
