package daemonconfig

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Settings
	}{
		{"empty file", "", Settings{}},
		{"whitespace only", " \n\t\r\n", Settings{}},
		{"unicode whitespace only (dockerd trims with bytes.TrimSpace)", "\u00a0\n", Settings{}},
		{"empty object", "{}", Settings{}},
		{"unowned keys only", `{"dns": ["1.1.1.1"], "log-opts": {"ipv6": "nested, not ours"}}`, Settings{}},
		{"all owned keys", `{
  "ipv6": true,
  "fixed-cidr-v6": "fd12:3456:789a:1::/64",
  "ip6tables": true,
  "experimental": false,
  "userland-proxy": false,
  "default-address-pools": [{"base": "198.18.0.0/16", "size": 24}, {"base":"fd12:3456:789a::/48","size":64}],
  "live-restore": true
}`, Settings{
			IPv6: Bool(true), FixedCIDRv6: String("fd12:3456:789a:1::/64"), IP6Tables: Bool(true),
			Experimental: Bool(false), UserlandProxy: Bool(false), LiveRestore: Bool(true),
			DefaultAddressPools: Pools(Pool{"198.18.0.0/16", 24}, Pool{"fd12:3456:789a::/48", 64}),
		}},
		{"null is absent", `{"ipv6": null, "fixed-cidr-v6": null, "default-address-pools": null}`, Settings{}},
		{"empty pools is managed as []", `{"default-address-pools": []}`, Settings{DefaultAddressPools: Pools()}},
		{"pool field names matched like encoding/json", `{"default-address-pools": [{"Base": "198.18.0.0/15", "SIZE": 24, "extra": 1}]}`,
			Settings{DefaultAddressPools: Pools(Pool{"198.18.0.0/15", 24})}},
		{"escaped key is the same key", `{"ipv\u0036": true}`, Settings{IPv6: Bool(true)}},
		{"UTF-8 BOM", "\xef\xbb\xbf{\"ipv6\": false}", Settings{IPv6: Bool(false)}},
		{"CRLF and tabs", "{\r\n\t\"live-restore\"\t:\ttrue\r\n}\r\n", Settings{LiveRestore: Bool(true)}},
		{"duplicate unowned key is not ours to judge", `{"dns": [], "dns": ["8.8.8.8"], "ipv6": true}`, Settings{IPv6: Bool(true)}},
		{"case variant is another key (dockerd refuses it as unknown)", `{"IPv6": true}`, Settings{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !got.Equal(tt.want) {
				t.Fatalf("Parse = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		kind         ErrorKind
		line, column int
		key          string
		msg          []string // substrings of Error()
	}{
		{"missing comma between members", "{\n  \"ipv6\": true\n  \"ip6tables\": true\n}\n", ErrSyntax, 3, 3, "",
			[]string{"daemon.json is not valid JSON at line 3, column 3: invalid character '\"' after object key:value pair"}},
		{"trailing comma", "{\n  \"ipv6\": true,\n}\n", ErrSyntax, 3, 1, "",
			[]string{"line 3, column 1", "looking for beginning of object key string"}},
		{"bad literal", "{\n  \"dns\": [\"1.1.1.1\"],\n  \"ipv6\": tru }\n", ErrSyntax, 3, 14, "",
			[]string{"daemon.json is not valid JSON at line 3, column 14: invalid character ' ' in literal true"}},
		{"missing colon", `{"ipv6" true}`, ErrSyntax, 1, 9, "", []string{"after object key"}},
		{"column counts runes not bytes", "{\"label\": \"héllo\" \"x\"}", ErrSyntax, 1, 19, "", nil},
		{"unterminated object", "{\n  \"ipv6\": true\n", ErrSyntax, 2, 15, "", []string{"ends before the JSON value is complete"}},
		{"unterminated string", `{"fixed-cidr-v6": "fd00::/64}`, ErrSyntax, 1, 30, "", nil},
		{"single quotes", "{'ipv6': true}", ErrSyntax, 1, 2, "", nil},
		{"comment", "{\n  // IPv6\n  \"ipv6\": true\n}", ErrSyntax, 2, 3, "", nil},
		{"garbage after object", "{}\n}", ErrSyntax, 2, 1, "", []string{"after top-level value"}},
		{"BOM does not count as a column", "\xef\xbb\xbf{,}", ErrSyntax, 1, 2, "", nil},
		{"top-level array", "[{\"ipv6\": true}]", ErrNotObject, 1, 1, "", []string{"an array"}},
		{"top-level null", "  null\n", ErrNotObject, 1, 3, "", []string{"null"}},
		{"top-level string", `"ipv6"`, ErrNotObject, 1, 1, "", []string{"a string"}},
		{"invalid UTF-8", "{\n \"x\": \"\xff\"}", ErrEncoding, 2, 8, "", []string{"0xff"}},
		{"UTF-16", "\xff\xfe{\x00}\x00", ErrEncoding, 1, 1, "", []string{"UTF-16"}},
		{"string for bool", "{\n  \"userland-proxy\": \"yes\"\n}", ErrWrongType, 2, 21, "userland-proxy",
			[]string{`daemon.json key "userland-proxy" at line 2, column 21: must be a boolean`, `a string ("yes")`, "refuses to start"}},
		{"quoted true", `{"ipv6": "true"}`, ErrWrongType, 1, 10, "ipv6", []string{"without quotes"}},
		{"number for bool", `{"live-restore": 1}`, ErrWrongType, 1, 18, "live-restore", []string{"a number (1)"}},
		{"bool for string", `{"fixed-cidr-v6": true}`, ErrWrongType, 1, 19, "fixed-cidr-v6", []string{"must be a string"}},
		{"object for pools", `{"default-address-pools": {"base": "198.18.0.0/15"}}`, ErrWrongType, 1, 27, "default-address-pools", []string{"must be an array"}},
		{"pool element not object", "{\"default-address-pools\": [\n  {\"base\": \"198.18.0.0/15\", \"size\": 24},\n  \"198.18.0.0/16\"\n]}", ErrWrongType, 3, 3, "default-address-pools",
			[]string{"element 2", "must be an object"}},
		{"pool null element", `{"default-address-pools": [null]}`, ErrWrongType, 1, 28, "default-address-pools", []string{"element 1"}},
		{"pool size string", `{"default-address-pools": [{"base": "198.18.0.0/15", "size": "24"}]}`, ErrWrongType, 1, 28, "default-address-pools",
			[]string{`"size" must be an integer`}},
		{"pool size fraction", `{"default-address-pools": [{"base": "198.18.0.0/15", "size": 24.5}]}`, ErrWrongType, 1, 28, "default-address-pools",
			[]string{`"size" must be an integer`}},
		{"pool base number", `{"default-address-pools": [{"base": 10, "size": 24}]}`, ErrWrongType, 1, 28, "default-address-pools",
			[]string{`"base" must be a string`}},
		{"duplicate owned key", "{\n  \"ipv6\": false,\n  \"dns\": [],\n  \"ipv6\": true\n}", ErrDuplicateKey, 4, 3, "ipv6",
			[]string{"appears 2 times (first at line 2, column 3)", "uses only the last one"}},
		{"duplicate owned key, one escaped", `{"ip6tables": true, "ip6table\u0073": false}`, ErrDuplicateKey, 1, 21, "ip6tables", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error = %v (%T), want *ParseError", err, err)
			}
			if pe.Kind != tt.kind || pe.Line != tt.line || pe.Column != tt.column || pe.Key != tt.key {
				t.Errorf("got kind %d line %d column %d key %q, want kind %d line %d column %d key %q (%v)",
					pe.Kind, pe.Line, pe.Column, pe.Key, tt.kind, tt.line, tt.column, tt.key, err)
			}
			for _, s := range tt.msg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			// Merge refuses the same files (except type errors, which it overwrites when managed).
			if tt.kind != ErrWrongType {
				if _, merr := Merge([]byte(tt.in), Settings{LiveRestore: Bool(true)}); merr == nil || merr.Error() != err.Error() {
					t.Errorf("Merge error = %v, want %v", merr, err)
				}
			}
		})
	}
}

func TestParseErrorPositionIsTheOffendingCharacter(t *testing.T) {
	in := "{\n  \"ipv6\": true,\n  \"ip6tables\": yes\n}\n"
	_, err := Parse([]byte(in))
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	if got := in[pe.Offset]; got != 'y' {
		t.Fatalf("offset %d points at %q, want 'y'", pe.Offset, got)
	}
	if pe.Line != 3 || pe.Column != 16 {
		t.Fatalf("line %d column %d, want 3, 16", pe.Line, pe.Column)
	}
}
