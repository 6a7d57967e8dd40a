package trust

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MainCF is a Postfix main.cf as Postfix reads it (postconf(5)): logical
// lines "name = value", a line that starts with whitespace continues the one
// before, lines whose first non-whitespace character is "#" and blank lines
// are ignored, a later definition replaces an earlier one.
type MainCF map[string]string

// ParseMainCF reads data as main.cf. Lines that are not "name = value" are
// ignored, as Postfix does after a warning.
func ParseMainCF(data []byte) MainCF {
	cf := MainCF{}
	for _, line := range logicalLines(data) {
		if k, v, ok := strings.Cut(line, "="); ok {
			if k = strings.TrimSpace(k); k != "" && !strings.ContainsAny(k, " \t") {
				cf[k] = strings.TrimSpace(v)
			}
		}
	}
	return cf
}

// maxExpandDepth bounds $name expansion (Postfix itself stops at 100).
const maxExpandDepth = 20

// Expand replaces $name, ${name} and $(name) with the values main.cf gives
// them, recursively, and ${name?text} / ${name:text} by text when name is
// set and not empty / unset or empty. It fails (with why) for a name main.cf
// does not set (its built-in default is not known here), for Postfix 3's
// ${name?{text}:{text}} and ${{...}} forms, and for a reference loop.
func (cf MainCF) Expand(v string) (string, error) {
	return cf.expand(v, 0)
}

func (cf MainCF) expand(v string, depth int) (string, error) {
	if depth > maxExpandDepth {
		return "", fmt.Errorf("references nest deeper than %d levels (a loop?)", maxExpandDepth)
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '$' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 < len(v) && v[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		name, op, text, n, err := parseRef(v[i+1:])
		if err != nil {
			return "", err
		}
		i += n
		val, set := cf[name]
		switch op {
		case '?':
			if !set {
				return "", fmt.Errorf("${%s?...} refers to %s, which main.cf does not set (its default is not known here)", name, name)
			}
			x, err := cf.expand(val, depth+1)
			if err != nil {
				return "", err
			}
			if x != "" {
				y, err := cf.expand(text, depth+1)
				if err != nil {
					return "", err
				}
				b.WriteString(y)
			}
			continue
		case ':':
			x := ""
			if set {
				var err error
				if x, err = cf.expand(val, depth+1); err != nil {
					return "", err
				}
			} else {
				return "", fmt.Errorf("${%s:...} refers to %s, which main.cf does not set (its default is not known here)", name, name)
			}
			if x == "" {
				y, err := cf.expand(text, depth+1)
				if err != nil {
					return "", err
				}
				b.WriteString(y)
			}
			continue
		}
		if !set {
			return "", fmt.Errorf("$%s is not set in main.cf (its default is not known here)", name)
		}
		x, err := cf.expand(val, depth+1)
		if err != nil {
			return "", err
		}
		b.WriteString(x)
	}
	return b.String(), nil
}

// parseRef reads a reference after "$": "name", "{name}", "(name)",
// "{name?text}", "{name:text}". n is how many bytes it took.
func parseRef(s string) (name string, op byte, text string, n int, err error) {
	isName := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if s == "" {
		return "", 0, "", 0, fmt.Errorf("a lone $ at the end of the value")
	}
	if s[0] != '{' && s[0] != '(' {
		for n < len(s) && isName(s[n]) {
			n++
		}
		if n == 0 {
			return "", 0, "", 0, fmt.Errorf("a $ not followed by a parameter name")
		}
		return s[:n], 0, "", n, nil
	}
	closer := byte('}')
	if s[0] == '(' {
		closer = ')'
	}
	if len(s) > 1 && s[1] == '{' {
		return "", 0, "", 0, fmt.Errorf("a ${{...}} expression, which this reader does not evaluate")
	}
	depth := 0
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case s[0]:
			depth++
		case closer:
			if depth > 0 {
				depth--
				continue
			}
			inner := s[1:i]
			j := 0
			for j < len(inner) && isName(inner[j]) {
				j++
			}
			if j == 0 {
				return "", 0, "", 0, fmt.Errorf("a $%c...%c without a parameter name", s[0], closer)
			}
			if j == len(inner) {
				return inner, 0, "", i + 1, nil
			}
			if inner[j] != '?' && inner[j] != ':' {
				return "", 0, "", 0, fmt.Errorf("%q is not a parameter reference", "$"+s[:i+1])
			}
			if strings.HasPrefix(inner[j+1:], "{") {
				return "", 0, "", 0, fmt.Errorf("a ${name?{text}:{text}} expression, which this reader does not evaluate")
			}
			return inner[:j], inner[j], inner[j+1:], i + 1, nil
		}
	}
	return "", 0, "", 0, fmt.Errorf("a $%c without its closing %c", s[0], closer)
}

// mynetworksSource is the source main.cf makes: its mynetworks, or when that
// is not set the list mynetworks_style makes of the container's interfaces.
func (cf MainCF) mynetworksSource(ifs []iface, hostNet bool) Source {
	if raw, ok := cf["mynetworks"]; ok {
		src := Source{Name: "main.cf mynetworks"}
		v, err := cf.Expand(raw)
		if err != nil {
			src.Entries = []Entry{{Text: raw, Unknown: err.Error()}}
			return src
		}
		src.Entries = parseMynetworks(v)
		return src
	}
	return cf.styleSource(ifs, hostNet)
}

// styleSource is Postfix's default mynetworks (src/global/mynetworks.c):
// for each address of the interfaces inet_interfaces names, "host" the
// address itself, "subnet" its subnet, "class" its class A, B, C or D network
// for IPv4 (the subnet for IPv6). Unset, mynetworks_style is "host" from
// compatibility_level 2 on and "subnet" below it (COMPATIBILITY_README).
func (cf MainCF) styleSource(ifs []iface, hostNet bool) Source {
	style, why, err := cf.style()
	src := Source{Name: "main.cf mynetworks_style = " + style + why}
	if err != nil {
		src.Name = "main.cf mynetworks_style"
		src.Entries = []Entry{{Text: cf["mynetworks_style"], Unknown: err.Error()}}
		return src
	}
	if hostNet {
		src.Entries = []Entry{{Text: style, Unknown: "the container shares the host's network: its interfaces are the host's, not read here"}}
		return src
	}
	v4, v6, err := cf.protocols()
	if err != nil {
		src.Entries = []Entry{{Text: cf["inet_protocols"], Unknown: err.Error()}}
		return src
	}
	addrs := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}
	if v6 {
		addrs = append(addrs, netip.MustParsePrefix("::1/128"))
	}
	switch ii, _ := cf.Expand(cf["inet_interfaces"]); strings.TrimSpace(ii) {
	case "", "all":
		for _, i := range ifs {
			addrs = append(addrs, i.v4, i.v6)
		}
	case "loopback-only":
	default:
		src.Entries = []Entry{{Text: ii, Unknown: "inet_interfaces = " + ii + ": which interface addresses Postfix uses is not judged here"}}
		return src
	}
	seen := map[netip.Prefix]bool{}
	for _, a := range addrs {
		if !a.IsValid() || a.Addr().Is4() && !v4 || a.Addr().Is6() && !v6 {
			continue
		}
		e := styleEntry(style, a)
		if len(e.Prefixes) == 1 && seen[e.Prefixes[0]] {
			continue
		}
		if len(e.Prefixes) == 1 {
			seen[e.Prefixes[0]] = true
		}
		src.Entries = append(src.Entries, e)
	}
	return src
}

func styleEntry(style string, a netip.Prefix) Entry {
	switch {
	case style == "host":
		return known(netip.PrefixFrom(a.Addr(), a.Addr().BitLen()))
	case style == "subnet" || a.Addr().Is6():
		return known(a.Masked())
	}
	b := a.Addr().As4()[0]
	var bits int
	switch {
	case b < 128:
		bits = 8
	case b < 192:
		bits = 16
	case b < 224:
		bits = 24
	case b < 240:
		bits = 4
	default:
		return Entry{Text: a.Addr().String(), Unknown: "an address of no class (Postfix stops: \"unknown address class\")"}
	}
	p, _ := a.Addr().Prefix(bits)
	return known(p)
}

// style is mynetworks_style as Postfix takes it, and why when defaulted.
func (cf MainCF) style() (string, string, error) {
	if raw, ok := cf["mynetworks_style"]; ok {
		v, err := cf.Expand(raw)
		if err != nil {
			return "", "", err
		}
		switch v = strings.TrimSpace(v); v {
		case "host", "subnet", "class":
			return v, "", nil
		}
		return "", "", fmt.Errorf("mynetworks_style = %q: Postfix knows host, subnet and class, and stops on anything else", v)
	}
	level, ok := cf["compatibility_level"]
	if !ok {
		return "subnet", " (the default without compatibility_level)", nil
	}
	v, err := cf.Expand(level)
	if err != nil {
		return "", "", fmt.Errorf("compatibility_level: %v", err)
	}
	major, _, _ := strings.Cut(strings.TrimSpace(v), ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return "", "", fmt.Errorf("compatibility_level = %q is not a number", v)
	}
	if n >= 2 {
		return "host", " (the default of compatibility_level = " + v + ")", nil
	}
	return "subnet", " (the default of compatibility_level = " + v + ")", nil
}

// protocols is which address families inet_protocols turns on (default all).
func (cf MainCF) protocols() (v4, v6 bool, err error) {
	raw, ok := cf["inet_protocols"]
	if !ok {
		return true, true, nil
	}
	v, err := cf.Expand(raw)
	if err != nil {
		return false, false, fmt.Errorf("inet_protocols: %v", err)
	}
	for _, p := range splitList(v) {
		switch p {
		case "all":
			v4, v6 = true, true
		case "ipv4":
			v4 = true
		case "ipv6":
			v6 = true
		default:
			return false, false, fmt.Errorf("inet_protocols = %q: Postfix knows all, ipv4 and ipv6", v)
		}
	}
	return v4, v6, nil
}
