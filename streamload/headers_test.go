package streamload

import "testing"

func TestReservedHeader(t *testing.T) {
	tests := []struct {
		name     string
		reserved bool
	}{
		{"label", true}, {"Label", true}, {" COLUMNS ", true}, {"format", true}, {"strip_outer_array", true},
		{"jsonpaths", true}, {"partial_update", true}, {"Partial_Update_Mode", true}, {"merge_condition", true},
		{"enable_merge_commit", true}, {"strict_mode", true}, {"max_filter_ratio", true}, {"ignore_json_size", true},
		{"Expect", true}, {"content-length", true}, {"AUTHORIZATION", true},
		{"timezone", false}, {"load_mem_limit", false}, {"warehouse", false}, {"log_rejected_record_num", false},
	}
	for _, tt := range tests {
		reason, got := ReservedHeader(tt.name)
		if got != tt.reserved || got == (reason == "") {
			t.Errorf("ReservedHeader(%q) = %q, %v; want reserved %v with a reason", tt.name, reason, got, tt.reserved)
		}
	}
}
