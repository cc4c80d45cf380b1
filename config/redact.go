package config

import (
	"strings"
)

// redacted is what Redacted writes in place of a secret.
const redacted = "******"

// Redacted returns a copy of c that is safe to log: passwords are
// replaced, and Stream Load headers that carry credentials are hidden.
func (c *Config) Redacted() Config {
	r := *c
	if r.StarRocks.Password != "" {
		r.StarRocks.Password = redacted
	}
	if r.Kafka.SASL.Password != "" {
		r.Kafka.SASL.Password = redacted
	}
	if r.HTTP.AdminToken != "" {
		r.HTTP.AdminToken = redacted
	}
	r.StarRocks.Properties = redactHeaders(r.StarRocks.Properties)
	if len(r.Mapping.Tables) > 0 {
		tables := make(map[string]TableOptions, len(r.Mapping.Tables))
		for name, t := range r.Mapping.Tables {
			t.Headers = redactHeaders(t.Headers)
			tables[name] = t
		}
		r.Mapping.Tables = tables
	}
	return r
}

func redactHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return h
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "authorization") || strings.Contains(lk, "password") || strings.Contains(lk, "token") {
			v = redacted
		}
		out[k] = v
	}
	return out
}

// String renders the effective configuration, redacted, one "key: value"
// line per option, for the start-up log. It has a value receiver so that
// printing a Config or a *Config is equally safe.
func (c Config) String() string {
	r := c.Redacted()
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f.key)
		b.WriteString(": ")
		b.WriteString(render(&r, f))
		b.WriteByte('\n')
	}
	return b.String()
}
