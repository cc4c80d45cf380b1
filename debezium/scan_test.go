package debezium

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestValidJSON pins the scanner's verdicts on the JSON grammar's corners.
func TestValidJSON(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{}`, true}, {` [ ] `, true}, {`{"a":[1,-0.5e+3,"x\u00e9\n",true,false,null,{}]}`, true},
		{`0`, true}, {`-0`, true}, {`1E9`, true}, {`"\/"`, true},
		{``, false}, {` `, false}, {`{`, false}, {`[1,]`, false}, {`{"a":1,}`, false}, {`{"a" 1}`, false},
		{`{1:2}`, false}, {`01`, false}, {`1.`, false}, {`.5`, false}, {`-`, false}, {`1e`, false},
		{`"a`, false}, {"\"\x01\"", false}, {`"\x"`, false}, {`"\u12g4"`, false}, {`tru`, false},
		{`nul`, false}, {`{} {}`, false}, {`[1 2]`, false}, {`{"a":1]`, false}, {`[}`, false},
	}
	var st []byte
	for _, tt := range tests {
		if got := validJSON(tt.in, &st); got != tt.want {
			t.Errorf("validJSON(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if g := gjson.Valid(tt.in); g != tt.want {
			t.Errorf("gjson.Valid(%q) = %v, want %v: the scanner must agree with gjson", tt.in, g, tt.want)
		}
	}
}

// FuzzScanValue checks that the scanner accepts exactly what gjson.Valid
// accepts, and that a value it accepts ends where gjson says.
func FuzzScanValue(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(`[{"a":"\u00e9"},-1.5e-3,true,null]`)
	var st []byte
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validJSON(s, &st), gjson.Valid(s); got != want {
			t.Fatalf("validJSON(%q) = %v, gjson.Valid = %v", s, got, want)
		}
		if end, ok := scanValue(s, 0, &st); ok && gjson.Valid(s[:end]) {
			if r := gjson.Parse(s[:end]); len(r.Raw) != len(s[:end])-(len(s[:end])-len(trimLeft(s[:end]))) {
				t.Fatalf("value %q ends at %d, gjson reads %q", s, end, r.Raw)
			}
		}
	})
}

func trimLeft(s string) string { return s[skipWS(s, 0):] }

// TestCachedSchema decodes a message with a schema, then variations of it
// with the decoder's schema cache warm: a schema skipped by comparison must
// leave validation and typing exactly as a cold decoder does them.
func TestCachedSchema(t *testing.T) {
	first := string(fixture(t, "insert.value.json"))
	payloadAt := strings.Index(first, `,"payload":`)
	schemaPart, payloadPart := first[:payloadAt], first[payloadAt:]
	tests := []struct {
		name  string
		value string
		err   error // nil: must decode as a cold decoder does
	}{
		{"same message", first, nil},
		{"same schema, broken payload", schemaPart + `,"payload":{"before":null,"after":{"use_date":}}`, ErrSyntax},
		{"trailing garbage", first + `x`, ErrSyntax},
		{"unterminated", first[:len(first)-1], ErrSyntax},
		{"schema longer than the cached one", strings.Replace(schemaPart, `"optional":false`, `"optional":false ,"doc":"x"`, 1) + payloadPart, nil},
		{"schema changed in place", strings.Replace(schemaPart, `"pass_in"`, `"pass_xx"`, 1) + payloadPart, nil},
		{"second schema member wins", schemaPart + `,"schema":{"type":"struct","fields":[]}` + payloadPart, nil},
		{"whitespace around members", strings.Replace(first, `"payload":`, "\n \"payload\" :\t", 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warm := NewDecoder(subwayPassengers(), Options{OpColumn: true})
			if _, _, err := warm.Decode(&Record{Topic: "p.s.t", Value: []byte(first)}, nil); err != nil {
				t.Fatal(err)
			}
			rec := &Record{Topic: "p.s.t", Value: []byte(tt.value)}
			got, gotEv, gotErr := warm.Decode(rec, nil)
			want, wantEv, wantErr := NewDecoder(subwayPassengers(), Options{OpColumn: true}).Decode(rec, nil)
			if tt.err != nil && !errors.Is(gotErr, tt.err) {
				t.Fatalf("error %v, want %v", gotErr, tt.err)
			}
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || string(got) != string(want) || gotEv.Op != wantEv.Op || gotEv.LSN != wantEv.LSN {
				t.Fatalf("warm decoder: %s %+v %v; cold decoder: %s %+v %v", got, gotEv, gotErr, want, wantEv, wantErr)
			}
		})
	}
}

// FuzzScanMembers checks that the members the scanner notes of a valid
// object are, key for key and value for value, what gjson's ForEach gives:
// render reads them instead of parsing the row again.
func FuzzScanMembers(f *testing.F) {
	f.Add(`{"a":1,"b":"x\"y","c":[1,{"d":null}],"\u0065":-0,"f":1.5e3,"g":true,"h":false,"a":12345678901234567890}`)
	f.Add(`{ "k" : "v" , "n" : -9007199254740993 }`)
	f.Add(`{}`)
	var st []byte
	var ms []member
	f.Fuzz(func(t *testing.T, s string) {
		i := skipWS(s, 0)
		if !gjson.Valid(s) || !gjson.Parse(s).IsObject() {
			return
		}
		ms = ms[:0]
		if _, ok := scanMembers(s, i, &ms, &st); !ok {
			t.Fatalf("scanMembers(%q) failed on a valid object", s)
		}
		n := 0
		gjson.Parse(s).ForEach(func(k, v gjson.Result) bool {
			if n >= len(ms) {
				t.Fatalf("%q: gjson has more than %d members", s, len(ms))
			}
			m := ms[n]
			got := m.result()
			if m.key != k.Str || got.Type != v.Type || got.Raw != v.Raw || got.Str != v.Str || math.Float64bits(got.Num) != math.Float64bits(v.Num) {
				t.Fatalf("%q member %d: scanner %q=%+v, gjson %q=%+v", s, n, m.key, got, k.Str, v)
			}
			n++
			return true
		})
		if n != len(ms) {
			t.Fatalf("%q: scanner noted %d members, gjson %d", s, len(ms), n)
		}
	})
}
