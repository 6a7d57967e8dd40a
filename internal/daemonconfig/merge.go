package daemonconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Merge writes the non-nil fields of desired into the daemon.json bytes
// original and returns the new bytes; original is not modified.
//
// Only the bytes of the values that change are touched:
//   - an owned key already in the file keeps its position, its key spelling
//     and the whitespace around it; only its value is replaced, and not even
//     that when the value already equals the desired one;
//   - a new key is appended after the last member, in the file's own style:
//     the line break (LF or CRLF), indentation and spacing around ':' of the
//     last member are copied; a single-line file stays single-line;
//   - everything else (other keys, their order and values, nested objects,
//     raw or \u-escaped unicode, odd spacing, tabs, CRLF, a UTF-8 BOM,
//     whitespace before and after the object, a missing final newline)
//     is kept byte for byte;
//   - an empty or whitespace-only file becomes pretty-printed JSON with
//     2-space indentation and a final newline; `{}` becomes that too.
//
// A file Parse would refuse for syntax, encoding or structure, or one holding
// an owned key more than once, is refused with the same *ParseError. An owned
// key of the wrong type that desired manages is simply overwritten.
func Merge(original []byte, desired Settings) ([]byte, error) {
	if err := desired.checkStrings(); err != nil {
		return nil, err
	}
	d, err := parseDocument(original)
	if err != nil {
		return nil, err
	}
	if err := d.checkDuplicates(OwnedKeys); err != nil {
		return nil, err
	}
	keys := desired.Keys()
	out := bytes.Clone(original)
	if len(keys) == 0 {
		return out, nil
	}
	if d.empty {
		out = append(bytes.Clone(original[:d.bom]), "{}\n"...)
	}
	for _, k := range keys {
		if d, err = parseDocument(out); err != nil {
			return nil, fmt.Errorf("internal error: merge produced invalid JSON: %w", err)
		}
		i, _ := d.lookup(k)
		if i >= 0 && d.holds(i, desired) {
			continue
		}
		out = d.set(i, k, func(vs valueStyle) []byte { return encodeValue(k, desired, vs) })
	}
	return out, nil
}

// Remove deletes keys (owned or not) from daemon.json, with the separator and
// whitespace that belonged to each; absent keys are ignored. Removing a key that
// Merge appended gives back exactly the bytes before the append.
func Remove(original []byte, keys ...string) ([]byte, error) {
	before := make(map[string]json.RawMessage, len(keys))
	for _, k := range keys {
		before[k] = nil
	}
	return Restore(original, before)
}

// Snapshot records the raw values of keys in daemon.json, for Restore: a key
// that is absent maps to nil; a key holding JSON null maps to "null". Every
// requested key is in the map.
func Snapshot(data []byte, keys ...string) (map[string]json.RawMessage, error) {
	d, err := parseDocument(data)
	if err != nil {
		return nil, err
	}
	if err := d.checkDuplicates(keys); err != nil {
		return nil, err
	}
	snap := make(map[string]json.RawMessage, len(keys))
	for _, k := range keys {
		snap[k] = nil
		if i, _ := d.lookup(k); i >= 0 {
			snap[k] = json.RawMessage(bytes.Clone(d.members[i].raw(d.data)))
		}
	}
	return snap, nil
}

// Restore puts each key of before back to the raw value it maps to, or removes
// it when it maps to nil ("it was absent"); keys not in before are left alone.
// Raw values are written verbatim, so
//
//	Restore(Merge(orig, s), Snapshot(orig, s.Keys()...)) == orig
//
// byte for byte, except in two cases where only whitespace inside an empty
// object differs: an empty/whitespace-only file comes back as "{}\n", and
// "{\n}" comes back as "{}". (The provider should remember a missing or empty
// file itself if it wants it back exactly.)
func Restore(current []byte, before map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(before))
	for _, k := range OwnedKeys {
		if _, ok := before[k]; ok {
			keys = append(keys, k)
		}
	}
	var others []string
	for k := range before {
		if !isOwned(k) {
			others = append(others, k)
		}
	}
	slices.Sort(others)
	keys = append(keys, others...)
	for _, k := range keys {
		if raw := before[k]; raw != nil && !json.Valid(raw) {
			return nil, fmt.Errorf("the saved value of daemon.json key %q is not valid JSON: %q", k, raw)
		}
	}

	d, err := parseDocument(current)
	if err != nil {
		return nil, err
	}
	if err := d.checkDuplicates(append(slices.Clone(OwnedKeys), others...)); err != nil {
		return nil, err
	}
	out := bytes.Clone(current)
	for _, k := range keys {
		raw := before[k]
		if d, err = parseDocument(out); err != nil {
			return nil, fmt.Errorf("internal error: restore produced invalid JSON: %w", err)
		}
		if d.empty {
			if raw == nil {
				continue
			}
			out = append(bytes.Clone(out[:d.bom]), "{}\n"...)
			d, _ = parseDocument(out)
		}
		i, _ := d.lookup(k)
		switch {
		case raw == nil && i < 0:
		case raw == nil:
			out = d.cut(i)
		case i >= 0 && bytes.Equal(d.members[i].raw(d.data), raw):
		default:
			out = d.set(i, k, func(valueStyle) []byte { return raw })
		}
	}
	return out, nil
}

// checkStrings refuses strings json.Marshal would silently alter.
func (s Settings) checkStrings() error {
	if s.FixedCIDRv6 != nil && !utf8.ValidString(*s.FixedCIDRv6) {
		return fmt.Errorf("fixed_cidr_v6 %q is not valid UTF-8", *s.FixedCIDRv6)
	}
	if s.DefaultAddressPools != nil {
		for i, p := range *s.DefaultAddressPools {
			if !utf8.ValidString(p.Base) {
				return fmt.Errorf("default_address_pools[%d].base %q is not valid UTF-8", i, p.Base)
			}
		}
	}
	return nil
}

// holds reports whether member i already has the value desired sets for its key.
func (d *document) holds(i int, desired Settings) bool {
	m := d.members[i]
	raw := m.raw(d.data)
	switch m.key {
	case KeyFixedCIDRv6:
		if raw[0] != '"' {
			return false
		}
		v, err := decodeString(raw)
		return err == nil && v == *desired.FixedCIDRv6
	case KeyDefaultAddressPools:
		p, err := d.pools(m)
		return err == nil && slices.Equal(p, *desired.DefaultAddressPools)
	}
	return string(raw) == strconv.FormatBool(**desired.boolField(m.key))
}

// set replaces the value of member i (i >= 0) or appends key (i < 0).
func (d *document) set(i int, key string, value func(valueStyle) []byte) []byte {
	st := d.style()
	if i >= 0 {
		m := d.members[i]
		vs := valueStyle{style: st}
		if ws := d.data[d.leadStart(i):m.keyStart]; bytes.IndexByte(ws, '\n') >= 0 {
			vs.multiline = true
			vs.indent = string(ws[bytes.LastIndexByte(ws, '\n')+1:])
		} else {
			vs.multiline = false
		}
		return splice(d.data, m.valStart, m.valEnd, value(vs))
	}
	vs := valueStyle{style: st, indent: st.indent}
	member := func() []byte {
		b := jsonString(key)
		b = append(b, st.colonPre...)
		b = append(b, ':')
		b = append(b, st.colonPost...)
		return append(b, value(vs)...)
	}
	if len(d.members) == 0 {
		w := string(d.data[d.open+1 : d.close])
		var ins string
		switch {
		case w == "":
			ins = st.nl + st.indent + string(member()) + st.nl
		case strings.Contains(w, "\n"):
			ins = st.nl + st.indent + string(member()) + w
		default:
			st.colonPre, st.colonPost, st.multiline = "", " ", false
			vs = valueStyle{style: st}
			ins = w + string(member()) + w
		}
		return splice(d.data, d.open+1, d.close, []byte(ins))
	}
	last := d.members[len(d.members)-1]
	ins := append([]byte(","+st.sep), member()...)
	return splice(d.data, last.valEnd, last.valEnd, ins)
}

// cut removes member i together with one separator.
func (d *document) cut(i int) []byte {
	m := d.members[i]
	switch {
	case len(d.members) == 1:
		lead := string(d.data[d.open+1 : m.keyStart])
		trail := string(d.data[m.valEnd:d.close])
		if (trail == "\n" || trail == "\r\n") && strings.HasPrefix(lead, trail) &&
			strings.Trim(lead[len(trail):], " \t") == "" {
			// the pretty form Merge writes into "{}": give "{}" back
			return splice(d.data, d.open+1, d.close, nil)
		}
		return splice(d.data, d.open+1, m.valEnd, nil)
	case i > 0:
		return splice(d.data, d.members[i-1].valEnd, m.valEnd, nil)
	default:
		return splice(d.data, m.keyStart, d.members[1].keyStart, nil)
	}
}

// leadStart is where the whitespace before member i's key begins.
func (d *document) leadStart(i int) int {
	if c := d.members[i].comma; c >= 0 {
		return c + 1
	}
	return d.open + 1
}

func splice(data []byte, from, to int, ins []byte) []byte {
	out := make([]byte, 0, len(data)-(to-from)+len(ins))
	out = append(out, data[:from]...)
	out = append(out, ins...)
	return append(out, data[to:]...)
}

// style is how the file lays out its top-level members.
type style struct {
	nl                  string // line break: "\n" or "\r\n"
	multiline           bool   // each member starts on its own line
	indent              string // indentation of a member's line (multiline)
	sep                 string // whitespace between a comma and the next key
	colonPre, colonPost string // whitespace around ':'
}

type valueStyle struct {
	style
	indent string // indentation of the line the value's key is on
}

func (d *document) style() style {
	st := style{nl: "\n", multiline: true, indent: "  ", colonPost: " "}
	if bytes.Contains(d.data, []byte("\r\n")) {
		st.nl = "\r\n"
	}
	if len(d.members) == 0 {
		st.sep = st.nl + st.indent
		return st
	}
	last := d.members[len(d.members)-1]
	ws := string(d.data[d.leadStart(len(d.members)-1):last.keyStart])
	if nl := strings.LastIndexByte(ws, '\n'); nl >= 0 {
		st.nl = "\n"
		if nl > 0 && ws[nl-1] == '\r' {
			st.nl = "\r\n"
		}
		st.indent = ws[nl+1:]
		st.sep = st.nl + st.indent
	} else {
		st.multiline = false
		st.indent = ""
		st.sep = ws
	}
	st.colonPre = string(d.data[last.keyEnd:last.colon])
	st.colonPost = string(d.data[last.colon+1 : last.valStart])
	if !st.multiline && len(d.members) == 1 && st.sep == "" && st.colonPost != "" {
		// {"a": 1}: nothing after '{' to copy, but the file spaces its colons
		st.sep = " "
	}
	return st
}

// encodeValue renders the value desired sets for key.
func encodeValue(key string, desired Settings, vs valueStyle) []byte {
	switch key {
	case KeyFixedCIDRv6:
		return jsonString(*desired.FixedCIDRv6)
	case KeyDefaultAddressPools:
		return encodePools(*desired.DefaultAddressPools, vs)
	}
	return []byte(strconv.FormatBool(**desired.boolField(key)))
}

func jsonString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// encodePools writes one {"base", "size"} object per line in a multi-line
// file, indented one level deeper than the key, and all on one line otherwise.
func encodePools(pools []Pool, vs valueStyle) []byte {
	if len(pools) == 0 {
		return []byte("[]")
	}
	spaced := vs.multiline || vs.colonPost != ""
	colon, comma := ":", ","
	if spaced {
		colon, comma = ": ", ", "
	}
	var b []byte
	b = append(b, '[')
	unit := vs.style.indent
	if unit == "" {
		unit = "  "
	}
	for i, p := range pools {
		if i > 0 {
			b = append(b, ',')
			if !vs.multiline {
				b = append(b, comma[1:]...)
			}
		}
		if vs.multiline {
			b = append(b, vs.nl+vs.indent+unit...)
		}
		b = append(b, `{"base"`+colon...)
		b = append(b, jsonString(p.Base)...)
		b = append(b, comma+`"size"`+colon...)
		b = strconv.AppendInt(b, int64(p.Size), 10)
		b = append(b, '}')
	}
	if vs.multiline {
		b = append(b, vs.nl+vs.indent...)
	}
	return append(b, ']')
}
