// Package safetext makes text that came from another machine (a host's
// stderr, a file it holds, a message it sent) safe to show in a
// diagnostic: bounded in length, and with every control character,
// invalid UTF-8 byte and text-direction override written as an escape
// (\r, \x1b, \u0085, \u202e), so a compromised or broken host cannot
// move the cursor, rewrite a terminal line, recolour, hide or reorder
// what the operator reads.
//
//	safetext.Line(stderr, 2048)     // one line: \n becomes "\n" too
//	safetext.Text(stderr, 2048)     // several lines: \n (and \t) kept
//	safetext.TailText(stderr, 2048) // the end of a long log, several lines
package safetext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Line is s for a one-line message: at most max bytes of s (its start; a
// note says how many were left off), every control character (newline
// and tab included) and invalid byte escaped. max <= 0 means no bound.
func Line(s string, max int) string {
	head, cut := headOf(s, max)
	return escape(head, false) + cutNote(cut)
}

// Text is s for a message of several lines: as Line, but newlines and
// tabs are kept as they are.
func Text(s string, max int) string {
	head, cut := headOf(s, max)
	return escape(head, true) + cutNote(cut)
}

// TailText is the end of s (its last max bytes, a note says how many came
// before), for a log whose last lines say what went wrong; newlines and
// tabs are kept, everything else as in Text.
func TailText(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return escape(s, true)
	}
	start := len(s) - max
	// Start on a character, not in the middle of one.
	for i := 0; i < utf8.UTFMax-1 && start < len(s) && !utf8.RuneStart(s[start]); i++ {
		start++
	}
	return fmt.Sprintf("(%d bytes before this left off) ", start) + escape(s[start:], true)
}

func headOf(s string, max int) (string, int) {
	if max <= 0 || len(s) <= max {
		return s, 0
	}
	end := max
	// End before a character, not in the middle of one.
	for i := 0; i < utf8.UTFMax-1 && end > 0 && !utf8.RuneStart(s[end]); i++ {
		end--
	}
	return s[:end], len(s) - end
}

func cutNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d more bytes left off)", n)
}

// escape writes s with the characters a terminal would act on as escapes.
func escape(s string, multiline bool) string {
	if clean(s, multiline) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		case r == '\\' && i+1 < len(s) && (s[i+1] == 'x' || s[i+1] == 'u'):
			// A literal backslash before x or u would read like one of
			// our escapes: write it as one.
			b.WriteString(`\\`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune: C1 controls, and the characters that change the order or the
// lines of what is shown (bidi embeddings, overrides and isolates, line
// and paragraph separators).
func unsafeRune(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x2028 || r == 0x2029 || r == 0x200e || r == 0x200f || r == 0x061c
}

func clean(s string, multiline bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return false // decode the rest properly
		}
		if c < 0x20 || c == 0x7f {
			if multiline && (c == '\n' || c == '\t') {
				continue
			}
			return false
		}
		if c == '\\' && i+1 < len(s) && (s[i+1] == 'x' || s[i+1] == 'u') {
			return false
		}
	}
	return true
}
