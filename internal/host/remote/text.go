package remote

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// escapeText makes host-supplied text safe to show on the workstation:
// control characters (but newline and tab), format characters such as the
// bidirectional overrides, and bytes that are not UTF-8 become escapes
// (\x1b, \u202e, \xff), so that a host cannot move the cursor, rewrite a
// line or recolour the terminal of the operator who reads a diagnostic.
func escapeText(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case safeRune(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !safeRune(r) {
			return true
		}
		i += size
	}
	return false
}

func safeRune(r rune) bool {
	return r == '\n' || r == '\t' || r == ' ' || unicode.IsPrint(r)
}

// escapeStrings escapes, in place, every string that v (a pointer) holds:
// in its fields, slices and maps, keys too. Bytes ([]byte, raw JSON) are
// data, not text, and stay as they are.
func escapeStrings(v any) {
	escapeValue(reflect.ValueOf(v))
}

func escapeValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); v.CanSet() && needsEscape(s) {
			v.SetString(escapeText(s))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			escapeValue(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				escapeValue(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range v.Len() {
			escapeValue(v.Index(i))
		}
	case reflect.Map:
		escapeMap(v)
	}
}

func escapeMap(m reflect.Value) {
	if m.IsNil() {
		return
	}
	for _, k := range m.MapKeys() {
		key := reflect.New(k.Type()).Elem()
		key.Set(k)
		escapeValue(key)
		val := reflect.New(m.Type().Elem()).Elem()
		val.Set(m.MapIndex(k))
		escapeValue(val)
		if !key.Equal(k) {
			m.SetMapIndex(k, reflect.Value{})
		}
		m.SetMapIndex(key, val)
	}
}
