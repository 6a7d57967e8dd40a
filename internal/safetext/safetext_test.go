package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLineAndText(t *testing.T) {
	cases := []struct {
		name, in   string
		line, text string
	}{
		{"plain", "dockerd: ok", "dockerd: ok", "dockerd: ok"},
		{"newline and tab", "a\n\tb", `a\n\tb`, "a\n\tb"},
		{"carriage return", "ok\rFAKE", `ok\rFAKE`, `ok\rFAKE`},
		{"ESC colour and cursor", "\x1b[31mred\x1b[2J", `\x1b[31mred\x1b[2J`, `\x1b[31mred\x1b[2J`},
		{"other C0 and DEL", "\x00\x07\x08\x7f", `\x00\x07\x08\x7f`, `\x00\x07\x08\x7f`},
		{"C1 CSI and NEL", "a\u009b2Jb\u0085c", `a\u009b2Jb\u0085c`, `a\u009b2Jb\u0085c`},
		{"invalid UTF-8", "a\xff\xc3b", `a\xff\xc3b`, `a\xff\xc3b`},
		{"bidi override", "abc\u202edef", `abc\u202edef`, `abc\u202edef`},
		{"line separator", "a\u2028b", `a\u2028b`, `a\u2028b`},
		{"printable unicode kept", "größe ✓ 日本", "größe ✓ 日本", "größe ✓ 日本"},
		{"a literal backslash-x is not taken for an escape", `C:\x1b`, `C:\\x1b`, `C:\\x1b`},
		{"other backslashes kept", `a\b`, `a\b`, `a\b`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Line(c.in, 0); got != c.line {
				t.Errorf("Line(%q) = %q, want %q", c.in, got, c.line)
			}
			if got := Text(c.in, 0); got != c.text {
				t.Errorf("Text(%q) = %q, want %q", c.in, got, c.text)
			}
		})
	}
}

func TestBounds(t *testing.T) {
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"short is whole", Line("abc", 3), "abc"},
		{"head", Line("abcdef", 3), "abc (3 more bytes left off)"},
		{"head does not split a character", Line("aé", 2), "a (2 more bytes left off)"},
		{"head escapes what it keeps", Text("\x1b[2Jxxxxxxxx", 4), `\x1b[2J (8 more bytes left off)`},
		{"tail", TailText("line1\nline2\n", 6), "(6 bytes before this left off) line2\n"},
		{"tail does not split a character", TailText("xé!", 2), "(3 bytes before this left off) !"},
		{"tail short is whole", TailText("a\rb", 10), `a\rb`},
		{"no bound", Line(strings.Repeat("a", 100), 0), strings.Repeat("a", 100)},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

// Whatever comes in, what goes out has no byte a terminal acts on (other
// than \n and \t in Text) and is valid UTF-8.
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "a\x1b[1m", "\xff\xfe", "\u202e\u0085\r\n", "日本\x00"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max > 1<<20 || max < -1 {
			return
		}
		for _, out := range []string{Line(s, max), Text(s, max), TailText(s, max)} {
			if !utf8ValidNoControls(out) {
				t.Fatalf("%q gave %q", s, out)
			}
		}
		if strings.Contains(Line(s, max), "\n") {
			t.Fatalf("Line(%q) has a newline", s)
		}
	})
}

func utf8ValidNoControls(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || unsafeRune(r) {
			return false
		}
	}
	return true
}
