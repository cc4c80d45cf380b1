package debezium

// Checks that a rendered value fits its StarRocks column. A Stream Load
// without strict_mode stores NULL in place of a value that does not fit (a
// string longer than a VARCHAR, a number beyond a column's range, a date it
// cannot parse) and counts nothing as filtered, so the row is loaded with
// the value silently lost. starsink refuses the record instead, naming the
// field, the column type and the value.
//
// The checks read the bytes value() has just appended, so they cost a pass
// over those bytes and no allocation: a byte length is a len() (an
// IndexByte when the string may hold escapes), an integer or a decimal a
// count of its digits.

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/starsink/starsink/schema"
)

// maxStringBytes is the length of a STRING column: StarRocks' STRING is
// VARCHAR(65533).
const maxStringBytes = 65533

// Integer bounds per kind, as digits: the largest magnitude of a positive
// and of a negative value.
var intBounds = [...]struct{ pos, neg string }{
	schema.KindTinyInt:  {"127", "128"},
	schema.KindSmallInt: {"32767", "32768"},
	schema.KindInt:      {"2147483647", "2147483648"},
	schema.KindBigInt:   {"9223372036854775807", "9223372036854775808"},
	schema.KindLargeInt: {"170141183460469231731687303715884105727", "170141183460469231731687303715884105728"},
}

// fits checks the rendered value v (JSON) against col. It returns nil or
// an error wrapping ErrRange.
func fits(v []byte, col *schema.Column) error {
	if len(v) == 0 || v[0] == 'n' { // null
		return nil
	}
	switch k := col.Kind; {
	case k.IsText():
		limit := col.Length
		if limit <= 0 && k == schema.KindString {
			limit = maxStringBytes
		}
		if limit <= 0 {
			return nil
		}
		if n := textLen(v); n > limit {
			return rangeErr(col, v, fmt.Sprintf("%d bytes, the column holds %d", n, limit))
		}
	case k.IsInteger():
		return fitsInt(v, col)
	case k == schema.KindDecimal:
		return fitsDecimal(v, col)
	case k == schema.KindBoolean:
		switch string(unquote(v)) {
		case "true", "false", "0", "1":
			return nil
		}
		return rangeErr(col, v, "not a boolean")
	case k == schema.KindDate, k == schema.KindDatetime:
		return fitsDate(v, col)
	}
	return nil
}

// unquote strips the quotes of a JSON string (whose inside is then used as
// it is: the callers look for digits and signs only).
func unquote(v []byte) []byte {
	if len(v) >= 2 && v[0] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// textLen is the length in bytes of the text a rendered value stores in a
// character column: a JSON string's unescaped bytes, or the literal of a
// number; true and false are stored as 1 and 0.
func textLen(v []byte) int {
	if v[0] != '"' || len(v) < 2 {
		if v[0] == 't' || v[0] == 'f' {
			return 1
		}
		return len(v)
	}
	in := v[1 : len(v)-1]
	i := bytes.IndexByte(in, '\\')
	if i < 0 {
		return len(in)
	}
	n := i
	for i < len(in) {
		c := in[i]
		if c != '\\' {
			n++
			i++
			continue
		}
		if i+1 >= len(in) {
			return n + 1
		}
		if in[i+1] != 'u' || i+6 > len(in) {
			n++ // \n, \", \\, …
			i += 2
			continue
		}
		r := hex4(in[i+2 : i+6])
		i += 6
		if r >= 0xd800 && r < 0xdc00 && i+6 <= len(in) && in[i] == '\\' && in[i+1] == 'u' {
			if lo := hex4(in[i+2 : i+6]); lo >= 0xdc00 && lo < 0xe000 {
				n += 4 // a surrogate pair: one 4-byte character
				i += 6
				continue
			}
		}
		if r >= 0xd800 && r < 0xe000 {
			n += 3 // a lone surrogate becomes U+FFFD
			continue
		}
		n += utf8.RuneLen(r)
	}
	return n
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// fitsInt checks an integer literal against its column's range.
func fitsInt(v []byte, col *schema.Column) error {
	s := unquote(v)
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 {
		return rangeErr(col, v, "not an integer")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return rangeErr(col, v, "not an integer")
		}
	}
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	b := intBounds[col.Kind]
	bound := b.pos
	if neg {
		bound = b.neg
	}
	if len(s) > len(bound) || len(s) == len(bound) && string(s) > bound {
		return rangeErr(col, v, "beyond the column's range")
	}
	return nil
}

// fitsDecimal checks a decimal literal against DECIMAL(p,s): at most p-s
// integer digits, and no non-zero digit beyond the scale (StarRocks would
// round it).
func fitsDecimal(v []byte, col *schema.Column) error {
	s := unquote(v)
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	intPart, frac := s, []byte(nil)
	if i := bytes.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
	}
	if len(intPart) == 0 && len(frac) == 0 {
		return rangeErr(col, v, "not a decimal number")
	}
	for _, c := range intPart {
		if c < '0' || c > '9' {
			return rangeErr(col, v, "not a decimal number")
		}
	}
	for len(intPart) > 0 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	if len(intPart) > col.Precision-col.Scale {
		return rangeErr(col, v, fmt.Sprintf("%d integer digits, the column holds %d", len(intPart), col.Precision-col.Scale))
	}
	for i, c := range frac {
		if c < '0' || c > '9' {
			return rangeErr(col, v, "not a decimal number")
		}
		if i >= col.Scale && c != '0' {
			return roundErr(col, v)
		}
	}
	return nil
}

// fitsDate checks that a DATE or DATETIME value is a date StarRocks can
// read in its range 0000-01-01 .. 9999-12-31: "YYYY-MM-DD", then for
// DATETIME an optional " HH:MM:SS[.ffffff]".
func fitsDate(v []byte, col *schema.Column) error {
	if v[0] != '"' || len(v) < 2 {
		return rangeErr(col, v, "not a date")
	}
	s := unquote(v)
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		return rangeErr(col, v, "outside StarRocks' range 0000-01-01 .. 9999-12-31")
	}
	if len(s) < 10 || s[4] != '-' || s[7] != '-' || !digits(s[0:4]) || !digits(s[5:7]) || !digits(s[8:10]) {
		return rangeErr(col, v, "not a date (want YYYY-MM-DD)")
	}
	y, m, d := num(s[0:4]), num(s[5:7]), num(s[8:10])
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return rangeErr(col, v, "not a date of the calendar")
	}
	t := s[10:]
	if len(t) == 0 {
		return nil
	}
	if t[0] != ' ' && t[0] != 'T' || len(t) < 9 || t[3] != ':' || t[6] != ':' ||
		!digits(t[1:3]) || !digits(t[4:6]) || !digits(t[7:9]) || num(t[1:3]) > 23 || num(t[4:6]) > 59 || num(t[7:9]) > 59 {
		return rangeErr(col, v, "not a date and time (want YYYY-MM-DD HH:MM:SS[.ffffff])")
	}
	if f := t[9:]; len(f) > 0 && (f[0] != '.' || len(f) < 2 || len(f) > 7 || !digits(f[1:])) {
		return rangeErr(col, v, "not a date and time (want YYYY-MM-DD HH:MM:SS[.ffffff])")
	}
	return nil
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func num(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// rangeError is a value that does not fit its column.
type rangeError struct {
	typ    string // the column's type
	value  string // the rendered value, cut to about 64 bytes
	reason string
}

func (e *rangeError) Error() string {
	return fmt.Sprintf("%v: %s into %s: %s", ErrRange, e.value, e.typ, e.reason)
}

func (e *rangeError) Unwrap() error { return ErrRange }

// maxShown is how much of a refused value an error quotes.
const maxShown = 64

func rangeErr(col *schema.Column, v []byte, reason string) error {
	return &rangeError{typ: col.Type, value: shown(v), reason: reason + "; StarRocks would store NULL"}
}

// roundErr is a decimal with non-zero digits beyond its column's scale.
func roundErr(col *schema.Column, v []byte) error {
	return &rangeError{typ: col.Type, value: shown(v), reason: fmt.Sprintf("more than %d fraction digits; StarRocks would round it", col.Scale)}
}

// shown cuts v to about maxShown bytes at a character boundary.
func shown(v []byte) string {
	if len(v) <= maxShown {
		return string(v)
	}
	cut := maxShown
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", v[:cut], len(v))
}
