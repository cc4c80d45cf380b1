package config

import (
	"strings"
)

// Reference renders the option table of docs/configuration.md from
// Options and Default(): key, default, environment variable, Java
// connector equivalent and description. A test keeps the document equal
// to it.
func Reference() string {
	def := Default()
	var b strings.Builder
	section := ""
	for _, o := range Options {
		top, _, _ := strings.Cut(o.Key, ".")
		if top != section {
			if section != "" {
				b.WriteByte('\n')
			}
			section = top
			b.WriteString("### " + top + "\n\n")
			b.WriteString("| key | default | environment | Java connector | description |\n")
			b.WriteString("|---|---|---|---|---|\n")
		}
		d := render(&def, fieldByKey[o.Key])
		env := "`" + EnvName(o.Key) + "`"
		if o.FileOnly {
			env = "file only"
		}
		java := "–"
		if o.Java != "" {
			java = "`" + escapeCell(o.Java) + "`"
		}
		doc := o.Doc
		if o.Size {
			doc += " Bytes, or with a unit: 64MiB, 1GiB."
		}
		b.WriteString("| `" + o.Key + "` | " + code(d) + " | " + env + " | " + java + " | " + escapeCell(doc) + " |\n")
	}
	return b.String()
}

func code(s string) string {
	if s == "" {
		return `""`
	}
	return "`" + escapeCell(s) + "`"
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
