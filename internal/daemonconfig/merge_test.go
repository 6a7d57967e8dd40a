package daemonconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// realisticFiles are daemon.json files as people write them; also the fuzz seed corpus.
var realisticFiles = []string{
	"",
	"{}",
	"{}\n",
	"{ }",
	"\n",
	// Docker docs IPv6 page, pretty, 2 spaces
	"{\n  \"ipv6\": true,\n  \"fixed-cidr-v6\": \"fd00::/80\"\n}\n",
	// docker-mailserver style, experimental + ip6tables
	"{\n  \"ip6tables\": true,\n  \"experimental\" : true,\n  \"userland-proxy\": true\n}\n",
	// nested objects, arrays, unicode raw and escaped, no final newline
	"{\n  \"log-driver\": \"json-file\",\n  \"log-opts\": {\n    \"max-size\": \"10m\",\n    \"labels\": \"ipv6,café\"\n  },\n  \"dns\": [\"1.1.1.1\", \"2606:4700:4700::1111\"],\n  \"labels\": [\"owner=\\u00e9quipe\", \"whale=🐳\"],\n  \"registry-mirrors\": []\n}",
	// tabs and CRLF
	"{\r\n\t\"data-root\": \"/srv/docker\",\r\n\t\"ipv6\": false,\r\n\t\"storage-driver\": \"overlay2\"\r\n}\r\n",
	// single line, compact
	`{"live-restore":true,"default-address-pools":[{"base":"198.18.0.0/16","size":24}],"bip":"198.19.0.1/16"}`,
	// odd spacing
	"{   \"mtu\" :1400 ,\n\n      \"ipv6\":true ,   \"fixed-cidr-v6\" :   \"fd12:3456:789a:1::/64\"\n\n\n}   \n\n",
	// 4-space indent, pools already there
	"{\n    \"default-address-pools\": [\n        {\"base\": \"172.80.0.0/16\", \"size\": 24},\n        {\"base\": \"fd12:3456:789a::/48\", \"size\": 64}\n    ],\n    \"features\": {\"buildkit\": true}\n}\n",
	// BOM (Notepad), runtimes as in the sandbox
	"\xef\xbb\xbf{\n  \"userland-proxy-path\": \"/usr/local/bin/docker-proxy\",\n  \"runtimes\": {\"runc12\": {\"path\": \"/usr/local/bin/runc\", \"runtimeArgs\": []}},\n  \"default-runtime\": \"runc12\"\n}\n",
	// wrong types an apply fixes, nulls, escaped key, escapes in strings
	"{\"ipv6\": \"yes\", \"experimental\": null, \"ip6table\\u0073\": true, \"x\": \"a\\\"b\\\\c\\/d\\n\"}",
	// unicode white space around the object (dockerd trims it)
	"\u00a0{\"dns\": []}\u00a0\n",
}

func TestMerge(t *testing.T) {
	pools := Pools(Pool{"198.18.0.0/16", 24}, Pool{"fd12:3456:789a::/48", 64})
	tests := []struct {
		name    string
		in      string
		desired Settings
		want    string
	}{
		{"nothing managed leaves the file alone", "  {\"ipv6\": \"yes\"}", Settings{}, "  {\"ipv6\": \"yes\"}"},
		{"empty file becomes pretty JSON", "", Settings{IPv6: Bool(true), FixedCIDRv6: String("fd12:3456:789a:1::/64")},
			"{\n  \"ipv6\": true,\n  \"fixed-cidr-v6\": \"fd12:3456:789a:1::/64\"\n}\n"},
		{"whitespace-only file becomes pretty JSON", " \n", Settings{LiveRestore: Bool(false)}, "{\n  \"live-restore\": false\n}\n"},
		{"{} becomes pretty JSON", "{}\n", Settings{IP6Tables: Bool(true), DefaultAddressPools: pools},
			"{\n  \"ip6tables\": true,\n  \"default-address-pools\": [\n    {\"base\": \"198.18.0.0/16\", \"size\": 24},\n    {\"base\": \"fd12:3456:789a::/48\", \"size\": 64}\n  ]\n}\n"},
		{"{ } stays on one line", "{ }", Settings{IPv6: Bool(true)}, `{ "ipv6": true }`},
		{"changed key keeps its position, nested objects untouched",
			"{\n  \"log-opts\": {\"max-size\": \"10m\", \"ipv6\": false},\n  \"ipv6\": false,\n  \"dns\": [\"1.1.1.1\"]\n}\n",
			Settings{IPv6: Bool(true)},
			"{\n  \"log-opts\": {\"max-size\": \"10m\", \"ipv6\": false},\n  \"ipv6\": true,\n  \"dns\": [\"1.1.1.1\"]\n}\n"},
		{"new key appended in 2-space style",
			"{\n  \"dns\": [\"1.1.1.1\"],\n  \"log-opts\": {\n    \"max-size\": \"10m\"\n  }\n}\n",
			Settings{IP6Tables: Bool(true), Experimental: Bool(true)},
			"{\n  \"dns\": [\"1.1.1.1\"],\n  \"log-opts\": {\n    \"max-size\": \"10m\"\n  },\n  \"ip6tables\": true,\n  \"experimental\": true\n}\n"},
		{"tabs and CRLF",
			"{\r\n\t\"data-root\": \"/srv/docker\"\r\n}\r\n",
			Settings{UserlandProxy: Bool(false), DefaultAddressPools: Pools(Pool{"198.19.0.0/16", 24})},
			"{\r\n\t\"data-root\": \"/srv/docker\",\r\n\t\"userland-proxy\": false,\r\n\t\"default-address-pools\": [\r\n\t\t{\"base\": \"198.19.0.0/16\", \"size\": 24}\r\n\t]\r\n}\r\n"},
		{"4-space indent", "{\n    \"a\": 1\n}", Settings{LiveRestore: Bool(true)}, "{\n    \"a\": 1,\n    \"live-restore\": true\n}"},
		{"compact single line stays compact", `{"a":1,"b":{"c":[1,2]}}`, Settings{IPv6: Bool(false), DefaultAddressPools: pools},
			`{"a":1,"b":{"c":[1,2]},"ipv6":false,"default-address-pools":[{"base":"198.18.0.0/16","size":24},{"base":"fd12:3456:789a::/48","size":64}]}`},
		{"spaced single line", `{ "a" : 1 }`, Settings{IPv6: Bool(true)}, `{ "a" : 1, "ipv6" : true }`},
		{"odd spacing: copy the last member's", "{\"a\" :1 ,\n\n      \"b\":2   \n}  ", Settings{IPv6: Bool(true)},
			"{\"a\" :1 ,\n\n      \"b\":2,\n      \"ipv6\":true   \n}  "},
		{"missing final newline stays missing", "{\n  \"a\": 1\n}", Settings{IPv6: Bool(true)}, "{\n  \"a\": 1,\n  \"ipv6\": true\n}"},
		{"unicode raw and escaped untouched",
			"{\"label\": \"café 🐳\", \"other\": \"caf\\u00e9\", \"ipv6\": false}",
			Settings{IPv6: Bool(true), FixedCIDRv6: String("fd12::/64")},
			"{\"label\": \"café 🐳\", \"other\": \"caf\\u00e9\", \"ipv6\": true, \"fixed-cidr-v6\": \"fd12::/64\"}"},
		{"BOM and surrounding white space kept", "\xef\xbb\xbf\n {\"a\": 1}\u00a0\n", Settings{IPv6: Bool(true)},
			"\xef\xbb\xbf\n {\"a\": 1, \"ipv6\": true}\u00a0\n"},
		{"escaped key replaced in place, spelling kept", `{"ipv\u0036": false}`, Settings{IPv6: Bool(true)}, `{"ipv\u0036": true}`},
		{"wrong type and null overwritten", `{"ipv6": "yes", "live-restore": null}`, Settings{IPv6: Bool(true), LiveRestore: Bool(true)},
			`{"ipv6": true, "live-restore": true}`},
		{"equal value keeps its bytes", "{\"default-address-pools\": [ {\"size\" :24, \"base\":\"198.18.0.0/15\"} ], \"ipv6\":true}",
			Settings{IPv6: Bool(true), DefaultAddressPools: Pools(Pool{"198.18.0.0/15", 24})},
			"{\"default-address-pools\": [ {\"size\" :24, \"base\":\"198.18.0.0/15\"} ], \"ipv6\":true}"},
		{"pools replaced at their own indentation",
			"{\n  \"features\": {\n    \"buildkit\": true\n  },\n  \"default-address-pools\": [{\"base\": \"198.18.0.0/15\", \"size\": 24}],\n  \"mtu\": 1400\n}\n",
			Settings{DefaultAddressPools: pools},
			"{\n  \"features\": {\n    \"buildkit\": true\n  },\n  \"default-address-pools\": [\n    {\"base\": \"198.18.0.0/16\", \"size\": 24},\n    {\"base\": \"fd12:3456:789a::/48\", \"size\": 64}\n  ],\n  \"mtu\": 1400\n}\n"},
		{"pools managed as []", "{\n  \"default-address-pools\": [{\"base\": \"198.18.0.0/15\", \"size\": 24}]\n}\n", Settings{DefaultAddressPools: Pools()},
			"{\n  \"default-address-pools\": []\n}\n"},
		{"string escaping", "{}", Settings{FixedCIDRv6: String("<a\"b>")}, "{\n  \"fixed-cidr-v6\": \"<a\\\"b>\"\n}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Merge([]byte(tt.in), tt.desired)
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("Merge =\n%q\nwant\n%q", got, tt.want)
			}
			// idempotent
			again, err := Merge(got, tt.desired)
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("second Merge = %q, %v; want unchanged", again, err)
			}
			// reverting the owned keys gives back the input byte for byte
			snap, err := Snapshot([]byte(tt.in), tt.desired.Keys()...)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Restore(got, snap)
			if err != nil {
				t.Fatal(err)
			}
			wantBack := tt.in
			if strings.TrimSpace(tt.in) == "" && len(tt.desired.Keys()) > 0 {
				wantBack = "{}\n" // documented: an empty file comes back as {}
			}
			if string(back) != wantBack {
				t.Fatalf("Restore =\n%q\nwant\n%q", back, wantBack)
			}
		})
	}
}

// TestMergeUntouchedSegments checks the bytes outside the changed values directly.
func TestMergeUntouchedSegments(t *testing.T) {
	in := []byte("{\n  \"log-opts\": {\"max-size\": \"10m\", \"labels\": \"caf\\u00e9,café\"},\n  \"ipv6\": false,\n\t\"dns\" :  [ \"1.1.1.1\" ]\n}")
	out, err := Merge(in, Settings{IPv6: Bool(true), LiveRestore: Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(in, []byte("false"))
	prefix, suffix := in[:i], in[i+len("false"):]
	if !bytes.HasPrefix(out, prefix) {
		t.Fatalf("bytes before the changed value differ:\n%q", out)
	}
	j := len(prefix) + len("true")
	if string(out[len(prefix):j]) != "true" {
		t.Fatalf("changed value is %q", out[len(prefix):j])
	}
	// what follows is the old suffix with the appended member before the closing brace
	appended := ",\n\t\"live-restore\" :  true"
	end := bytes.LastIndexByte(suffix, ']') + 1
	if !bytes.Equal(out[j:j+end], suffix[:end]) || string(out[j+end:j+end+len(appended)]) != appended ||
		!bytes.Equal(out[j+end+len(appended):], suffix[end:]) {
		t.Fatalf("unexpected layout:\n%q", out)
	}
}

func TestMergeRoundTripRealisticFiles(t *testing.T) {
	desires := []Settings{
		{IPv6: Bool(true), FixedCIDRv6: String("fd12:3456:789a:1::/64")},
		{IP6Tables: Bool(true), Experimental: Bool(false)},
		{UserlandProxy: Bool(false)},
		{DefaultAddressPools: Pools(Pool{"198.18.0.0/16", 16}, Pool{"fd12:3456:789a::/48", 64})},
		{DefaultAddressPools: Pools()},
		{IPv6: Bool(false), FixedCIDRv6: String(""), IP6Tables: Bool(false), Experimental: Bool(true),
			UserlandProxy: Bool(true), LiveRestore: Bool(false), DefaultAddressPools: Pools(Pool{"198.18.0.0/15", 24})},
	}
	for fi, in := range realisticFiles {
		for di, d := range desires {
			t.Run(fmt.Sprintf("file%d/desired%d", fi, di), func(t *testing.T) {
				out, err := Merge([]byte(in), d)
				if err != nil {
					t.Fatalf("Merge(%q): %v", in, err)
				}
				checkMerged(t, []byte(in), d, out)
				snap, err := Snapshot([]byte(in), d.Keys()...)
				if err != nil {
					t.Fatal(err)
				}
				back, err := Restore(out, snap)
				if err != nil {
					t.Fatal(err)
				}
				want := in
				if strings.TrimSpace(in) == "" {
					want = "{}\n"
				}
				if string(back) != want {
					t.Fatalf("Restore(Merge(%q)) = %q", in, back)
				}
			})
		}
	}
}

// checkMerged asserts the merge properties: valid, unowned members and
// unmanaged owned members byte-identical and in order, managed keys hold
// the desired values, and Parse gives Effective(Parse(in), desired).
func checkMerged(t testing.TB, in []byte, desired Settings, out []byte) {
	t.Helper()
	din, err := parseDocument(in)
	if err != nil {
		t.Fatalf("input invalid: %v", err)
	}
	dout, err := parseDocument(out)
	if err != nil {
		t.Fatalf("merged output invalid: %v\n%q", err, out)
	}
	if body := bytes.TrimSpace(bytes.TrimPrefix(out, utf8BOM)); len(body) > 0 && !json.Valid(body) {
		t.Fatalf("merged output is not valid JSON: %q", out)
	}
	keep := func(d *document) []string {
		var kv []string
		for _, m := range d.members {
			if !desired.has(m.key) {
				kv = append(kv, m.key+"\x00"+string(m.raw(d.data)))
			}
		}
		return kv
	}
	if a, b := keep(din), keep(dout); strings.Join(a, "\x01") != strings.Join(b, "\x01") {
		t.Fatalf("members not managed changed:\nin  %q\nout %q", a, b)
	}
	if din.bom != dout.bom {
		t.Fatalf("BOM changed")
	}
	for _, k := range desired.Keys() {
		i, err := dout.lookup(k)
		if err != nil || i < 0 {
			t.Fatalf("key %s: index %d, %v in %q", k, i, err, out)
		}
		if !dout.holds(i, desired) {
			t.Fatalf("key %s holds %s, want %+v", k, dout.members[i].raw(out), desired)
		}
	}
	if len(din.members) > 0 {
		// everything before the object and after it is untouched
		if !bytes.Equal(in[:din.open], out[:dout.open]) || !bytes.Equal(in[din.close:], out[dout.close:]) {
			t.Fatalf("bytes around the object changed:\n%q\n%q", in, out)
		}
	}
	if sin, err := Parse(in); err == nil {
		sout, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(merged): %v", err)
		}
		if want := Effective(sin, desired); !sout.Equal(want) {
			t.Fatalf("Parse(merged) = %+v, want %+v", sout, want)
		}
	}
}

func TestMergeRefusals(t *testing.T) {
	_, err := Merge([]byte("{\"ipv6\": true, \"ipv6\": false}"), Settings{LiveRestore: Bool(true)})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Kind != ErrDuplicateKey || pe.Key != "ipv6" {
		t.Fatalf("duplicate owned key: err = %v", err)
	}
	if _, err := Merge([]byte("{}"), Settings{FixedCIDRv6: String("fd00::/64\xff")}); err == nil {
		t.Fatal("invalid UTF-8 in a desired string: no error")
	}
	// a duplicate key that is not owned is preserved, both copies
	in := "{\"dns\": [], \"dns\": [\"8.8.8.8\"]}"
	out, err := Merge([]byte(in), Settings{IPv6: Bool(false)})
	if err != nil || string(out) != "{\"dns\": [], \"dns\": [\"8.8.8.8\"], \"ipv6\": false}" {
		t.Fatalf("Merge = %q, %v", out, err)
	}
}

func TestRemove(t *testing.T) {
	tests := []struct {
		name string
		in   string
		keys []string
		want string
	}{
		{"middle", "{\n  \"a\": 1,\n  \"ipv6\": true,\n  \"b\": 2\n}\n", []string{"ipv6"}, "{\n  \"a\": 1,\n  \"b\": 2\n}\n"},
		{"last", "{\n  \"a\": 1,\n  \"ipv6\": true\n}\n", []string{"ipv6"}, "{\n  \"a\": 1\n}\n"},
		{"first", "{\n  \"ipv6\": true,\n  \"a\": 1\n}\n", []string{"ipv6"}, "{\n  \"a\": 1\n}\n"},
		{"sole, pretty", "{\n  \"ipv6\": true\n}\n", []string{"ipv6"}, "{}\n"},
		{"sole, spaced", "{ \"ipv6\": true }", []string{"ipv6"}, "{ }"},
		{"several", `{"ipv6":true,"a":{"ipv6":1},"ip6tables":false,"experimental":true}`, []string{"ipv6", "experimental", "ip6tables"}, `{"a":{"ipv6":1}}`},
		{"absent key", "{\"a\": 1}\n", []string{"ipv6"}, "{\"a\": 1}\n"},
		{"empty file", "", []string{"ipv6"}, ""},
		{"odd separators", "{\"a\": 1 ,  \"ipv6\" : true  , \"b\": 2}", []string{"ipv6"}, "{\"a\": 1  , \"b\": 2}"},
		{"unowned key", "{\"a\": 1, \"b\": 2}", []string{"b"}, "{\"a\": 1}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Remove([]byte(tt.in), tt.keys...)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("Remove = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRestore(t *testing.T) {
	orig := []byte("{\n  \"dns\": [\"1.1.1.1\"],\n  \"ipv6\": false,\n  \"experimental\": null\n}\n")
	desired := Settings{IPv6: Bool(true), IP6Tables: Bool(true), Experimental: Bool(true)}
	snap, err := Snapshot(orig, desired.Keys()...)
	if err != nil {
		t.Fatal(err)
	}
	if string(snap["ipv6"]) != "false" || snap["ip6tables"] != nil || string(snap["experimental"]) != "null" || len(snap) != 3 {
		t.Fatalf("Snapshot = %q", snap)
	}
	merged, err := Merge(orig, desired)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("round trip", func(t *testing.T) {
		back, err := Restore(merged, snap)
		if err != nil || !bytes.Equal(back, orig) {
			t.Fatalf("Restore = %q, %v", back, err)
		}
	})
	t.Run("after someone edited the file", func(t *testing.T) {
		// a user added a key and deleted ipv6 after the apply
		edited := bytes.Replace(merged, []byte("  \"ipv6\": true,\n"), nil, 1)
		edited = bytes.Replace(edited, []byte("{\n"), []byte("{\n  \"mtu\": 1400,\n"), 1)
		back, err := Restore(edited, snap)
		if err != nil {
			t.Fatal(err)
		}
		want := "{\n  \"mtu\": 1400,\n  \"dns\": [\"1.1.1.1\"],\n  \"experimental\": null,\n  \"ipv6\": false\n}\n"
		if string(back) != want {
			t.Fatalf("Restore = %q, want %q", back, want)
		}
	})
	t.Run("keys not in the map are left alone", func(t *testing.T) {
		back, err := Restore(merged, map[string]json.RawMessage{"ip6tables": nil})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(back, []byte(`"ipv6": true`)) || bytes.Contains(back, []byte("ip6tables")) {
			t.Fatalf("Restore = %q", back)
		}
	})
	t.Run("raw value verbatim", func(t *testing.T) {
		back, err := Restore([]byte("{}"), map[string]json.RawMessage{"default-address-pools": json.RawMessage("[ {\"base\":\"198.18.0.0/15\",\"size\":24} ]")})
		if err != nil || string(back) != "{\n  \"default-address-pools\": [ {\"base\":\"198.18.0.0/15\",\"size\":24} ]\n}" {
			t.Fatalf("Restore = %q, %v", back, err)
		}
	})
	t.Run("invalid saved value", func(t *testing.T) {
		if _, err := Restore(merged, map[string]json.RawMessage{"ipv6": json.RawMessage("tru")}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("empty file", func(t *testing.T) {
		back, err := Restore(nil, map[string]json.RawMessage{"ipv6": json.RawMessage("true"), "ip6tables": nil})
		if err != nil || string(back) != "{\n  \"ipv6\": true\n}\n" {
			t.Fatalf("Restore = %q, %v", back, err)
		}
	})
}
