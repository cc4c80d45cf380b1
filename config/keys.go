package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// field is one leaf koanf key of Config and the Go type behind it. Maps
// and slices of structs are leaves: they are set as a whole.
type field struct {
	key   string
	typ   reflect.Type
	index []int
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	secretType   = reflect.TypeOf(Secret(""))
	fields       = collectFields(reflect.TypeOf(Config{}), "", nil)
	fieldByKey   = func() map[string]field {
		m := make(map[string]field, len(fields))
		for _, f := range fields {
			m[f.key] = f
		}
		return m
	}()
)

// collectFields walks a struct type along its koanf tags. It runs once at
// package initialisation; nothing on a hot path uses reflection.
func collectFields(t reflect.Type, prefix string, index []int) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("koanf")
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		idx := append(append([]int(nil), index...), i)
		if sf.Type.Kind() == reflect.Struct && sf.Type != durationType {
			out = append(out, collectFields(sf.Type, key, idx)...)
			continue
		}
		out = append(out, field{key: key, typ: sf.Type, index: idx})
	}
	return out
}

// Keys returns every koanf key of Config, in declaration order.
func Keys() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.key
	}
	return out
}

// EnvName returns the environment variable that sets key: STARSINK_
// followed by the key upper-cased with dots written as underscores
// (kafka.group_id → STARSINK_KAFKA_GROUP_ID). Because names are matched
// against the known keys, the underscores of a key and those standing for
// dots never clash; a test checks that no two keys share a name.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// EnvPrefix starts every environment variable starsink reads.
const EnvPrefix = "STARSINK_"

// render formats the value of f in c the way the docs and String show it.
func render(c *Config, f field) string {
	v := reflect.ValueOf(c).Elem().FieldByIndex(f.index)
	opt := optionByKey[f.key]
	switch {
	case f.typ == secretType:
		return Secret(v.String()).String()
	case f.typ == durationType:
		return time.Duration(v.Int()).String()
	case opt.Size:
		return FormatSize(v.Int())
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			parts := make([]string, v.Len())
			for i := range parts {
				parts[i] = v.Index(i).String()
			}
			return strings.Join(parts, ",")
		}
		if v.Len() == 0 {
			return ""
		}
		return fmt.Sprintf("%d entries", v.Len())
	case reflect.Map:
		if v.Type().Elem().Kind() == reflect.String {
			keys := make([]string, 0, v.Len())
			for _, k := range v.MapKeys() {
				keys = append(keys, k.String())
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = k + "=" + v.MapIndex(reflect.ValueOf(k)).String()
			}
			return strings.Join(parts, ",")
		}
		if v.Len() == 0 {
			return ""
		}
		return fmt.Sprintf("%d entries", v.Len())
	}
	return fmt.Sprint(v.Interface())
}

// FormatSize renders a byte count with the largest binary unit that
// divides it ("64MiB"), or as plain bytes.
func FormatSize(n int64) string {
	switch {
	case n != 0 && n%GiB == 0:
		return strconv.FormatInt(n/GiB, 10) + "GiB"
	case n != 0 && n%MiB == 0:
		return strconv.FormatInt(n/MiB, 10) + "MiB"
	case n != 0 && n%KiB == 0:
		return strconv.FormatInt(n/KiB, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10)
}

// ParseSize reads a byte count: plain bytes ("67108864") or a number with
// a unit: B, KiB, MiB, GiB (powers of 1024) or KB, MB, GB (powers of 1000).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	num, unit := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i:])
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q: want bytes or a number with B, KiB, MiB, GiB, KB, MB, GB", s)
	}
	mult := int64(1)
	switch strings.ToLower(unit) {
	case "", "b":
	case "kib", "ki", "k":
		mult = KiB
	case "mib", "mi", "m":
		mult = MiB
	case "gib", "gi", "g":
		mult = GiB
	case "kb":
		mult = 1000
	case "mb":
		mult = 1000 * 1000
	case "gb":
		mult = 1000 * 1000 * 1000
	default:
		return 0, fmt.Errorf("invalid size %q: unknown unit %q", s, unit)
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return n * mult, nil
}
