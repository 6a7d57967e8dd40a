package daemonconfig

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSettings builds desired Settings from fuzz arguments: bit i of mask
// manages key OwnedKeys[i]; bits of vals give the booleans.
func fuzzSettings(mask, vals uint8, cidr, base string, size int, npools uint8) Settings {
	var s Settings
	b := func(bit uint) *bool { return Bool(vals&(1<<bit) != 0) }
	if mask&1 != 0 {
		s.IPv6 = b(0)
	}
	if mask&2 != 0 {
		s.FixedCIDRv6 = String(cidr)
	}
	if mask&4 != 0 {
		s.IP6Tables = b(1)
	}
	if mask&8 != 0 {
		s.Experimental = b(2)
	}
	if mask&16 != 0 {
		s.UserlandProxy = b(3)
	}
	if mask&32 != 0 {
		pools := []Pool{}
		for i := 0; i < int(npools%4); i++ {
			pools = append(pools, Pool{Base: base, Size: size + i})
		}
		s.DefaultAddressPools = &pools
	}
	if mask&64 != 0 {
		s.LiveRestore = b(4)
	}
	return s
}

func FuzzMergePreservesUnownedKeys(f *testing.F) {
	extra := []string{
		"{\"ipv6\":true,\"ipv6\":false}",
		"{\"a\":{\"ipv6\":[1,{\"b\":\"}\"}]},\"c\":\"\\\\\\\"\"}",
		"  [1]  ",
		"{\"default-address-pools\":[{\"base\":\"198.18.0.0/15\",\"size\":24}]}",
		"\t{\r\n\"k\"\t:\t\"\\ud83d\\udc33\"\r\n}\t",
		"{\n}",
	}
	for i, s := range append(realisticFiles, extra...) {
		f.Add([]byte(s), uint8(i*37), uint8(i*11), "fd12:3456:789a:1::/64", "fd12:3456:789a::/48", 64, uint8(i))
	}
	f.Add([]byte("{\"x\": 1}"), uint8(0xff), uint8(0x55), "", "", -1, uint8(3))
	f.Add([]byte("{\"x\": 1}"), uint8(0xff), uint8(0xaa), "é\"\\\n\u2028<>&", "\x00", 1<<40, uint8(2))

	f.Fuzz(func(t *testing.T, data []byte, mask, vals uint8, cidr, base string, size int, npools uint8) {
		desired := fuzzSettings(mask, vals, cidr, base, size, npools)
		out, err := Merge(data, desired)

		din, derr := parseDocument(data)
		if derr == nil {
			derr = din.checkDuplicates(OwnedKeys)
		}
		if !utf8.ValidString(cidr) && desired.FixedCIDRv6 != nil || !utf8.ValidString(base) && desired.DefaultAddressPools != nil && len(*desired.DefaultAddressPools) > 0 {
			if err == nil {
				t.Fatalf("Merge accepted a desired string that is not UTF-8")
			}
			return
		}
		if derr != nil {
			var pe *ParseError
			if err == nil || !errors.As(err, &pe) {
				t.Fatalf("Merge of a refused file: err = %v, want *ParseError (%v)", err, derr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Merge(%q): %v", data, err)
		}
		checkMerged(t, data, desired, out)

		// idempotent
		again, err := Merge(out, desired)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("second Merge changed the file:\n%q\n%q (%v)", out, again, err)
		}

		// reverting gives the original bytes (documented exceptions: the inner
		// white space of an object with no members)
		snap, err := Snapshot(data, desired.Keys()...)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Restore(out, snap)
		if err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if !bytes.Equal(back, data) {
			inner := ""
			if !din.empty {
				inner = string(data[din.open+1 : din.close])
			}
			switch {
			case len(desired.Keys()) == 0:
				t.Fatalf("Restore changed a file Merge left alone")
			case din.empty:
				if string(back) != string(data[:din.bom])+"{}\n" {
					t.Fatalf("Restore of an empty file = %q", back)
				}
			case len(din.members) == 0 && strings.Trim(inner, "\r\n") == "" && strings.Count(inner, "\n") == 1:
				if want := string(data[:din.open]) + "{}" + string(data[din.close+1:]); string(back) != want {
					t.Fatalf("Restore of %q = %q, want %q", data, back, want)
				}
			default:
				t.Fatalf("Restore(Merge(x)) != x\nx      %q\nmerged %q\nback   %q", data, out, back)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range realisticFiles {
		f.Add([]byte(s))
	}
	for _, s := range []string{"{", "{\"ipv6\": tru}", "[]", "null", "{\"default-address-pools\": [null]}", "\xff", "\xef\xbb\xbf", "{\"a\":\"\xc3\"}", "{\"ipv6\" true}\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %T %v is not a *ParseError", err, err)
			}
			if pe.Line < 1 || pe.Column < 1 || pe.Offset < 0 || pe.Offset > len(data) || pe.Error() == "" {
				t.Fatalf("bad position %+v", pe)
			}
			return
		}
		// merging what is there changes nothing
		out, err := Merge(data, s)
		if err != nil {
			t.Fatalf("Merge of a parsed file: %v", err)
		}
		if !bytes.Equal(out, data) && (strings.TrimSpace(string(bytes.TrimPrefix(data, utf8BOM))) != "" || len(s.Keys()) == 0) {
			t.Fatalf("Merge(x, Parse(x)) changed x:\n%q\n%q", data, out)
		}
		_ = Validate(s, DockerVersion{Major: 20, Minor: 10})
		_ = Validate(s, DockerVersion{Major: 29})
	})
}
