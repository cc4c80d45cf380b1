package tables

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/starsink/starsink/emulator"
)

func TestNames(t *testing.T) {
	re := regexp.MustCompile(TopicRegex)
	for _, c := range []struct {
		i           int
		name, topic string
	}{{0, "t000", "bench.public.t000"}, {42, "t042", "bench.public.t042"}, {99, "t099", "bench.public.t099"}} {
		if got := Name(c.i); got != c.name {
			t.Errorf("Name(%d) = %q, want %q", c.i, got, c.name)
		}
		if got := Topic(c.i); got != c.topic {
			t.Errorf("Topic(%d) = %q, want %q", c.i, got, c.topic)
		}
		if !re.MatchString(Topic(c.i)) {
			t.Errorf("%s does not match %s", Topic(c.i), TopicRegex)
		}
	}
	if re.MatchString("bench.public.t000-dlq") {
		t.Error("the regex matches a dead-letter topic")
	}
}

func TestDDLOnEmulator(t *testing.T) {
	srv, err := emulator.Start(emulator.Config{CountOnly: true, NoMySQL: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, q := range DDL(3) {
		if err := srv.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i := 0; i < 3; i++ {
		s, err := srv.Schema(Database, Name(i))
		if err != nil {
			t.Fatalf("table %s: %v", Name(i), err)
		}
		if !strings.EqualFold(s.Name, Name(i)) {
			t.Errorf("schema name %q, want %q", s.Name, Name(i))
		}
	}
}
