package daemonconfig

import "strings"

// DockerdFlags is dockerd's argv (a unit's ExecStart) without argv[0] and
// without --config-file: the flags a daemon.json must not repeat.
func DockerdFlags(argv []string) []string {
	var out []string
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if a == "--config-file" {
			i++
			continue
		}
		if strings.HasPrefix(a, "--config-file=") {
			continue
		}
		out = append(out, a)
	}
	return out
}

// LookupFlag finds a dockerd flag in flags (see DockerdFlags): "--name",
// "--name=value" or "--name value" (the last only for a flag that is not
// boolean; a boolean flag given bare is "true"). One dash works too.
func LookupFlag(flags []string, name string, boolean bool) (string, bool) {
	for i, a := range flags {
		if a == "--"+name || a == "-"+name {
			if boolean {
				return "true", true
			}
			if i+1 < len(flags) {
				return flags[i+1], true
			}
			return "", true
		}
		for _, p := range []string{"--" + name + "=", "-" + name + "="} {
			if v, ok := strings.CutPrefix(a, p); ok {
				return v, true
			}
		}
	}
	return "", false
}

// ownedFlags are the dockerd flags that set an owned daemon.json key.
var ownedFlags = []string{"ipv6", "ip6tables", "experimental", "userland-proxy", "live-restore", "fixed-cidr-v6", "default-address-pool"}

// SetsOwnedKey reports whether flags set an owned key: then a key absent from
// daemon.json does not simply mean dockerd's default.
func SetsOwnedKey(flags []string) bool {
	for _, f := range ownedFlags {
		if _, ok := LookupFlag(flags, f, true); ok {
			return true
		}
	}
	return false
}
