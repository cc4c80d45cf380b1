package streamload

// CSV rendering helpers. StarRocks' CSV has no quoting by default: a field
// ends at the column separator and a row at the row delimiter, and NULL is
// written \N. So a value holding a separator, a delimiter or a backslash is
// escaped with a backslash: StarRocks reads the body with escape set to
// '\' by the headers CSVHeaders returns (the escape header exists since
// v3.0). UNCONFIRMED: the StarRocks docs describe escape together with
// enclose and do not say outright that an escaped row delimiter outside an
// enclosed field is kept; JSON, the worker's default format, has no such
// question.

// NullCSV is how a NULL field is written.
const NullCSV = `\N`

// AppendCSVField appends v to dst as one CSV field, escaping backslashes,
// the separator sep and the row delimiter rowDelim (and '\n', '\r') with a
// backslash. An empty separator or delimiter means StarRocks' default
// ("\t", "\n"). Neither may contain a backslash (the escape character).
// It does not append the separator after the field.
func AppendCSVField(dst, v []byte, sep, rowDelim string) []byte {
	if sep == "" {
		sep = "\t"
	}
	if rowDelim == "" {
		rowDelim = "\n"
	}
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case c == '\\' || c == '\n' || c == '\r':
			dst = append(dst, '\\', c)
			i++
			continue
		case hasPrefixAt(v, i, sep):
			dst = append(dst, '\\')
			dst = append(dst, sep...)
			i += len(sep)
			continue
		case hasPrefixAt(v, i, rowDelim):
			dst = append(dst, '\\')
			dst = append(dst, rowDelim...)
			i += len(rowDelim)
			continue
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// AppendCSVNull appends the NULL marker \N.
func AppendCSVNull(dst []byte) []byte { return append(dst, NullCSV...) }

// AppendCSVRow appends fields (nil is NULL) joined by sep and followed by
// rowDelim.
func AppendCSVRow(dst []byte, fields [][]byte, sep, rowDelim string) []byte {
	if sep == "" {
		sep = "\t"
	}
	if rowDelim == "" {
		rowDelim = "\n"
	}
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, sep...)
		}
		if f == nil {
			dst = AppendCSVNull(dst)
			continue
		}
		dst = AppendCSVField(dst, f, sep, rowDelim)
	}
	return append(dst, rowDelim...)
}

// CSVHeaders returns the extra headers a CSV body written with
// AppendCSVField needs: the backslash escape character.
func CSVHeaders() map[string]string { return map[string]string{"escape": `\`} }

func hasPrefixAt(v []byte, i int, p string) bool {
	if len(p) == 0 || len(v)-i < len(p) {
		return false
	}
	for j := 0; j < len(p); j++ {
		if v[i+j] != p[j] {
			return false
		}
	}
	return true
}
