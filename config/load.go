package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/json"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// LoadOptions says where Load reads the configuration from.
type LoadOptions struct {
	// File is a YAML (.yaml, .yml) or JSON (.json) file; "" = none.
	File string
	// Flags holds flags registered with AddFlags (or any flag named by a
	// koanf key); only flags set on the command line count.
	Flags *pflag.FlagSet
	// Env is the environment as KEY=VALUE pairs; nil = os.Environ().
	Env []string
	// Base is the configuration the layers apply to; nil = Default().
	// The connector translation passes its result here.
	Base *Config
}

// Load builds the configuration from, in increasing precedence: Default()
// (or opts.Base), the file, STARSINK_* environment variables and the
// flags set on the command line. It then reads password files and
// validates. Errors name the key and never quote a secret.
func Load(opts LoadOptions) (*Config, error) {
	cfg := Default()
	if opts.Base != nil {
		cfg = *opts.Base
	}
	// Keys are split at '/', not '.': map keys such as topic names and
	// "db.table" hold dots and must stay whole.
	k := koanf.New(delim)
	if opts.File != "" {
		var parser koanf.Parser
		switch strings.ToLower(filepath.Ext(opts.File)) {
		case ".json":
			parser = json.Parser()
		case ".yaml", ".yml":
			parser = yaml.Parser()
		default:
			return nil, fmt.Errorf("config file %s: unknown extension (want .yaml, .yml or .json)", opts.File)
		}
		if err := k.Load(file.Provider(opts.File), parser); err != nil {
			return nil, fmt.Errorf("config file %s: %w", opts.File, err)
		}
		if err := checkFileKeys(k); err != nil {
			return nil, fmt.Errorf("config file %s: %w", opts.File, err)
		}
	}
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	if err := k.Load(envProvider(env), nil); err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	if opts.Flags != nil {
		// Without a koanf instance posflag only reads flags that were set,
		// so flag defaults never override the file or the environment.
		if err := k.Load(posflag.ProviderWithFlag(opts.Flags, delim, nil, func(f *pflag.Flag) (string, any) {
			if _, ok := fieldByKey[f.Name]; !ok {
				return "", nil
			}
			return kpath(f.Name), posflag.FlagVal(opts.Flags, f)
		}), nil); err != nil {
			return nil, fmt.Errorf("flags: %w", err)
		}
	}
	if err := decode(k, &cfg); err != nil {
		return nil, err
	}
	if err := cfg.readSecretFiles(); err != nil {
		return nil, err
	}
	cfg.normalize()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// delim separates the levels of a key inside koanf; see Load.
const delim = "/"

// kpath turns a documented key (kafka.group_id) into its koanf path.
func kpath(key string) string { return strings.ReplaceAll(key, ".", delim) }

// checkFileKeys rejects unknown keys, so a typo is not silently ignored.
func checkFileKeys(k *koanf.Koanf) error {
	var errs []error
	for _, path := range k.Keys() {
		parts := strings.Split(path, delim)
		known := false
		for n := len(parts); n > 0 && !known; n-- {
			f, ok := fieldByKey[strings.Join(parts[:n], ".")]
			// Below a map or list option any key is data, not an option.
			known = ok && (n == len(parts) || f.typ.Kind() == reflect.Map || f.typ.Kind() == reflect.Slice)
		}
		if !known {
			errs = append(errs, fmt.Errorf("%s: unknown option", strings.Join(parts, ".")))
		}
	}
	return errors.Join(errs...)
}

// decode unmarshals k onto cfg, one key at a time so that an error names
// its key. Keys absent from k keep cfg's values; set keys replace them
// whole (a list from the environment is not merged with the default).
func decode(k *koanf.Koanf, cfg *Config) error {
	var errs []error
	root := reflect.ValueOf(cfg).Elem()
	for _, f := range fields {
		p := kpath(f.key)
		if !k.Exists(p) {
			continue
		}
		dst := root.FieldByIndex(f.index)
		if err := decodeValue(f, k.Get(p), dst); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.key, err))
		}
	}
	return errors.Join(errs...)
}

func decodeValue(f field, raw any, dst reflect.Value) error {
	fresh := reflect.New(f.typ)
	dc := &mapstructure.DecoderConfig{
		TagName:          "koanf",
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		Result:           fresh.Interface(),
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			sizeHook(optionByKey[f.key].Size),
			mapstructure.StringToTimeDurationHookFunc(),
			stringToMapHook,
			mapstructure.StringToSliceHookFunc(","),
		),
	}
	d, err := mapstructure.NewDecoder(dc)
	if err != nil {
		return err
	}
	if err := d.Decode(raw); err != nil {
		if f.typ == secretType {
			return errors.New("invalid value") // never echo a secret
		}
		// mapstructure names the field ''; the caller names the key.
		return errors.New(strings.TrimPrefix(err.Error(), "'' "))
	}
	if f.typ.Kind() == reflect.Slice && fresh.Elem().Len() == 1 && fresh.Elem().Index(0).Kind() == reflect.String && fresh.Elem().Index(0).String() == "" {
		fresh.Elem().Set(reflect.Zero(f.typ)) // "" from env or flags clears a list
	}
	dst.Set(fresh.Elem())
	return nil
}

// sizeHook parses "64MiB" into integer size fields.
func sizeHook(isSize bool) mapstructure.DecodeHookFuncType {
	return func(from, to reflect.Type, data any) (any, error) {
		if !isSize || from.Kind() != reflect.String {
			return data, nil
		}
		switch to.Kind() {
		case reflect.Int, reflect.Int32, reflect.Int64:
		default:
			return data, nil
		}
		n, err := ParseSize(data.(string))
		if err != nil {
			return nil, err
		}
		if to.Kind() == reflect.Int32 && n > 1<<31-1 {
			return nil, fmt.Errorf("size %s exceeds %s", FormatSize(n), FormatSize(1<<31-1))
		}
		return n, nil
	}
}

// stringToMapHook reads a map[string]string from "a=b,c=d" or the Java
// connector's "a:b,c:d" (split at the first '=' if any, else the first ':').
func stringToMapHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Map || to.Elem().Kind() != reflect.String {
		return data, nil
	}
	return ParsePairs(data.(string))
}

// ParsePairs parses "k=v,k2=v2" or "k:v,k2:v2" (the form of the Java
// connector's starrocks.topic2table.map). Blank entries are skipped.
func ParsePairs(s string) (map[string]string, error) {
	out := make(map[string]string)
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		sep := strings.IndexByte(part, '=')
		if sep < 0 {
			sep = strings.IndexByte(part, ':')
		}
		if sep <= 0 || sep == len(part)-1 {
			return nil, fmt.Errorf("entry %q: want key=value or key:value", part)
		}
		out[strings.TrimSpace(part[:sep])] = strings.TrimSpace(part[sep+1:])
	}
	return out, nil
}

// envProvider reads STARSINK_* variables from a given environment (the
// koanf env provider reads only the process environment, which tests
// cannot set per case). The name rule is EnvName's; a map option also
// accepts one entry per variable: STARSINK_STARROCKS_PROPERTIES_LOAD_MEM_LIMIT=2147483648
// sets starrocks.properties.load_mem_limit (only for options marked
// EnvEntries: lower-casing would corrupt topic and host names). Unknown STARSINK_* names are
// left out here and reported by UnknownEnv.
type envProvider []string

var envKeys = func() map[string]string {
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		if optionByKey[f.key].FileOnly {
			continue
		}
		m[EnvName(f.key)] = f.key
	}
	return m
}()

// ReadBytes is not supported: the provider returns a map.
func (envProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("env provider does not support ReadBytes")
}

// Read returns the configuration keys set in the environment.
func (e envProvider) Read() (map[string]any, error) {
	flat := make(map[string]any)
	maps := make(map[string]map[string]any)
	for _, kv := range e {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		if key, ok := envKeys[name]; ok {
			flat[key] = val
			continue
		}
		if key, sub, ok := envMapEntry(name); ok {
			if maps[key] == nil {
				maps[key] = make(map[string]any)
			}
			maps[key][sub] = val
		}
	}
	for key, m := range maps {
		if _, whole := flat[key]; !whole {
			flat[key] = m
		}
	}
	out := make(map[string]any, len(flat))
	for key, v := range flat {
		setNested(out, key, v)
	}
	return out, nil
}

// envMapEntry matches STARSINK_<MAP KEY>_<ENTRY> for string maps.
func envMapEntry(name string) (key, sub string, ok bool) {
	for _, f := range fields {
		if !optionByKey[f.key].EnvEntries {
			continue
		}
		p := EnvName(f.key) + "_"
		if strings.HasPrefix(name, p) && len(name) > len(p) {
			return f.key, strings.ToLower(name[len(p):]), true
		}
	}
	return "", "", false
}

func setNested(m map[string]any, key string, v any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = make(map[string]any)
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// UnknownEnv returns the STARSINK_* names in env that set no option, so
// the command can warn about typos.
func UnknownEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		if _, ok := envKeys[name]; ok {
			continue
		}
		if _, _, ok := envMapEntry(name); ok {
			continue
		}
		out = append(out, name)
	}
	return out
}

// AddFlags registers one string flag per option that is not FileOnly,
// named by its koanf key (--batch.max_bytes=128MiB), with its default and
// documentation from Options, so --help and docs/configuration.md agree.
func AddFlags(fs *pflag.FlagSet) {
	def := Default()
	for _, o := range Options {
		if o.FileOnly {
			continue
		}
		f := fieldByKey[o.Key]
		usage := o.Doc
		if o.Java != "" {
			usage += " (Java: " + o.Java + ")"
		}
		fs.String(o.Key, render(&def, f), usage)
	}
}

// normalize trims list entries and gives scheme-less load URLs (the Java
// connector's host:port form) their http:// scheme, so consumers of
// Config see one form.
func (c *Config) normalize() {
	for _, l := range []*[]string{&c.Kafka.Brokers, &c.Kafka.Topics, &c.Kafka.TopicRegex, &c.Kafka.ExcludeRegex, &c.StarRocks.LoadURLs} {
		out := make([]string, 0, len(*l)) // never write into opts.Base's arrays
		for _, s := range *l {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*l = out
	}
	for i, u := range c.StarRocks.LoadURLs {
		if !strings.Contains(u, "://") {
			c.StarRocks.LoadURLs[i] = "http://" + u
		}
	}
}

// readSecretFiles fills passwords from their *_file options. The error
// names the option and the path, never the content.
func (c *Config) readSecretFiles() error {
	var errs []error
	read := func(key, path string, dst *Secret) {
		if path == "" {
			return
		}
		if *dst != "" {
			errs = append(errs, fmt.Errorf("%s: set either the password or the password file, not both", key))
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			return
		}
		*dst = Secret(strings.TrimRight(string(b), "\r\n"))
	}
	read("starrocks.password_file", c.StarRocks.PasswordFile, &c.StarRocks.Password)
	read("kafka.sasl.password_file", c.Kafka.SASL.PasswordFile, &c.Kafka.SASL.Password)
	return errors.Join(errs...)
}
