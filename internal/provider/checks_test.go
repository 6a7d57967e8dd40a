package provider

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

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
