package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The control endpoint, on the FE port with the FE's credentials, lets a
// test or a user switch the emulator's behaviour without Go:
//
//	GET  /_emulator/state    settings, faults and counters
//	POST /_emulator/faults   a Faults document replaces the faults ({} clears them)
//	POST /_emulator/config   a Settings document; keys it omits keep their value
//
// It is the emulator's own, not StarRocks'.

// controlState is the answer of GET /_emulator/state.
type controlState struct {
	Settings Settings `json:"settings"`
	Faults   Faults   `json:"faults"`
	Stats    Stats    `json:"stats"`
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	bad := func(err error) { http.Error(w, err.Error(), http.StatusBadRequest) }
	switch {
	case r.URL.Path == "/_emulator/state" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, controlState{Settings: s.Settings(), Faults: s.Faults(), Stats: s.Stats()})
	case r.URL.Path == "/_emulator/faults" && r.Method == http.MethodPost:
		var f Faults
		if err := decodeStrict(r.Body, &f); err != nil {
			bad(fmt.Errorf("faults: %w", err))
			return
		}
		for _, a := range f.Answers {
			if err := a.valid(); err != nil {
				bad(err)
				return
			}
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, s.Faults())
	case r.URL.Path == "/_emulator/config" && r.Method == http.MethodPost:
		st := s.Settings()
		if err := decodeStrict(r.Body, &st); err != nil {
			bad(fmt.Errorf("config: %w", err))
			return
		}
		if err := s.SetSettings(st); err != nil {
			bad(err)
			return
		}
		writeJSON(w, http.StatusOK, s.Settings())
	default:
		http.NotFound(w, r)
	}
}

func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// ParseFault reads a fault written kind[=rate][@duration], as the
// command's --fault flag takes it: "too_many_versions=0.05" (5% of
// loads), "shutting_down@90s" (every load for 90 s from the start),
// "mem_limit=0.5@1m".
func ParseFault(v string) (Fault, error) {
	var f Fault
	rest, span, hasSpan := strings.Cut(v, "@")
	kind, rate, hasRate := strings.Cut(rest, "=")
	f.Kind = FaultKind(strings.TrimSpace(kind))
	if hasRate {
		r, err := strconv.ParseFloat(rate, 64)
		if err != nil {
			return f, fmt.Errorf("fault %q: rate: %w", v, err)
		}
		f.Rate = r
	} else if !hasSpan {
		f.Rate = 1
	}
	if hasSpan {
		d, err := time.ParseDuration(span)
		if err != nil {
			return f, fmt.Errorf("fault %q: duration: %w", v, err)
		}
		f.For = Duration(d)
	}
	return f, f.valid()
}
