package emulator

import (
	"fmt"
	"strings"
	"testing"
)

func TestCanonicalDecimal(t *testing.T) {
	tests := []struct {
		in         string
		prec, sc   int
		want, errs string
	}{
		{in: "1234", prec: 13, sc: 0, want: "1234"},
		{in: "007", prec: 13, sc: 0, want: "7"},
		{in: "-0", prec: 13, sc: 0, want: "0"},
		{in: "-0.00", prec: 5, sc: 2, want: "0.00"},
		{in: "1.5", prec: 5, sc: 2, want: "1.50"},
		{in: "-1.5", prec: 5, sc: 2, want: "-1.50"},
		{in: "0.05", prec: 3, sc: 2, want: "0.05"},
		{in: " 42 ", prec: 3, sc: 0, want: "42"},
		{in: "1.005", prec: 5, sc: 2, want: "1.01"}, // rounds half up, by big.Rat
		{in: "1e3", prec: 5, sc: 0, want: "1000"},
		{in: "1234", prec: 5, sc: 2, errs: "does not fit DECIMAL(5,2)"},
		{in: "9999999999999", prec: 13, sc: 0, want: "9999999999999"},
		{in: "10000000000000", prec: 13, sc: 0, errs: "does not fit"},
		{in: "abc", prec: 5, sc: 0, errs: "is not a decimal"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := canonicalDecimal(tt.in, tt.prec, tt.sc)
			if tt.errs != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errs) {
					t.Fatalf("got %q, %v; want error %q", got, err, tt.errs)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// FuzzPlainDecimal checks the fast path against big.Rat: wherever
// plainDecimal answers, ratDecimal must answer the same.
func FuzzPlainDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0", "007", "1.5", "-12.340", "99999", "1.", ".5", "+1", "1e2", "0.000"} {
		f.Add(s, uint8(13), uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, p, sc uint8) {
		prec, scale := int(p%39)+1, 0
		if prec > 0 {
			scale = int(sc) % (prec + 1)
		}
		fast, ok, ferr := plainDecimal(s, prec, scale)
		if !ok {
			return
		}
		slow, serr := ratDecimal(s, prec, scale)
		if fmt.Sprint(ferr == nil) != fmt.Sprint(serr == nil) || fast != slow && ferr == nil {
			t.Fatalf("%q DECIMAL(%d,%d): plain %q, %v; big.Rat %q, %v", s, prec, scale, fast, ferr, slow, serr)
		}
	})
}
