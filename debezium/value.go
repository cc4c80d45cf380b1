package debezium

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/starsink/starsink/schema"
)

// PostgreSQL's ±infinity dates and timestamps as Debezium writes them
// (debezium-connector-postgres PostgresValueConverter, 2.6 to 3.x).
const (
	// MicroTimestamp (timestamp(4..6)): PGStatement.DATE_POSITIVE_INFINITY
	// and DATE_NEGATIVE_INFINITY read as µs.
	posInfinityTs = 9223372036825200000
	negInfinityTs = -9223372036832400000
	// Timestamp (timestamp(0..3)): the same instants in ms
	// (POSITIVE_INFINITY_LOCAL_DATE_TIME.toInstant().toEpochMilli()).
	posInfinityTsMs = 9223372036825200
	negInfinityTsMs = -9223372036832400
	// Date, streamed: the text "infinity" becomes
	// POSITIVE_INFINITY_LOCAL_DATE = LocalDate.parse("-5877611-06-21") (a
	// negative year: both sentinels lie below any real date) and
	// "-infinity" NEGATIVE_INFINITY_LOCAL_DATE = "-5877611-06-22"; the
	// connector writes their toEpochDay().
	posInfinityDays = -2147472692
	negInfinityDays = -2147472691
	// Date, snapshot: pgjdbc reads infinity as java.sql.Date(
	// DATE_POSITIVE_INFINITY) (and -infinity as DATE_NEGATIVE_INFINITY);
	// Date.toEpochDay casts toLocalDate().toEpochDay() to int. Computed with
	// Java 17 in a UTC JVM (another JVM zone may shift them by a day); any
	// other value beyond the range is refused all the same.
	posInfinityDaysJDBC = -622191234
	negInfinityDaysJDBC = -625821272
)

// StarRocks' DATE and DATETIME range (be/src/types/date_value.h,
// timestamp_value.h: 0000-01-01 .. 9999-12-31), what clamp loads.
const (
	maxDatetime = "9999-12-31 23:59:59.999999"
	minDatetime = "0000-01-01 00:00:00"
	minDays     = -719528 // 0000-01-01
	maxDays     = 2932896 // 9999-12-31
)

// OutOfRangeDates is what the decoder does with a date or timestamp that
// StarRocks cannot hold.
type OutOfRangeDates uint8

const (
	// DatesFail refuses the record (ErrRange): the default, since any
	// value loaded instead would not be the source's.
	DatesFail OutOfRangeDates = iota
	// DatesClamp loads the nearest end of StarRocks' range: 0000-01-01
	// [00:00:00] for BC dates and -infinity, 9999-12-31
	// [23:59:59.999999] for years beyond 9999 and infinity.
	DatesClamp
)

// ParseOutOfRangeDates reads "fail" or "clamp".
func ParseOutOfRangeDates(s string) (OutOfRangeDates, error) {
	switch s {
	case "", "fail":
		return DatesFail, nil
	case "clamp":
		return DatesClamp, nil
	}
	return DatesFail, fmt.Errorf("unknown out_of_range_dates %q (want fail or clamp)", s)
}

// outOfRange renders or refuses a date or timestamp beyond StarRocks'
// range; hi says beyond which end, what names the value when Debezium's
// number has a meaning of its own ("date 'infinity'").
func (d *Decoder) outOfRange(dst []byte, v gjson.Result, hi, dateOnly bool, what string, col *schema.Column) ([]byte, error) {
	bound := minDatetime
	switch {
	case hi && dateOnly:
		bound = "9999-12-31"
	case hi:
		bound = maxDatetime
	case dateOnly:
		bound = "0000-01-01"
	}
	if d.opts.OutOfRangeDates == DatesClamp {
		d.fitted = col != nil && (col.Kind == schema.KindDate || col.Kind == schema.KindDatetime)
		return append(append(append(dst, '"'), bound...), '"'), nil
	}
	typ := "a date"
	if col != nil {
		typ = col.Type
	}
	value := shown([]byte(v.Raw))
	if what != "" {
		value += " (" + what + ")"
	}
	return dst, &rangeError{typ: typ, value: value,
		reason: "outside StarRocks' range 0000-01-01 .. 9999-12-31; decoder.out_of_range_dates=clamp loads " + bound + " instead"}
}

// isoOutOfRange reports whether an ISO-8601 date or timestamp text lies
// beyond StarRocks' range, and beyond which end: a signed year
// (+10000-…, -0043-…, as java.time writes years beyond 9999 and BC) or
// PostgreSQL's infinity.
func isoOutOfRange(s string) (out, hi bool) {
	switch {
	case s == "infinity" || s == "+infinity":
		return true, true
	case s == "-infinity":
		return true, false
	case len(s) > 0 && s[0] == '+':
		return true, true
	case len(s) > 0 && s[0] == '-':
		return true, false
	}
	return false, false
}

// value appends one field value, canonical for the column col (nil: no
// target column, canonical for the Debezium type alone).
func (d *Decoder) value(dst []byte, v gjson.Result, s, elem sem, scale int, col *schema.Column) ([]byte, error) {
	if v.Type == gjson.Null {
		return append(dst, "null"...), nil
	}
	kind := schema.KindUnknown
	if col != nil {
		kind = col.Kind
	}
	if s == semNone {
		var err error
		if s, err = d.guess(v, col); err != nil {
			return dst, err
		}
		if s == semDecimal && col != nil {
			// a schemaless Decimal's scale is the column's: the bytes are
			// the unscaled value (decimal.handling.mode=precise)
			scale = col.Scale
		}
	}
	switch s {
	case semInt, semMicroDuration:
		if v.Type != gjson.Number {
			return dst, errType("want an integer, got %s", typeName(v))
		}
		if kind == schema.KindDecimal {
			return d.decimalText(dst, v.Raw, col)
		}
		if kind.IsText() {
			return append(append(append(dst, '"'), v.Raw...), '"'), nil
		}
		return append(dst, v.Raw...), nil
	case semFloat:
		switch v.Type {
		case gjson.Number:
			if kind == schema.KindDecimal {
				return d.decimalText(dst, v.Raw, col)
			}
			return append(dst, v.Raw...), nil
		case gjson.String:
			if v.Str == "NaN" || v.Str == "Infinity" || v.Str == "-Infinity" {
				if kind.IsText() {
					return append(dst, v.Raw...), nil
				}
				return dst, errType("%s cannot be stored in a StarRocks %s column; map the column to VARCHAR", v.Str, kindName(col))
			}
		}
		return dst, errType("want a number, got %s", typeName(v))
	case semBool:
		if v.Type != gjson.True && v.Type != gjson.False {
			return dst, errType("want a boolean, got %s", typeName(v))
		}
		d.fitted = kind == schema.KindBoolean
		return append(dst, v.Raw...), nil
	case semString, semZonedTime:
		if v.Type != gjson.String {
			if v.Type == gjson.Number && kind != schema.KindJSON {
				return append(dst, v.Raw...), nil
			}
			return dst, errType("want a string, got %s", typeName(v))
		}
		switch kind {
		case schema.KindDecimal:
			return d.decimalText(dst, v.Str, col)
		case schema.KindJSON:
			return appendJSONDoc(dst, v)
		case schema.KindDate, schema.KindDatetime:
			// ISO dates as text (time.precision.mode=isostring, 3.1+).
			if out, hi := isoOutOfRange(v.Str); out {
				return d.outOfRange(dst, v, hi, kind == schema.KindDate, "", col)
			}
		}
		return append(dst, v.Raw...), nil
	case semJSON:
		if v.Type != gjson.String {
			return dst, errType("want JSON text, got %s", typeName(v))
		}
		if kind == schema.KindJSON {
			return appendJSONDoc(dst, v)
		}
		return append(dst, v.Raw...), nil
	case semBytes, semBits:
		if v.Type != gjson.String {
			return dst, errType("want base64 bytes, got %s", typeName(v))
		}
		b, err := d.base64(v.Str)
		if err != nil {
			return dst, err
		}
		dst = append(dst, '"')
		if s == semBits {
			dst = appendBits(dst, b, scale)
		} else {
			dst = hex.AppendEncode(dst, b)
		}
		return append(dst, '"'), nil
	case semDecimal:
		switch v.Type {
		case gjson.String:
			b, err := d.base64(v.Str)
			if err != nil {
				return dst, err
			}
			return d.decimalBytes(dst, b, scale, col)
		case gjson.Number: // decimal.format=NUMERIC
			return d.decimalText(dst, v.Raw, col)
		}
		return dst, errType("want a Decimal (base64 string), got %s", typeName(v))
	case semVarDecimal:
		if !v.IsObject() {
			return dst, errType("want a VariableScaleDecimal {scale, value}, got %s", typeName(v))
		}
		sc, val := v.Get("scale"), v.Get("value")
		if sc.Type != gjson.Number || val.Type != gjson.String {
			return dst, errType("VariableScaleDecimal needs a numeric scale and a base64 value")
		}
		b, err := d.base64(val.Str)
		if err != nil {
			return dst, err
		}
		return d.decimalBytes(dst, b, int(sc.Int()), col)
	case semDate:
		if v.Type != gjson.Number {
			return dst, errType("want days since 1970-01-01, got %s", typeName(v))
		}
		days := v.Int()
		dateOnly := kind != schema.KindDatetime
		switch {
		case days == posInfinityDays || days == posInfinityDaysJDBC:
			return d.outOfRange(dst, v, true, dateOnly, "PostgreSQL date 'infinity'", col)
		case days == negInfinityDays || days == negInfinityDaysJDBC:
			return d.outOfRange(dst, v, false, dateOnly, "PostgreSQL date '-infinity'", col)
		case days < minDays || days > maxDays:
			return d.outOfRange(dst, v, days > maxDays, dateOnly, "", col)
		}
		dst = append(dst, '"')
		dst = time.Unix(days*86400, 0).UTC().AppendFormat(dst, "2006-01-02")
		d.fitted = kind == schema.KindDate || kind == schema.KindDatetime // in range, canonical
		return append(dst, '"'), nil
	case semTimeMs, semTimeUs, semTimeNs:
		if v.Type != gjson.Number {
			return dst, errType("want a time of day, got %s", typeName(v))
		}
		n := v.Int()
		switch s {
		case semTimeMs:
			n *= 1000
		case semTimeNs:
			n /= 1000
		}
		if n < 0 || n > 86400_000_000 {
			return dst, errType("time of day %s out of range", v.Raw)
		}
		return appendTimeOfDay(append(dst, '"'), n), nil
	case semTsMs, semTsUs, semTsNs:
		if v.Type != gjson.Number {
			return dst, errType("want a timestamp, got %s", typeName(v))
		}
		n := v.Int()
		dateOnly := kind == schema.KindDate
		switch {
		case s == semTsUs && n == posInfinityTs, s == semTsMs && n == posInfinityTsMs:
			return d.outOfRange(dst, v, true, dateOnly, "PostgreSQL timestamp 'infinity'", col)
		case s == semTsUs && n == negInfinityTs, s == semTsMs && n == negInfinityTsMs:
			return d.outOfRange(dst, v, false, dateOnly, "PostgreSQL timestamp '-infinity'", col)
		}
		var t time.Time
		switch s {
		case semTsMs:
			t = time.UnixMilli(n)
		case semTsUs:
			t = time.UnixMicro(n)
		default:
			t = time.Unix(0, n)
		}
		t = t.UTC()
		if y := t.Year(); y < 0 || y > 9999 {
			return d.outOfRange(dst, v, y > 9999, dateOnly, "", col)
		}
		d.fitted = kind == schema.KindDate || kind == schema.KindDatetime // in range, canonical
		return appendDatetime(dst, t, kind), nil
	case semZonedTs:
		if v.Type != gjson.String {
			return dst, errType("want an ISO-8601 timestamp, got %s", typeName(v))
		}
		if out, hi := isoOutOfRange(v.Str); out {
			what := ""
			if v.Str[len(v.Str)-1] == 'y' {
				what = "PostgreSQL timestamptz '" + v.Str + "'"
			}
			return d.outOfRange(dst, v, hi, kind == schema.KindDate, what, col)
		}
		t, err := time.Parse(time.RFC3339Nano, v.Str)
		if err != nil {
			return dst, errType("timestamp %q is not ISO-8601", v.Str)
		}
		if kind.IsText() {
			return append(dst, v.Raw...), nil
		}
		t = t.In(d.loc)
		if y := t.Year(); y < 0 || y > 9999 {
			return d.outOfRange(dst, v, y > 9999, kind == schema.KindDate, "", col)
		}
		d.fitted = kind == schema.KindDate || kind == schema.KindDatetime // in range, canonical
		return appendDatetime(dst, t, kind), nil
	case semArray:
		if !v.IsArray() {
			return dst, errType("want an array, got %s", typeName(v))
		}
		if kind.IsText() || kind == schema.KindJSON && elem == semNone {
			if kind.IsText() {
				return appendQuoted(dst, v.Raw), nil
			}
			return append(dst, v.Raw...), nil
		}
		dst = append(dst, '[')
		n := 0
		var err error
		v.ForEach(func(_, e gjson.Result) bool {
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst, err = d.value(dst, e, elemOrGuess(elem, e), semNone, scale, nil)
			return err == nil
		})
		if err != nil {
			return dst, err
		}
		return append(dst, ']'), nil
	case semStruct, semMap:
		if !v.IsObject() {
			return dst, errType("want an object, got %s", typeName(v))
		}
		if kind.IsText() {
			return appendQuoted(dst, v.Raw), nil
		}
		return append(dst, v.Raw...), nil
	}
	return dst, errType("unsupported value %s", typeName(v))
}

// elemOrGuess types an array element: by the schema's items, or by the
// element's JSON type when there is no schema.
func elemOrGuess(elem sem, e gjson.Result) sem {
	if elem != semNone {
		return elem
	}
	switch e.Type {
	case gjson.Number:
		return semInt
	case gjson.String:
		return semString
	case gjson.True, gjson.False:
		return semBool
	}
	if e.IsArray() {
		return semArray
	}
	return semStruct
}

// guess types a schemaless value by its target column.
func (d *Decoder) guess(v gjson.Result, col *schema.Column) (sem, error) {
	kind := schema.KindUnknown
	if col != nil {
		kind = col.Kind
	}
	switch kind {
	case schema.KindDecimal:
		switch {
		case v.Type == gjson.String && d.opts.DecimalHandling != "string":
			return semDecimal, nil
		case v.Type == gjson.String:
			return semString, nil
		case v.Type == gjson.Number:
			return semFloat, nil
		case v.IsObject():
			return semVarDecimal, nil
		}
	case schema.KindDate:
		if v.Type == gjson.Number {
			return semDate, nil
		}
	case schema.KindDatetime:
		switch v.Type {
		case gjson.Number:
			switch d.opts.SchemalessTimestamp {
			case "ms":
				return semTsMs, nil
			case "us":
				return semTsUs, nil
			case "ns":
				return semTsNs, nil
			}
			return semNone, errAmbiguous("an integer timestamp without a schema may be milliseconds or microseconds (it depends on the PostgreSQL column's precision); set decoder.schemaless_timestamp to ms, us or ns, or value.converter.schemas.enable=true on the connector")
		case gjson.String:
			if len(v.Str) > 10 && (v.Str[10] == 'T' || v.Str[len(v.Str)-1] == 'Z') || v.Str == "infinity" || v.Str == "-infinity" {
				return semZonedTs, nil
			}
			return semString, nil
		}
	case schema.KindJSON:
		if v.Type == gjson.String {
			return semJSON, nil
		}
	}
	switch v.Type {
	case gjson.Number:
		if kind == schema.KindFloat || kind == schema.KindDouble {
			return semFloat, nil
		}
		return semInt, nil
	case gjson.String:
		if kind == schema.KindFloat || kind == schema.KindDouble {
			return semFloat, nil
		}
		return semString, nil
	case gjson.True, gjson.False:
		return semBool, nil
	}
	if v.IsArray() {
		return semArray, nil
	}
	if v.IsObject() {
		return semStruct, nil
	}
	return semNone, errType("unsupported value %s", typeName(v))
}

func errAmbiguous(msg string) error {
	return &ambiguousError{msg: msg}
}

type ambiguousError struct{ msg string }

func (e *ambiguousError) Error() string { return ErrAmbiguous.Error() + ": " + e.msg }
func (e *ambiguousError) Unwrap() error { return ErrAmbiguous }

func kindName(col *schema.Column) string {
	if col == nil {
		return "numeric"
	}
	return col.Type
}

// base64 decodes s into the decoder's scratch buffer.
func (d *Decoder) base64(s string) ([]byte, error) {
	n := base64.StdEncoding.DecodedLen(len(s))
	if cap(d.scratch) < n {
		d.scratch = make([]byte, n)
	}
	b := d.scratch[:n]
	m, err := base64.StdEncoding.Decode(b, []byte(s))
	if err != nil {
		return nil, &wrapped{sentinel: ErrBase64, msg: err.Error()}
	}
	return b[:m], nil
}

type wrapped struct {
	sentinel error
	msg      string
}

func (e *wrapped) Error() string { return e.sentinel.Error() + ": " + e.msg }
func (e *wrapped) Unwrap() error { return e.sentinel }

// decimalBytes renders a big-endian two's-complement unscaled value.
func (d *Decoder) decimalBytes(dst []byte, b []byte, scale int, col *schema.Column) ([]byte, error) {
	if len(b) == 0 {
		return dst, errType("empty Decimal")
	}
	var digits [40]byte
	var ds []byte
	neg := b[0]&0x80 != 0
	if len(b) <= 8 {
		var x int64
		if neg {
			x = -1
		}
		for _, c := range b {
			x = x<<8 | int64(c)
		}
		u := uint64(x)
		if neg {
			u = uint64(-x) // two's complement magnitude, also right for MinInt64
		}
		ds = strconv.AppendUint(digits[:0], u, 10)
	} else {
		x := new(big.Int).SetBytes(b)
		if neg {
			x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
			x.Neg(x)
		}
		ds = x.Append(nil, 10)
	}
	return d.decimalDigits(dst, neg, ds, scale, col)
}

// decimalText renders decimal text ("-12.50", "1E+3") for col.
func (d *Decoder) decimalText(dst []byte, s string, col *schema.Column) ([]byte, error) {
	if s == "NAN" || s == "NaN" || s == "POSITIVE_INFINITY" || s == "NEGATIVE_INFINITY" || s == "Infinity" || s == "-Infinity" {
		return dst, errType("%s cannot be stored in a StarRocks DECIMAL column; map the column to VARCHAR", s)
	}
	var buf [48]byte
	ds := buf[:0]
	neg, scale, i := false, 0, 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	seenDot, any := false, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			ds = append(ds, c)
			any = true
			if seenDot {
				scale++
			}
		case c == '.' && !seenDot:
			seenDot = true
		case c == 'e' || c == 'E':
			exp, err := strconv.Atoi(s[i+1:])
			if err != nil {
				return dst, errType("%q is not a decimal number", s)
			}
			scale -= exp
			i = len(s)
		default:
			return dst, errType("%q is not a decimal number", s)
		}
	}
	if !any {
		return dst, errType("%q is not a decimal number", s)
	}
	return d.decimalDigits(dst, neg, ds, scale, col)
}

// decimalDigits renders |value| = digits × 10^-scale with the column's scale
// (or its own when the column is not a DECIMAL). Dropping non-zero digits is
// an error: starsink never rounds silently.
func (d *Decoder) decimalDigits(dst []byte, neg bool, digits []byte, scale int, col *schema.Column) ([]byte, error) {
	// PostgreSQL's numeric holds at most 131072 digits before the point
	// and 16383 after: a scale beyond those (a VariableScaleDecimal's or an
	// exponent's) is not a value Debezium writes, and would have the zeros
	// below appended by the billion.
	if scale < -131072 || scale > 16383+131072 {
		return dst, errType("decimal scale %d is beyond PostgreSQL's numeric", scale)
	}
	for scale < 0 { // VariableScaleDecimal of 100 is 1 × 10^2
		digits = append(digits, '0')
		scale++
	}
	target := scale
	asNumber := false
	if col != nil {
		switch {
		case col.Kind == schema.KindDecimal:
			target = col.Scale
		case col.Kind == schema.KindFloat || col.Kind == schema.KindDouble:
			asNumber = true
		case col.Kind.IsInteger():
			target, asNumber = 0, true
		}
	}
	for scale < target {
		digits = append(digits, '0')
		scale++
	}
	if scale > target {
		cut := len(digits) - (scale - target)
		for j := max(cut, 0); j < len(digits); j++ {
			if digits[j] != '0' {
				if col != nil {
					if col.Kind == schema.KindDecimal {
						return dst, roundErr(col, []byte(fmtDecimal(neg, digits, scale)))
					}
					return dst, rangeErr(col, []byte(fmtDecimal(neg, digits, scale)), "a fraction into an integer column")
				}
				return dst, errType("%s has more than %d fraction digits", fmtDecimal(neg, digits, scale), target)
			}
		}
		if cut < 0 {
			cut = 0
		}
		digits = digits[:cut]
		scale = target
	}
	// Strip leading zeros of the integer part.
	for len(digits) > scale+1 && digits[0] == '0' {
		digits = digits[1:]
	}
	if col != nil && col.Kind == schema.KindDecimal {
		intDigits := len(digits) - scale
		if intDigits == 1 && digits[0] == '0' {
			intDigits = 0
		}
		if intDigits > col.Precision-col.Scale {
			return dst, rangeErr(col, []byte(fmtDecimal(neg, digits, scale)),
				fmt.Sprintf("%d integer digits, the column holds %d", intDigits, col.Precision-col.Scale))
		}
		d.fitted = true
	}
	zero := true
	for _, c := range digits {
		if c != '0' {
			zero = false
			break
		}
	}
	if !asNumber {
		dst = append(dst, '"')
	}
	if neg && !zero {
		dst = append(dst, '-')
	}
	if len(digits) <= scale {
		dst = append(dst, '0')
		if scale > 0 {
			dst = append(dst, '.')
			for k := len(digits); k < scale; k++ {
				dst = append(dst, '0')
			}
			dst = append(dst, digits...)
		}
	} else {
		dst = append(dst, digits[:len(digits)-scale]...)
		if scale > 0 {
			dst = append(dst, '.')
			dst = append(dst, digits[len(digits)-scale:]...)
		}
	}
	if !asNumber {
		dst = append(dst, '"')
	}
	return dst, nil
}

func fmtDecimal(neg bool, digits []byte, scale int) string {
	s := string(digits)
	if scale > 0 && scale < len(s) {
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// appendTimeOfDay appends µs after midnight as HH:MM:SS[.ffffff] and the
// closing quote.
func appendTimeOfDay(dst []byte, us int64) []byte {
	sec := us / 1_000_000
	frac := us % 1_000_000
	dst = append2(dst, sec/3600)
	dst = append(dst, ':')
	dst = append2(dst, sec/60%60)
	dst = append(dst, ':')
	dst = append2(dst, sec%60)
	if frac != 0 {
		dst = append(dst, '.')
		var f [6]byte
		for k := 5; k >= 0; k-- {
			f[k] = byte('0' + frac%10)
			frac /= 10
		}
		dst = append(dst, f[:]...)
	}
	return append(dst, '"')
}

func append2(dst []byte, n int64) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// appendDatetime appends t as a quoted StarRocks DATETIME (µs precision) or
// DATE when the column is a DATE.
// The caller has checked that its year is in 0..9999.
func appendDatetime(dst []byte, t time.Time, kind schema.Kind) []byte {
	dst = append(dst, '"')
	switch {
	case kind == schema.KindDate:
		dst = t.AppendFormat(dst, "2006-01-02")
	case t.Nanosecond()/1000 != 0:
		dst = t.AppendFormat(dst, "2006-01-02 15:04:05.000000")
	default:
		dst = t.AppendFormat(dst, "2006-01-02 15:04:05")
	}
	return append(dst, '"')
}

// appendJSONDoc appends the JSON document held in the string v.
func appendJSONDoc(dst []byte, v gjson.Result) ([]byte, error) {
	doc := v.Str
	if !gjson.Valid(doc) {
		return dst, errType("text is not a JSON document")
	}
	return append(dst, doc...), nil
}

// appendQuoted appends raw JSON text as a JSON string.
func appendQuoted(dst []byte, raw string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, raw)
	return append(dst, '"')
}

// appendBits renders io.debezium.data.Bits (little-endian bytes) as a bit
// string, most significant bit first; n is the bit length (0: 8 × bytes).
func appendBits(dst []byte, b []byte, n int) []byte {
	if n <= 0 || n > 8*len(b) {
		n = 8 * len(b)
	}
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, '0'+(b[i/8]>>(uint(i)%8))&1)
	}
	return dst
}
