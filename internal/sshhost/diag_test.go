package sshhost

import (
	"strings"
	"testing"
)

// What a host writes on stderr reaches a message bounded, on one line, and
// with nothing a terminal would act on.
func TestOneLine(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty", " \n ", "(no output)"},
		{"lines joined", "sudo: a password is required\nsecond\n", "sudo: a password is required; second"},
		{"escape sequences", "\x1b[2K\rok\x1b]0;title\x07", `\x1b[2K\rok\x1b]0;title\x07`},
		{"C1 and invalid UTF-8", "a\u009bb\xffc", `a\u009bb\xffc`},
		{"bidi override", "rm \u202efdp.exe", `rm \u202efdp.exe`},
	}
	for _, c := range cases {
		if got := oneLine([]byte(c.in)); got != c.want {
			t.Errorf("%s: oneLine(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
	long := strings.Repeat("x", 100<<10) + "\nthe last line says why"
	got := oneLine([]byte(long))
	if len(got) > maxDiag+64 || !strings.HasSuffix(got, "; the last line says why") || !strings.HasPrefix(got, "(") {
		t.Errorf("100 KiB of stderr: %d bytes, ends %q, starts %q; want at most about %d bytes, the end kept, a note of what was left off",
			len(got), got[max(0, len(got)-30):], got[:min(40, len(got))], maxDiag)
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 16}
	for i := 0; i < 10; i++ {
		_, _ = b.Write([]byte("0123456789"))
	}
	if got := b.String(); got != "4567890123456789" {
		t.Errorf("tail = %q, want the last 16 bytes", got)
	}
	a := &Agent{stderr: &tailBuffer{max: 16 << 10}}
	_, _ = a.stderr.Write([]byte("\x1b[31mred\n"))
	if got := a.Stderr(); got != "\\x1b[31mred\n" {
		t.Errorf("Stderr() = %q, want it escaped", got)
	}
}
