package ddl

import (
	"fmt"
	"strings"

	"github.com/starsink/starsink/schema"
)

// stringLength is STRING's length: StarRocks' STRING is VARCHAR(65533).
const stringLength = 65533

// textBytes is the longest text, in bytes, the decoder renders for a value
// of src's type (a VARCHAR target receives it as text).
func textBytes(src Mapped) int {
	switch k := src.Kind; {
	case k.IsText():
		return src.Length
	case k == schema.KindBoolean:
		return 5
	case k == schema.KindTinyInt:
		return 4
	case k == schema.KindSmallInt:
		return 6
	case k == schema.KindInt:
		return 11
	case k == schema.KindBigInt:
		return 20
	case k == schema.KindLargeInt:
		return 40
	case k == schema.KindFloat || k == schema.KindDouble:
		return 32
	case k == schema.KindDecimal:
		return src.Precision + 2
	case k == schema.KindDate:
		return 10
	case k == schema.KindDatetime:
		return 26
	}
	return MaxVarchar
}

// intDigits is how many decimal digits every value of an integer kind fits in.
func intDigits(k schema.Kind) int {
	return map[schema.Kind]int{schema.KindBoolean: 1, schema.KindTinyInt: 3, schema.KindSmallInt: 5,
		schema.KindInt: 10, schema.KindBigInt: 19, schema.KindLargeInt: 39}[k]
}

// safeDigits is how many decimal digits always fit in an integer kind.
func safeDigits(k schema.Kind) int {
	return map[schema.Kind]int{schema.KindTinyInt: 2, schema.KindSmallInt: 4,
		schema.KindInt: 9, schema.KindBigInt: 18, schema.KindLargeInt: 38}[k]
}

func rank(k schema.Kind) int { return int(k - schema.KindTinyInt) }

// Holds says whether the existing column dst holds every value of the
// mapped source column src: ClassOK, ClassWarning (the source's limit is
// unknown, or values round), or ClassError (values can be refused or
// altered), with the reason. widen is the type a MODIFY COLUMN would give
// dst so that it holds src, when StarRocks allows that schema change
// (ColumnType.isSchemaChangeAllowed: a longer VARCHAR, CHAR to VARCHAR, a
// wider integer, FLOAT to DOUBLE, a DECIMAL with at least the integer
// digits and the scale); "" when none is needed or possible.
func Holds(dst schema.Column, src Mapped) (c Class, msg, widen string) {
	have := fmt.Sprintf("%s holds %s", dst.Type, src.Source)
	unknown := func(what string) (Class, string, string) {
		return ClassWarning, fmt.Sprintf("%s: the source's %s is not stated (%s)", dst.Type, what, src.Inexact), ""
	}
	sk := src.Kind
	switch dk := dst.Kind; {
	case dk == schema.KindUnknown:
		return ClassWarning, fmt.Sprintf("type %s not compared", dst.Type), ""
	case dk.IsText():
		room := dst.Length
		if dk == schema.KindString || room == 0 {
			room = stringLength
		}
		need := textBytes(src)
		if room >= need {
			return ClassOK, have, ""
		}
		if src.Inexact != "" || sk == schema.KindJSON || sk == schema.KindArray {
			return ClassWarning, fmt.Sprintf("%s holds %d bytes; the source's length is not stated: a longer value is refused", dst.Type, room), ""
		}
		msg = fmt.Sprintf("%s holds %d bytes; the source's %s needs up to %d (%d bytes a character): a longer value is refused", dst.Type, room, src.Source, need, BytesPerChar)
		if !sk.IsText() {
			msg = fmt.Sprintf("%s holds %d bytes; %s renders up to %d: a longer value is refused", dst.Type, room, src.Source, need)
		}
		if dk != schema.KindString { // VARCHAR → longer VARCHAR, CHAR → VARCHAR
			widen, _ = varchar(need)
		}
		return ClassError, msg, widen
	case dk == schema.KindDecimal:
		switch {
		case sk == schema.KindDecimal:
			if src.Inexact != "" {
				return unknown("precision")
			}
			var why []string
			if dst.Scale < src.Scale {
				why = append(why, fmt.Sprintf("less scale (%d < %d): the decoder refuses the extra digits", dst.Scale, src.Scale))
			}
			if dst.Precision-dst.Scale < src.Precision-src.Scale {
				why = append(why, fmt.Sprintf("fewer integer digits (%d < %d): a larger value is refused", dst.Precision-dst.Scale, src.Precision-src.Scale))
			}
			if len(why) == 0 {
				return ClassOK, have, ""
			}
			sc := max(dst.Scale, src.Scale)
			if p := max(dst.Precision-dst.Scale, src.Precision-src.Scale) + sc; p <= MaxDecimalPrecision {
				widen = fmt.Sprintf("DECIMAL(%d, %d)", p, sc)
			}
			return ClassError, fmt.Sprintf("%s for %s: %s", dst.Type, src.Source, strings.Join(why, "; ")), widen
		case sk.IsInteger() || sk == schema.KindBoolean:
			if intDigits(sk) <= dst.Precision-dst.Scale {
				return ClassOK, have, ""
			}
			return ClassError, fmt.Sprintf("%s has %d integer digits; %s needs %d: a larger value is refused", dst.Type, dst.Precision-dst.Scale, src.Source, intDigits(sk)), ""
		case sk == schema.KindFloat || sk == schema.KindDouble:
			return ClassWarning, fmt.Sprintf("%s for %s: floating values are rounded to the scale", dst.Type, src.Source), ""
		}
	case dk.IsInteger():
		switch {
		case sk.IsInteger():
			if rank(dk) >= rank(sk) {
				return ClassOK, have, ""
			}
			return ClassError, fmt.Sprintf("%s is narrower than %s: a larger value is refused", dst.Type, src.Source), strings.ToUpper(sk.String())
		case sk == schema.KindBoolean:
			return ClassOK, have, ""
		case sk == schema.KindDecimal:
			if src.Scale > 0 {
				return ClassError, fmt.Sprintf("%s drops the %d fraction digits of %s", dst.Type, src.Scale, src.Source), ""
			}
			if src.Inexact == "" && src.Precision <= safeDigits(dk) {
				return ClassOK, have, ""
			}
			return ClassError, fmt.Sprintf("%s holds %d digits; %s has %d: a larger value is refused", dst.Type, safeDigits(dk), src.Source, src.Precision), ""
		}
	case dk == schema.KindFloat || dk == schema.KindDouble:
		switch {
		case sk == schema.KindFloat || sk == dk:
			return ClassOK, have, ""
		case sk == schema.KindDouble:
			return ClassError, fmt.Sprintf("FLOAT rounds %s to 7 digits", src.Source), "DOUBLE"
		case sk.IsInteger() || sk == schema.KindDecimal:
			return ClassWarning, fmt.Sprintf("%s rounds %s past its precision", dst.Type, src.Source), ""
		}
	case dk == schema.KindBoolean:
		if sk == schema.KindBoolean {
			return ClassOK, have, ""
		}
	case dk == schema.KindDate:
		switch sk {
		case schema.KindDate:
			return ClassOK, have, ""
		case schema.KindDatetime:
			return ClassError, fmt.Sprintf("DATE drops the time of day of %s", src.Source), ""
		}
	case dk == schema.KindDatetime:
		if sk == schema.KindDatetime || sk == schema.KindDate {
			return ClassOK, have, ""
		}
	case dk == schema.KindJSON:
		switch {
		case sk == schema.KindJSON || sk == schema.KindArray:
			return ClassOK, have, ""
		case sk.IsText():
			return ClassWarning, fmt.Sprintf("JSON for %s: text that is not a JSON document is refused", src.Source), ""
		}
	case dk == schema.KindArray:
		if sk == schema.KindArray {
			norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
			if norm(dst.Type) == norm(src.Type) {
				return ClassOK, have, ""
			}
			return ClassWarning, fmt.Sprintf("%s for %s (%s): element types not compared further", dst.Type, src.Source, src.Type), ""
		}
	case dk == schema.KindBinary:
		if sk.IsText() {
			return ClassWarning, fmt.Sprintf("%s receives %s as text (bytes are written as hex)", dst.Type, src.Source), ""
		}
	case dk == schema.KindMap || dk == schema.KindStruct:
		return ClassWarning, fmt.Sprintf("%s not compared", dst.Type), ""
	}
	return ClassError, fmt.Sprintf("%s cannot hold %s (%s)", dst.Type, src.Source, src.Type), ""
}
