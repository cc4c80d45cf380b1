package config

import "testing"

// FuzzParseProperties: any input parses without panicking.
func FuzzParseProperties(f *testing.F) {
	f.Add([]byte("a=b\nc: d\\\n e\n# x\n! y\nk\\=ey v\\n"))
	f.Add([]byte("\\"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseProperties(b)
	})
}

// FuzzParseSize: sizes round-trip through FormatSize.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"64MiB", "1", "10KB", "9223372036854775807", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if back, err := ParseSize(FormatSize(n)); err != nil || back != n {
			t.Fatalf("%q → %d → %q → %d, %v", s, n, FormatSize(n), back, err)
		}
	})
}

// FuzzFromConnector: any connector configuration translates without
// panicking, from JSON or properties.
func FuzzFromConnector(f *testing.F) {
	f.Add([]byte(`{"name":"x","config":{"topics":"a","bufferflush.maxbytes":"64MiB","transforms":"u","transforms.u.type":"io.debezium.transforms.ExtractNewRecordState"}}`))
	f.Add([]byte("sink.maxretries=-1\ntransforms=a,b\ntransforms.b.x=1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var props map[string]string
		var err error
		if len(b) > 0 && b[0] == '{' {
			props, err = parseConnectorJSON(b)
		} else {
			props, err = parseProperties(b)
		}
		if err != nil {
			return
		}
		_, _, _ = FromConnector(props)
	})
}
