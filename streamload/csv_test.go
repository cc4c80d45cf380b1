package streamload

import (
	"strings"
	"testing"
)

func TestAppendCSVField(t *testing.T) {
	tests := []struct {
		name, in, sep, delim, want string
	}{
		{"plain", "abc", "", "", "abc"},
		{"tab", "a\tb", "", "", "a\\\tb"},
		{"newline", "a\nb", "", "", "a\\\nb"},
		{"carriage return", "a\rb", ",", "\n", "a\\\rb"},
		{"backslash", `a\b`, "", "", `a\\b`},
		{"literal \\N stays a value", `\N`, "", "", `\\N`},
		{"multi-byte separator", "a||b|c", "||", "\n", "a\\||b|c"},
		{"custom delimiter", "x\x02y", "\x01", "\x02", "x\\\x02y"},
		{"empty", "", ",", "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendCSVField(nil, []byte(tt.in), tt.sep, tt.delim)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAppendCSVRow(t *testing.T) {
	got := string(AppendCSVRow([]byte("x\n"), [][]byte{[]byte("1"), nil, []byte("a,b"), {}}, ",", "\n"))
	if want := "x\n1,\\N,a\\,b,\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestHexEscape(t *testing.T) {
	for in, want := range map[string]string{",": ",", "\t": `\x09`, "\x01": `\x01`, "|\n": `|\x0a`} {
		if got := hexEscape(in); got != want {
			t.Errorf("hexEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// unescapeCSVField reverses AppendCSVField for one field and reports
// whether the escaped form held a bare separator or delimiter.
func unescapeCSVField(b []byte, sep, delim string) (out []byte, bare bool) {
	for i := 0; i < len(b); {
		switch {
		case b[i] == '\\' && i+1 < len(b):
			i++
			if hasPrefixAt(b, i, sep) {
				out = append(out, sep...)
				i += len(sep)
			} else if hasPrefixAt(b, i, delim) {
				out = append(out, delim...)
				i += len(delim)
			} else {
				out = append(out, b[i])
				i++
			}
		case hasPrefixAt(b, i, sep) || hasPrefixAt(b, i, delim):
			return out, true
		default:
			out = append(out, b[i])
			i++
		}
	}
	return out, false
}

func FuzzAppendCSVField(f *testing.F) {
	f.Add([]byte("a,b\nc\\d"), ",", "\n")
	f.Add([]byte("x||y"), "||", "\x02")
	f.Fuzz(func(t *testing.T, v []byte, sep, delim string) {
		if sep == "" || delim == "" || sep == delim || len(sep) > 4 || len(delim) > 4 ||
			strings.Contains(sep, `\`) || strings.Contains(delim, `\`) || hasPrefixAt([]byte(sep), 0, delim) || hasPrefixAt([]byte(delim), 0, sep) {
			t.Skip()
		}
		enc := AppendCSVField(nil, v, sep, delim)
		dec, bare := unescapeCSVField(enc, sep, delim)
		if bare {
			t.Fatalf("escaped %q holds a bare separator or delimiter: %q", v, enc)
		}
		if string(dec) != string(v) {
			t.Fatalf("round trip %q → %q → %q", v, enc, dec)
		}
	})
}
