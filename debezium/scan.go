package debezium

// A validating JSON scanner for the one job gjson has no call for: find where
// a value ends while checking that it is valid, in one pass. Decode uses it
// to validate a message while it walks the top level ({"schema":…,
// "payload":…}) and the envelope's members, noting the row's members on the
// way, and to skip a schema it has already seen by comparing bytes instead
// of parsing them; render then reads the noted members, and gjson only the
// insides of structured values. It accepts exactly what gjson.Valid accepts
// (FuzzScanValue checks that) and notes the members gjson's ForEach would
// give (FuzzScanMembers).

import (
	"math"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString validates the string whose opening quote is s[i] and returns
// the index just past its closing quote, and whether it holds escapes.
func scanString(s string, i int) (end int, escaped, ok bool) {
	for i++; i < len(s); i++ {
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		switch c := s[i]; {
		case c == '"':
			return i + 1, escaped, true
		case c < ' ':
			return i, escaped, false
		case c == '\\':
			escaped = true
			i++
			if i >= len(s) {
				return i, escaped, false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) {
					return i, escaped, false
				}
				i += 4
			default:
				return i, escaped, false
			}
		}
	}
	return i, escaped, false
}

// plain marks the bytes a JSON string holds as they are.
var plain = func() (t [256]bool) {
	for c := ' '; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber validates the JSON number starting at s[i].
func scanNumber(s string, i int) (int, bool) {
	if s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s) || !isDigit(s[i]):
		return i, false
	case s[i] == '0':
		i++
	default:
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return i, false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return i, false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i, true
}

// scanKey validates an object key and the colon after it, starting at the
// key's opening quote, and returns the index of the member's value.
func scanKey(s string, i int) (int, bool) {
	if i >= len(s) || s[i] != '"' {
		return i, false
	}
	i, _, ok := scanString(s, i)
	if !ok {
		return i, false
	}
	i = skipWS(s, i)
	if i >= len(s) || s[i] != ':' {
		return i, false
	}
	return skipWS(s, i+1), true
}

// scanValue validates the JSON value starting at s[i] (leading whitespace
// allowed) and returns the index just past it. Nesting is tracked in *stack
// (reused between calls), not by recursion, so depth costs no Go stack.
func scanValue(s string, i int, stack *[]byte) (int, bool) {
	st := (*stack)[:0]
	defer func() { *stack = st[:0] }()
	var ok bool
	for {
		// A value starts at s[i].
		i = skipWS(s, i)
		if i >= len(s) {
			return i, false
		}
		switch c := s[i]; c {
		case '{', '[':
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			i = skipWS(s, i+1)
			if i < len(s) && s[i] == closer {
				i++
				break // an empty container is a complete value
			}
			st = append(st, closer)
			if closer == '}' {
				if i, ok = scanKey(s, i); !ok {
					return i, false
				}
			}
			continue // its first member's value
		case '"':
			if i, _, ok = scanString(s, i); !ok {
				return i, false
			}
		case 't':
			if len(s)-i < 4 || s[i:i+4] != "true" {
				return i, false
			}
			i += 4
		case 'f':
			if len(s)-i < 5 || s[i:i+5] != "false" {
				return i, false
			}
			i += 5
		case 'n':
			if len(s)-i < 4 || s[i:i+4] != "null" {
				return i, false
			}
			i += 4
		default:
			if c != '-' && !isDigit(c) {
				return i, false
			}
			if i, ok = scanNumber(s, i); !ok {
				return i, false
			}
		}
		// A value ended: close containers until one has another member.
		for {
			if len(st) == 0 {
				return i, true
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return i, false
			}
			top := st[len(st)-1]
			if s[i] == top {
				st = st[:len(st)-1]
				i++
				continue
			}
			if s[i] != ',' {
				return i, false
			}
			i = skipWS(s, i+1)
			if top == '}' {
				if i, ok = scanKey(s, i); !ok {
					return i, false
				}
			}
			break
		}
	}
}

// validJSON reports whether s is one JSON value with optional whitespace
// around it, as gjson.Valid does.
func validJSON(s string, stack *[]byte) bool {
	i, ok := scanValue(s, 0, stack)
	return ok && skipWS(s, i) == len(s)
}

// scanObject validates the object whose '{' is s[i] and returns the index
// just past its '}'. For each member it calls value with the member's key
// (unescaped) and the index where its value starts; value returns the index
// just past that value, having validated it, and false if it is not valid.
func scanObject(s string, i int, value func(key string, vs int) (int, bool)) (int, bool) {
	if i = skipWS(s, i+1); i < len(s) && s[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return i, false
		}
		ke, escaped, ok := scanString(s, i)
		if !ok {
			return i, false
		}
		key := s[i+1 : ke-1]
		if escaped {
			key = gjson.Parse(s[i:ke]).Str
		}
		if i = skipWS(s, ke); i >= len(s) || s[i] != ':' {
			return i, false
		}
		if i, ok = value(key, skipWS(s, i+1)); !ok {
			return i, false
		}
		if i = skipWS(s, i); i < len(s) && s[i] == ',' {
			i = skipWS(s, i+1)
			continue
		}
		if i >= len(s) || s[i] != '}' {
			return i, false
		}
		return i + 1, true
	}
}

// intOf reads a validated JSON value as gjson's Int would (0 when "").
func intOf(v string) int64 {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n
	}
	return gjson.Parse(v).Int()
}

// member is one member of a row object, noted by the scanner while it
// validates the message, so that rendering does not parse the row again.
type member struct {
	key string // unescaped
	val string // the value's raw JSON
	esc bool   // val is a string holding escapes
}

// scanMember validates the value starting at s[i] and returns the index just
// past it and whether it is a string holding escapes.
func scanMember(s string, i int, stack *[]byte) (end int, esc, ok bool) {
	if i >= len(s) {
		return i, false, false
	}
	// Scalars directly: most members are, and scanValue's set-up for
	// nesting is the larger part of a short number's cost.
	switch c := s[i]; {
	case c == '"':
		return scanString(s, i)
	case c == '-' || isDigit(c):
		end, ok = scanNumber(s, i)
		return end, false, ok
	case c == 'n':
		return i + 4, false, len(s)-i >= 4 && s[i:i+4] == "null"
	case c == 't':
		return i + 4, false, len(s)-i >= 4 && s[i:i+4] == "true"
	case c == 'f':
		return i + 5, false, len(s)-i >= 5 && s[i:i+5] == "false"
	}
	end, ok = scanValue(s, i, stack)
	return end, false, ok
}

// scanMembers validates the object whose '{' is s[i], appends its members
// to ms and returns the index just past its '}'.
func scanMembers(s string, i int, ms *[]member, stack *[]byte) (int, bool) {
	return scanObject(s, i, func(key string, vs int) (int, bool) {
		end, esc, ok := scanMember(s, vs, stack)
		if ok {
			*ms = append(*ms, member{key: key, val: s[vs:end], esc: esc})
		}
		return end, ok
	})
}

// result is the member's value as gjson's ForEach gives it.
func (m *member) result() gjson.Result {
	v := m.val
	switch v[0] {
	case '"':
		if m.esc {
			return gjson.Parse(v)
		}
		return gjson.Result{Type: gjson.String, Raw: v, Str: v[1 : len(v)-1]}
	case 't':
		return gjson.Result{Type: gjson.True, Raw: v}
	case 'f':
		return gjson.Result{Type: gjson.False, Raw: v}
	case 'n':
		return gjson.Result{Type: gjson.Null, Raw: v}
	case '{', '[':
		return gjson.Result{Type: gjson.JSON, Raw: v}
	}
	return gjson.Result{Type: gjson.Number, Raw: v, Num: numberOf(v)}
}

// resultOf is the validated JSON value v as gjson.Parse gives it, without
// Parse's second walk of a string to find its end (the scanner found it).
func resultOf(v string) gjson.Result {
	m := member{val: v, esc: v[0] == '"' && strings.IndexByte(v, '\\') >= 0}
	return m.result()
}

// numberOf is the float64 value of a validated JSON number, as
// strconv.ParseFloat gives it, without the call for short integers (exact in
// a float64 up to 15 digits).
func numberOf(v string) float64 {
	i, neg := 0, false
	if v[0] == '-' {
		i, neg = 1, true
	}
	if len(v)-i > 15 {
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	var n int64
	for ; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		if n == 0 {
			return math.Copysign(0, -1)
		}
		return float64(-n)
	}
	return float64(n)
}
