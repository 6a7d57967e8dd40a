package daemonconfig

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Parse reads the owned settings present in a daemon.json file. Keys it does
// not own are ignored (but must be valid JSON); an owned key holding null is
// treated as absent, as dockerd does. An empty or whitespace-only file is {}.
//
// Errors are *ParseError: malformed JSON or a non-UTF-8 file (with line and
// column), a top-level value that is not an object, an owned key given more
// than once, or an owned key of the wrong type (dockerd refuses to start with
// any of those).
func Parse(data []byte) (Settings, error) {
	d, err := parseDocument(data)
	if err != nil {
		return Settings{}, err
	}
	return d.settings()
}

func (d *document) settings() (Settings, error) {
	var s Settings
	if err := d.checkDuplicates(OwnedKeys); err != nil {
		return s, err
	}
	for _, m := range d.members {
		if !isOwned(m.key) {
			continue
		}
		raw := m.raw(d.data)
		if string(raw) == "null" {
			continue
		}
		switch m.key {
		case KeyFixedCIDRv6:
			if raw[0] != '"' {
				return s, d.typeError(m, "a string", "an IPv6 prefix in quotes, such as \"fd12:3456:789a:1::/64\"")
			}
			v, err := decodeString(raw)
			if err != nil {
				return s, err
			}
			s.FixedCIDRv6 = &v
		case KeyDefaultAddressPools:
			pools, err := d.pools(m)
			if err != nil {
				return s, err
			}
			s.DefaultAddressPools = &pools
		default:
			var v bool
			switch string(raw) {
			case "true":
				v = true
			case "false":
			default:
				hint := "true or false"
				if string(raw) == `"true"` || string(raw) == `"false"` {
					hint = "true or false, without quotes"
				}
				return s, d.typeError(m, "a boolean", hint)
			}
			*s.boolField(m.key) = &v
		}
	}
	return s, nil
}

func (d *document) typeError(m member, expected, hint string) *ParseError {
	e := d.errorAt(&ParseError{Kind: ErrWrongType, Key: m.key, Expected: expected}, m.valStart)
	e.Msg = fmt.Sprintf("must be %s (%s), not %s; dockerd refuses to start with it", expected, hint, describeValue(m.raw(d.data)))
	return e
}

// pools decodes default-address-pools the way dockerd does: an array of
// {"base": string, "size": integer} objects, field names matched by encoding/json.
func (d *document) pools(m member) ([]Pool, error) {
	raw := m.raw(d.data)
	if raw[0] != '[' {
		return nil, d.typeError(m, "an array", `a list such as [{"base": "172.17.0.0/16", "size": 24}]`)
	}
	pools := []Pool{}
	i := skipWS(d.data, m.valStart+1)
	for n := 1; d.data[i] != ']'; n++ {
		start := i
		end := skipValue(d.data, i)
		el := d.data[start:end]
		elErr := func(format string, args ...any) error {
			e := d.errorAt(&ParseError{Kind: ErrWrongType, Key: m.key, Expected: "an array of objects"}, start)
			e.Msg = fmt.Sprintf("element %d: ", n) + fmt.Sprintf(format, args...) + "; dockerd refuses to start with it"
			return e
		}
		if el[0] != '{' {
			return nil, elErr(`must be an object such as {"base": "172.17.0.0/16", "size": 24}, not %s`, describeValue(el))
		}
		var f struct {
			Base json.RawMessage `json:"base"`
			Size json.RawMessage `json:"size"`
		}
		if err := json.Unmarshal(el, &f); err != nil {
			return nil, elErr("%v", err)
		}
		var p Pool
		if len(f.Base) > 0 && string(f.Base) != "null" {
			if f.Base[0] != '"' {
				return nil, elErr(`"base" must be a string holding a CIDR prefix, not %s`, describeValue(f.Base))
			}
			if err := json.Unmarshal(f.Base, &p.Base); err != nil {
				return nil, elErr("%v", err)
			}
		}
		if len(f.Size) > 0 && string(f.Size) != "null" {
			v, err := strconv.ParseInt(string(f.Size), 10, 0)
			if err != nil {
				return nil, elErr(`"size" must be an integer prefix length, not %s`, describeValue(f.Size))
			}
			p.Size = int(v)
		}
		pools = append(pools, p)
		i = skipWS(d.data, end)
		if d.data[i] == ',' {
			i = skipWS(d.data, i+1)
		}
	}
	return pools, nil
}
