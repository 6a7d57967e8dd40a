package daemonconfig

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/ula"
)

// Severity of a Diagnostic.
type Severity int

const (
	SeverityError Severity = iota + 1
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one finding of Validate, phrased for a Terraform diagnostic.
type Diagnostic struct {
	Severity Severity
	// Key is the daemon.json key concerned (e.g. "fixed-cidr-v6"). For a rule
	// that involves several keys it is the one the configuration manages,
	// preferring the first one named in the rule.
	Key string
	// Index is the element of default-address-pools concerned, or -1.
	Index int
	// Field is "base" or "size" within that element, or "".
	Field   string
	Summary string
	Detail  string // what is wrong, why, and what to do
}

func (d Diagnostic) String() string {
	return fmt.Sprintf("%s: %s: %s: %s", d.Severity, d.Key, d.Summary, d.Detail)
}

// SubnetChecker judges an IPv6 prefix given as text: err when it must be
// refused (not an IPv6 prefix, host bits set, documentation space, fc00::/8,
// link-local, multicast, special, or a length outside [minLen, maxLen]),
// warnings for prefixes that work but are a bad idea. The message of err and
// of each warning is shown to the user as is. The default is internal/ula's Check.
type SubnetChecker func(prefix string, minLen, maxLen int) (warnings []string, err error)

// Validator holds what validation depends on. The zero value is ready to use.
type Validator struct {
	// CheckSubnet classifies IPv6 prefixes (fixed-cidr-v6 and IPv6 pool bases).
	// nil means internal/ula's Check, the rules dockeripv6_network uses too.
	CheckSubnet SubnetChecker
}

// Prefix lengths accepted for fixed-cidr-v6: no shorter than a site (/48),
// no longer than /126 (a gateway and one container).
const (
	FixedCIDRv6MinLen = 48
	FixedCIDRv6MaxLen = 126
)

// MaxPoolSubnetsLog2 bounds how many subnets one default-address-pools entry
// may be split into on Docker before 27: 2^20. Those daemons split every pool
// into all of its subnets eagerly at start; a /48 split into /80s is 2^32
// subnets and dockerd runs out of memory (moby/moby#40275, moby/libnetwork#2683).
// 27.0 replaced the allocator with one that iterates lazily.
const MaxPoolSubnetsLog2 = 20

// Validate checks every non-nil field of s, as dockerd version v would read
// it: the values, and the rules between keys and versions. Pass the effective
// settings (Effective(fileSettings, desired)) to judge what dockerd will read.
// An unknown v (zero value) skips the version rules.
func Validate(s Settings, v DockerVersion) []Diagnostic { return Validator{}.Validate(s, v) }

// ValidateChange checks a planned change: the values of desired, and the rules
// between keys and versions on the result of merging desired into a file that
// holds file (Effective). A rule broken only by keys the configuration does not
// manage is still reported when it is an error (dockerd would not start), and
// not when it is a warning.
func ValidateChange(file, desired Settings, v DockerVersion) []Diagnostic {
	return Validator{}.ValidateChange(file, desired, v)
}

// Validate: see the package-level Validate.
func (val Validator) Validate(s Settings, v DockerVersion) []Diagnostic {
	diags := val.values(s, v)
	return append(diags, val.rules(s, s, v)...)
}

// ValidateChange: see the package-level ValidateChange.
func (val Validator) ValidateChange(file, desired Settings, v DockerVersion) []Diagnostic {
	diags := val.values(desired, v)
	return append(diags, val.rules(Effective(file, desired), desired, v)...)
}

func (val Validator) check(prefix string, minLen, maxLen int) ([]string, error) {
	if val.CheckSubnet != nil {
		return val.CheckSubnet(prefix, minLen, maxLen)
	}
	_, warnings, err := ula.Check(prefix, ula.Limits{Min: minLen, Max: maxLen})
	return warnings, err
}

func diag(sev Severity, key, summary, detail string) Diagnostic {
	return Diagnostic{Severity: sev, Key: key, Index: -1, Summary: summary, Detail: detail}
}

// values checks each value on its own (and pool splitting, which depends on v).
func (val Validator) values(s Settings, v DockerVersion) []Diagnostic {
	var diags []Diagnostic
	if s.FixedCIDRv6 != nil {
		const attr = KeyFixedCIDRv6
		if strings.TrimSpace(*s.FixedCIDRv6) == "" {
			diags = append(diags, diag(SeverityError, attr, "Empty fixed_cidr_v6",
				"fixed_cidr_v6 is an empty string. Set it to the default bridge's IPv6 subnet, for example a /64 carved from ula_prefix(), or leave it null so that this resource does not manage the key."))
		} else {
			warnings, err := val.check(*s.FixedCIDRv6, FixedCIDRv6MinLen, FixedCIDRv6MaxLen)
			if err != nil {
				diags = append(diags, diag(SeverityError, attr, "Invalid fixed_cidr_v6", err.Error()))
			}
			for _, w := range warnings {
				diags = append(diags, diag(SeverityWarning, attr, "Questionable fixed_cidr_v6", w))
			}
		}
	}
	if s.DefaultAddressPools != nil {
		diags = append(diags, val.pools(*s.DefaultAddressPools, v)...)
	}
	return diags
}

func (val Validator) pools(pools []Pool, v DockerVersion) []Diagnostic {
	var diags []Diagnostic
	add := func(sev Severity, i int, field, summary, detail string) {
		diags = append(diags, Diagnostic{Severity: sev, Key: KeyDefaultAddressPools, Index: i, Field: field, Summary: summary, Detail: detail})
	}
	hasIPv4, badBase := false, false
	for i, p := range pools {
		name := fmt.Sprintf("default_address_pools[%d]", i)
		base, err := netip.ParsePrefix(strings.TrimSpace(p.Base))
		if err != nil {
			add(SeverityError, i, "base", "Invalid Address Pool Base",
				fmt.Sprintf("%s.base %q is not a CIDR prefix. Use a prefix such as \"172.17.0.0/16\" or a ULA /48 such as one from ula_prefix().", name, p.Base))
		} else if base.Addr().Is4In6() || base.Addr().Zone() != "" {
			add(SeverityError, i, "base", "Invalid Address Pool Base",
				fmt.Sprintf("%s.base %q is an IPv4-mapped or zoned IPv6 prefix, which dockerd cannot split into networks. Write IPv4 pools in dotted form (\"172.17.0.0/16\") and IPv6 pools as plain prefixes.", name, p.Base))
			err = fmt.Errorf("refused")
		} else if base.Addr().Is4() {
			hasIPv4 = true
			if base.Masked() != base {
				add(SeverityError, i, "base", "Address Pool Base Has Host Bits",
					fmt.Sprintf("%s.base %q has host bits set; the prefix is %s. Use that.", name, p.Base, base.Masked()))
			}
		} else {
			warnings, cerr := val.check(p.Base, 0, 128)
			if cerr != nil {
				add(SeverityError, i, "base", "Invalid Address Pool Base", fmt.Sprintf("%s.base: %v", name, cerr))
				err = cerr
			}
			for _, w := range warnings {
				add(SeverityWarning, i, "base", "Questionable Address Pool Base", fmt.Sprintf("%s.base: %s", name, w))
			}
		}

		badBase = badBase || err != nil
		bits := 128
		if err == nil && base.Addr().Is4() {
			bits = 32
		}
		switch {
		case p.Size < 1 || p.Size > 128:
			add(SeverityError, i, "size", "Invalid Address Pool Size",
				fmt.Sprintf("%s.size is %d: it is the prefix length of each network cut from the base, from 1 to 128 (at most 32 for IPv4), for example 24 for IPv4 or 64 for IPv6.", name, p.Size))
			continue
		case p.Size > bits:
			add(SeverityError, i, "size", "Invalid Address Pool Size",
				fmt.Sprintf("%s.size is %d, longer than an IPv4 address (32 bits). Use 24 (or at most 32) for an IPv4 base.", name, p.Size))
			continue
		}
		if err != nil {
			continue
		}
		if p.Size < base.Bits() {
			add(SeverityError, i, "size", "Address Pool Size Shorter Than Base",
				fmt.Sprintf("%s.size /%d is shorter than its base %s: each network is cut from the base, so size must be at least %d. Typical: base /16 with size 24 for IPv4, base /48 with size 64 for IPv6.", name, p.Size, p.Base, base.Bits()))
			continue
		}
		if n := p.Size - base.Bits(); n > MaxPoolSubnetsLog2 && v.Before(27, 0) {
			add(SeverityError, i, "size", "Address Pool Too Large For This Docker",
				fmt.Sprintf("%s splits %s into /%d networks: 2^%d of them. Docker %s computes every one of them when it starts and runs out of memory (moby/moby#40275, moby/libnetwork#2683); Docker 27 and later do not. Keep size - base length at most %d (for example base /48 with size 64), or upgrade to Docker 27 or later.", name, p.Base, p.Size, n, v, MaxPoolSubnetsLog2))
		}
	}
	if len(pools) > 0 && !hasIPv4 && !badBase {
		add(SeverityWarning, -1, "", "No IPv4 Address Pool",
			"default_address_pools replaces Docker's built-in pools, and this list has no IPv4 pool, so dockerd has no IPv4 subnets to give new networks. Keep the defaults too, e.g. {base = \"172.17.0.0/16\", size = 16}, {base = \"172.18.0.0/16\", size = 16}, {base = \"172.19.0.0/16\", size = 16}, {base = \"172.20.0.0/14\", size = 16}, {base = \"172.24.0.0/14\", size = 16}, {base = \"172.28.0.0/14\", size = 16}, {base = \"192.168.0.0/16\", size = 20}.")
	}
	return diags
}

// rules checks the rules between keys and versions on the effective settings
// e; managed says which keys the configuration sets (for attribution).
func (val Validator) rules(e, managed Settings, v DockerVersion) []Diagnostic {
	var diags []Diagnostic
	// report adds a diagnostic about keys (in order of preference), attributed
	// to the first one managed; a warning none of whose keys is managed is dropped.
	report := func(sev Severity, keys []string, summary, detail string) {
		attr := ""
		for _, k := range keys {
			if managed.has(k) {
				attr = k
				break
			}
		}
		if attr == "" {
			if sev == SeverityWarning {
				return
			}
			attr = keys[0]
			detail += " (The daemon.json keys concerned are not managed by this resource; they are already in the file.)"
		}
		diags = append(diags, diag(sev, attr, summary, detail))
	}
	isTrue := func(b *bool) bool { return b != nil && *b }
	if !v.Known() {
		return nil
	}

	if e.IP6Tables != nil && v.Before(20, 10) {
		report(SeverityError, []string{KeyIP6Tables}, "ip6tables Needs Docker 20.10",
			fmt.Sprintf("Docker %s has no ip6tables option, and dockerd refuses to start with a daemon.json key it does not know (\"the following directives don't match any configuration option\"). Upgrade Docker (27 or later needs neither this key nor experimental), or leave ip6tables unset.", v))
	}
	if isTrue(e.IP6Tables) && !isTrue(e.Experimental) && v.AtLeast(20, 10) && v.Before(27, 0) {
		report(SeverityError, []string{KeyIP6Tables, KeyExperimental}, "ip6tables Needs experimental Before Docker 27",
			fmt.Sprintf("On Docker 20.10 to 26 (this is %s) ip6tables is an experimental feature: dockerd refuses to start with \"ip6tables rules are only available if experimental features are enabled\". Set experimental = true as well, or upgrade to Docker 27 or later, where ip6tables needs no experimental and is on by default.", v))
	}
	if isTrue(e.IPv6) && (e.FixedCIDRv6 == nil || strings.TrimSpace(*e.FixedCIDRv6) == "") && v.Before(28, 0) {
		report(SeverityError, []string{KeyIPv6, KeyFixedCIDRv6}, "default_bridge_ipv6 Needs fixed_cidr_v6 Before Docker 28",
			fmt.Sprintf("Before Docker 28 (this is %s), \"ipv6\": true turns on IPv6 for the default bridge and needs \"fixed-cidr-v6\", that bridge's IPv6 subnet: dockerd refuses to start without it. Set fixed_cidr_v6 to a /64, for example cidrsubnet(ula_prefix(\"host\"), 16, 0), or leave default_bridge_ipv6 unset: user-defined networks (dockeripv6_network) get IPv6 without it.", v))
	}
	if isTrue(e.Experimental) && (e.IP6Tables == nil || *e.IP6Tables) && v.AtLeast(27, 0) {
		report(SeverityWarning, []string{KeyExperimental, KeyIP6Tables}, "experimental Is Not Needed For ip6tables",
			fmt.Sprintf("Since Docker 27 (this is %s) ip6tables is no longer experimental and is on by default, so experimental = true is not needed for IPv6; it also turns on every other experimental feature of dockerd. Set experimental to false or leave it unset, unless you use another experimental feature.", v))
	}
	return diags
}
