package trust

import (
	"net/netip"
	"strings"
)

// MasterCFPath is where Read looks for Postfix's services in the container.
const MasterCFPath = "/etc/postfix/master.cf"

// masterOverride is an inet service of master.cf that sets mynetworks or
// mynetworks_style for itself with -o (master(5)).
type masterOverride struct {
	service string
	params  map[string]string
}

// parseMasterCF finds the inet services that override mynetworks or
// mynetworks_style, leaving out those that listen on loopback only (as
// docker-mailserver's amavis re-injection service 127.0.0.1:10025 does): no
// remote client reaches them. Lines are logical lines as in main.cf; "-o
// name=value" and "-o { name = value }" are read.
func parseMasterCF(data []byte) []masterOverride {
	var out []masterOverride
	for _, line := range logicalLines(data) {
		f := strings.Fields(line)
		if len(f) < 8 || f[1] != "inet" || loopbackService(f[0]) {
			continue
		}
		params := map[string]string{}
		args := strings.Join(f[8:], " ")
		for {
			i := strings.Index(args, "-o")
			if i < 0 {
				break
			}
			args = strings.TrimLeft(args[i+2:], " ")
			var kv string
			if strings.HasPrefix(args, "{") {
				end := strings.Index(args, "}")
				if end < 0 {
					break
				}
				kv, args = args[1:end], args[end+1:]
			} else {
				kv, args, _ = strings.Cut(args, " ")
			}
			if k, v, ok := strings.Cut(kv, "="); ok {
				if k = strings.TrimSpace(k); k == "mynetworks" || k == "mynetworks_style" {
					params[k] = strings.TrimSpace(v)
				}
			}
		}
		if len(params) > 0 {
			out = append(out, masterOverride{service: f[0], params: params})
		}
	}
	return out
}

// logicalLines joins continuation lines (starting with whitespace) and drops
// comments and blank lines, as Postfix reads main.cf and master.cf.
func logicalLines(data []byte) []string {
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, " \t\r")
		trimmed := strings.TrimLeft(line, " \t")
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
		case trimmed != line && len(out) > 0:
			out[len(out)-1] += " " + trimmed
		case trimmed != line:
			// a continuation with nothing to continue: Postfix ignores it
		default:
			out = append(out, line)
		}
	}
	return out
}

// loopbackService is whether a master.cf service name "host:port" listens on
// a loopback address only.
func loopbackService(name string) bool {
	i := strings.LastIndex(name, ":")
	if i < 0 {
		return false
	}
	host := strings.Trim(name[:i], "[]")
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// source is what the service trusts: its own mynetworks, or mynetworks_style
// over main.cf's other parameters.
func (o masterOverride) source(cf MainCF, ifs []iface, hostNet bool) Source {
	merged := MainCF{}
	for k, v := range cf {
		merged[k] = v
	}
	if v, ok := o.params["mynetworks"]; ok {
		merged["mynetworks"] = v
	} else {
		delete(merged, "mynetworks")
		merged["mynetworks_style"] = o.params["mynetworks_style"]
	}
	src := merged.mynetworksSource(ifs, hostNet)
	src.Name = "master.cf " + o.service + ": " + strings.TrimPrefix(src.Name, "main.cf ")
	return src
}
