package streamload

import "testing"

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
