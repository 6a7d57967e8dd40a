package daemonconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// ErrorKind classifies a ParseError.
type ErrorKind int

const (
	ErrSyntax       ErrorKind = iota + 1 // not valid JSON
	ErrEncoding                          // not UTF-8 (UTF-16, invalid bytes)
	ErrNotObject                         // the top-level value is not an object
	ErrDuplicateKey                      // an owned key appears more than once
	ErrWrongType                         // an owned key holds a value of the wrong type
)

// ParseError is why daemon.json was refused. Line and Column are 1-based;
// Column counts characters (UTF-8 runes), not bytes, and ignores a UTF-8 BOM.
// A file with a ParseError is never modified by Merge, Remove or Restore.
type ParseError struct {
	Kind         ErrorKind
	Line, Column int
	Offset       int    // byte offset into the file of the position reported
	Key          string // the key concerned (ErrDuplicateKey, ErrWrongType)
	Expected     string // the expected type (ErrWrongType)
	Msg          string // what is wrong, without the position
}

func (e *ParseError) Error() string {
	switch e.Kind {
	case ErrSyntax:
		return fmt.Sprintf("daemon.json is not valid JSON at line %d, column %d: %s", e.Line, e.Column, e.Msg)
	case ErrEncoding:
		return fmt.Sprintf("daemon.json is not valid UTF-8 at line %d, column %d: %s", e.Line, e.Column, e.Msg)
	case ErrNotObject:
		return fmt.Sprintf("daemon.json must hold a JSON object ({ ... }) but the value at line %d, column %d is %s", e.Line, e.Column, e.Msg)
	default:
		return fmt.Sprintf("daemon.json key %q at line %d, column %d: %s", e.Key, e.Line, e.Column, e.Msg)
	}
}

// member is one top-level key/value pair, as byte offsets into document.data.
type member struct {
	key              string // decoded key
	keyStart, keyEnd int    // the key's string token, quotes included
	colon            int
	valStart, valEnd int
	comma            int // the comma before this member; -1 for the first
}

func (m member) raw(data []byte) []byte { return data[m.valStart:m.valEnd] }

// document is a daemon.json file whose top level is a JSON object (or which is empty).
type document struct {
	data        []byte
	bom         int  // 3 when the file starts with a UTF-8 byte order mark, else 0
	empty       bool // nothing but whitespace: dockerd reads it as {}
	open, close int  // offsets of the top-level { and }
	members     []member
}

var utf8BOM = []byte("\xef\xbb\xbf")

// parseDocument validates data the way dockerd does (UTF-8 BOM allowed,
// surrounding whitespace trimmed with bytes.TrimSpace, encoding/json syntax),
// requires a top-level object and records where its members are.
func parseDocument(data []byte) (*document, error) {
	d := &document{data: data}
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return nil, &ParseError{Kind: ErrEncoding, Line: 1, Column: 1, Msg: "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8 and apply again"}
	}
	if bytes.HasPrefix(data, utf8BOM) {
		d.bom = len(utf8BOM)
	}
	body := data[d.bom:]
	if !utf8.Valid(body) {
		off := d.bom
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, d.errorAt(&ParseError{Kind: ErrEncoding, Msg: fmt.Sprintf("byte 0x%02x is not part of a UTF-8 character; dockerd refuses files that are not UTF-8", data[off])}, off)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		d.empty = true
		return d, nil
	}
	// dockerd trims with bytes.TrimSpace (Unicode white space), so may we.
	lead := d.bom + len(body) - len(bytes.TrimLeftFunc(body, unicode.IsSpace))
	var raw json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		var se *json.SyntaxError
		if !errors.As(err, &se) {
			return nil, err
		}
		off := int(se.Offset)
		msg := se.Error()
		if off >= len(trimmed) && msg == "unexpected end of JSON input" {
			msg = "the file ends before the JSON value is complete (a missing closing brace, bracket or quote?)"
			off = len(trimmed)
		} else if off > 0 {
			off-- // Offset is just past the offending byte
		}
		return nil, d.errorAt(&ParseError{Kind: ErrSyntax, Msg: msg}, lead+off)
	}
	if trimmed[0] != '{' {
		return nil, d.errorAt(&ParseError{Kind: ErrNotObject, Msg: describeValue(trimmed) + "; write the settings as an object, for example {\"ipv6\": true}"}, lead)
	}
	d.open = lead
	i := skipWS(data, lead+1)
	if data[i] == '}' {
		d.close = i
		return d, nil
	}
	comma := -1
	for {
		m := member{keyStart: i, comma: comma}
		m.keyEnd = skipString(data, i)
		key, err := decodeString(data[m.keyStart:m.keyEnd])
		if err != nil {
			return nil, err
		}
		m.key = key
		m.colon = skipWS(data, m.keyEnd)
		m.valStart = skipWS(data, m.colon+1)
		m.valEnd = skipValue(data, m.valStart)
		d.members = append(d.members, m)
		i = skipWS(data, m.valEnd)
		if data[i] == '}' {
			d.close = i
			return d, nil
		}
		comma = i // data[i] == ','
		i = skipWS(data, i+1)
	}
}

// errorAt fills in the position of off.
func (d *document) errorAt(e *ParseError, off int) *ParseError {
	e.Offset = off
	e.Line, e.Column = d.position(off)
	return e
}

// position is the 1-based line and column (in runes, BOM excluded) of byte off.
func (d *document) position(off int) (line, col int) {
	if off > len(d.data) {
		off = len(d.data)
	}
	start := d.bom
	if off < start {
		off = start
	}
	seg := d.data[start:off]
	line = 1 + bytes.Count(seg, []byte{'\n'})
	if nl := bytes.LastIndexByte(seg, '\n'); nl >= 0 {
		seg = seg[nl+1:]
	}
	return line, 1 + utf8.RuneCount(seg)
}

// find returns the indexes of the members named key.
func (d *document) find(key string) []int {
	var idx []int
	for i, m := range d.members {
		if m.key == key {
			idx = append(idx, i)
		}
	}
	return idx
}

// lookup returns the single member named key, or -1 when absent; a key that
// appears more than once is an error, because dockerd reads only the last one
// and an edit of the other would silently do nothing.
func (d *document) lookup(key string) (int, error) {
	idx := d.find(key)
	switch len(idx) {
	case 0:
		return -1, nil
	case 1:
		return idx[0], nil
	}
	first, last := d.members[idx[0]], d.members[idx[len(idx)-1]]
	e := d.errorAt(&ParseError{Kind: ErrDuplicateKey, Key: key}, last.keyStart)
	l1, c1 := d.position(first.keyStart)
	e.Msg = fmt.Sprintf("the key appears %d times (first at line %d, column %d); dockerd uses only the last one, so this provider will not guess which one to change. Delete all but one of them and apply again", len(idx), l1, c1)
	return -1, e
}

// checkDuplicates refuses a document in which any of keys appears more than once.
func (d *document) checkDuplicates(keys []string) error {
	for _, k := range keys {
		if _, err := d.lookup(k); err != nil {
			return err
		}
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the offset just past the string token starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the offset just past the (valid) JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

func decodeString(tok []byte) (string, error) {
	if bytes.IndexByte(tok, '\\') < 0 {
		return string(tok[1 : len(tok)-1]), nil
	}
	var s string
	err := json.Unmarshal(tok, &s)
	return s, err
}

// describeValue names the JSON type of a valid raw value, quoting short scalars.
func describeValue(raw []byte) string {
	if len(raw) == 0 {
		return "empty"
	}
	quote := func(kind string) string {
		if len(raw) <= 40 {
			return fmt.Sprintf("%s (%s)", kind, raw)
		}
		return kind
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return quote("a string")
	case 't', 'f':
		return quote("a boolean")
	case 'n':
		return "null"
	}
	return quote("a number")
}
