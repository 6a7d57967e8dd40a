package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/function"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/ula"
)

var _ function.Function = &ULAPrefixFunction{}

// ULAPrefixFunction is ula_prefix(seed): a deterministic RFC 4193-shaped /48.
type ULAPrefixFunction struct{}

// NewULAPrefixFunction returns the ula_prefix function.
func NewULAPrefixFunction() function.Function { return &ULAPrefixFunction{} }

func (f *ULAPrefixFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "ula_prefix"
}

func (f *ULAPrefixFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "A deterministic RFC 4193 ULA /48 derived from a seed",
		MarkdownDescription: "Returns a `/48` inside `fd00::/8` derived from `seed`, for reproducible builds without state: " +
			"the same seed gives the same prefix on every machine and every run.\n\n" +
			"Algorithm (version 1): the 40-bit Global ID is the first 5 bytes of " +
			"`SHA-256(\"dockeripv6/ula_prefix/v1\" || 0x00 || seed)`; the prefix is `fd` followed by those 40 bits, then `::/48`. " +
			"For example `ula_prefix(\"mail.example.org\")` is `fda8:3b4f:4f2c::/48`; being printed here, that prefix is an " +
			"example like any other, and a subnet carved from it gets the same warning as any copied example prefix. " +
			"This follows RFC 4193 section 3.2.2 (hash a key specific to the site, keep 40 bits) with your seed as the key; " +
			"pick a seed that is unique to the site, such as its fully qualified host name. " +
			"Use the `dockeripv6_ula_prefix` resource for a prefix from a random source instead.",
		Parameters: []function.Parameter{
			function.StringParameter{
				Name:                "seed",
				MarkdownDescription: "Any string specific to the site, for example the host name. An empty (or blank) seed is refused: it would give every host the same prefix.",
			},
		},
		Return: function.StringReturn{},
	}
}

func (f *ULAPrefixFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var seed string
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &seed))
	if resp.Error != nil {
		return
	}
	if strings.TrimSpace(seed) == "" {
		// Everyone with an empty seed would get the same prefix.
		resp.Error = function.NewArgumentFuncError(0, "ula_prefix: the seed is empty, and every host seeded with an empty "+
			"string gets the same prefix. Pass a string unique to the site, such as this host's fully qualified name")
		return
	}
	resp.Error = function.ConcatFuncErrors(resp.Error, resp.Result.Set(ctx, ula.FromSeed(seed).String()))
}
