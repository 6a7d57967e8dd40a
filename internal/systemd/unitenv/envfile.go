package unitenv

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// ParseFile reads an EnvironmentFile= file as systemd does (its
// parse_env_file_internal, systemd 254 and later, then the names it keeps):
//
//   - a line is KEY=VALUE; blanks around KEY and before VALUE are dropped, and
//     so are blanks at the end of an unquoted VALUE;
//   - a line whose first non-blank character is # or ; is a comment;
//   - in VALUE, '...' keeps everything as it is, "..." keeps everything but
//     \" \\ \` \$ (the backslash goes) and a backslash-newline (both go);
//     outside quotes a backslash takes the next character as it is and a
//     backslash-newline joins the next line; quoted and unquoted parts join
//     ("a"b is ab);
//   - a line without = is passed over, and so is a KEY that is not a valid
//     name ("export FOO=1" among them: systemd has no export);
//   - a later assignment of a KEY replaces an earlier one (the caller's map does).
//
// It returns the assignments in order as [KEY, VALUE] pairs. CheckFile
// tells whether systemd would take the file at all.
func ParseFile(data []byte) [][2]string {
	p := fileParser{}
	for _, c := range data {
		p.step(c)
	}
	p.end()
	return p.out
}

// CheckFile is ParseFile's error check: systemd refuses a file whose keys or
// values are not valid UTF-8.
func CheckFile(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("the file is not valid UTF-8")
	}
	return nil
}

type fileState int

const (
	preKey fileState = iota
	inKey
	preValue
	inValue
	valueEscape
	singleQuote
	doubleQuote
	doubleQuoteEscape
	comment
	commentEscape
)

type fileParser struct {
	state      fileState
	key, value []byte
	keyTrail   int // index where the key's trailing blanks start, -1 if none
	valueTrail int // the same for an unquoted value
	out        [][2]string
}

const fileBlanks = " \t\n\r"

func isBlank(c byte) bool   { return strings.IndexByte(fileBlanks, c) >= 0 }
func isNewline(c byte) bool { return c == '\n' || c == '\r' }

func (p *fileParser) step(c byte) {
	switch p.state {
	case preKey:
		switch {
		case c == '#' || c == ';':
			p.state = comment
		case !isBlank(c):
			p.state, p.keyTrail = inKey, -1
			p.key = append(p.key, c)
		}
	case inKey:
		switch {
		case isNewline(c):
			p.state, p.key = preKey, p.key[:0]
		case c == '=':
			p.state, p.valueTrail = preValue, -1
		default:
			if !isBlank(c) {
				p.keyTrail = -1
			} else if p.keyTrail < 0 {
				p.keyTrail = len(p.key)
			}
			p.key = append(p.key, c)
		}
	case preValue:
		switch {
		case isNewline(c):
			p.push(false)
		case c == '\'':
			p.state = singleQuote
		case c == '"':
			p.state = doubleQuote
		case c == '\\':
			p.state = valueEscape
		case !isBlank(c):
			p.state = inValue
			p.add(c)
		}
	case inValue:
		switch {
		case isNewline(c):
			p.push(true)
		case c == '\\':
			p.state, p.valueTrail = valueEscape, -1
		default:
			if !isBlank(c) {
				p.valueTrail = -1
			} else if p.valueTrail < 0 {
				p.valueTrail = len(p.value)
			}
			p.add(c)
		}
	case valueEscape:
		p.state = inValue
		if !isNewline(c) {
			p.add(c)
		}
	case singleQuote:
		if c == '\'' {
			p.state = preValue
		} else {
			p.add(c)
		}
	case doubleQuote:
		switch c {
		case '"':
			p.state = preValue
		case '\\':
			p.state = doubleQuoteEscape
		default:
			p.add(c)
		}
	case doubleQuoteEscape:
		p.state = doubleQuote
		switch {
		case strings.IndexByte("\"\\`$", c) >= 0:
			p.add(c)
		case c != '\n':
			p.add('\\')
			p.add(c)
		}
	case comment:
		if c == '\\' {
			p.state = commentEscape
		} else if isNewline(c) {
			p.state = preKey
		}
	case commentEscape:
		if isNewline(c) {
			p.state = preKey
		} else {
			p.state = comment
		}
	}
}

func (p *fileParser) add(c byte) {
	p.value = append(p.value, c)
}

// push ends an assignment; chomp drops an unquoted value's trailing blanks.
func (p *fileParser) push(chomp bool) {
	key, value := p.key, p.value
	if p.keyTrail >= 0 {
		key = key[:p.keyTrail]
	}
	if chomp && p.valueTrail >= 0 {
		value = value[:p.valueTrail]
	}
	if validName(string(key)) {
		p.out = append(p.out, [2]string{string(key), string(value)})
	}
	p.state, p.key, p.value = preKey, p.key[:0], nil
}

func (p *fileParser) end() {
	switch p.state {
	case preValue, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape:
		p.push(false)
	case inValue:
		p.push(true)
	}
}
