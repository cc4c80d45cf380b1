package streamload

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		file          string
		want          Outcome
		wantErr       bool
		wantRetryable bool
		check         func(t *testing.T, r Response, le *LoadError)
	}{
		{name: "success", status: 200, file: "success.json", want: OutcomeLoaded, check: func(t *testing.T, r Response, _ *LoadError) {
			want := Response{TxnID: 1001, Label: "starsink-orders-t-0-0_99-0a1b2c3d4e5f", Status: "Success", Message: "OK",
				NumberTotalRows: 100, NumberLoadedRows: 100, LoadBytes: 40888, LoadTimeMs: 2144, StreamLoadPlanTimeMs: 1,
				WriteDataTimeMs: 11, CommitAndPublishTimeMs: 16}
			if r != want {
				t.Errorf("response\n got %+v\nwant %+v", r, want)
			}
		}},
		{name: "publish timeout is committed", status: 200, file: "publish_timeout.json", want: OutcomeCommitted},
		{name: "label exists finished", status: 200, file: "label_exists_finished.json", want: OutcomeLabelExists,
			check: func(t *testing.T, r Response, _ *LoadError) {
				if r.ExistingJobStatus != "FINISHED" {
					t.Errorf("ExistingJobStatus = %q", r.ExistingJobStatus)
				}
			}},
		{name: "label exists running", status: 200, file: "label_exists_running.json", want: OutcomeLabelExists},
		{name: "filtered rows are permanent", status: 200, file: "fail_filtered.json", wantErr: true,
			check: func(t *testing.T, r Response, le *LoadError) {
				if le.ErrorURL != "http://be1:8040/api/_load_error_log?file=error_log_abc" || r.NumberFilteredRows != 3 {
					t.Errorf("ErrorURL %q, filtered %d", le.ErrorURL, r.NumberFilteredRows)
				}
			}},
		{name: "too many versions", status: 200, file: "fail_too_many_versions.json", wantErr: true, wantRetryable: true},
		{name: "too many running txns", status: 200, file: "fail_too_many_txns.json", wantErr: true, wantRetryable: true},
		{name: "memory limit", status: 200, file: "fail_mem_limit.json", wantErr: true, wantRetryable: true},
		{name: "backend unavailable", status: 200, file: "fail_be_unavailable.json", wantErr: true, wantRetryable: true},
		{name: "timeout", status: 200, file: "fail_timeout.json", wantErr: true, wantRetryable: true},
		// StarRocks' transient answers (texts from its source, see errors.go):
		// the same label is sent again.
		{name: "BE shutting down is retried", status: 200, file: "fail_be_shutting_down.json", wantErr: true, wantRetryable: true},
		{name: "FE with no backend alive is retried", status: 200, file: "fail_no_backend_alive.json", wantErr: true, wantRetryable: true},
		{name: "commit with unknown status is retried", status: 200, file: "fail_commit_status_unknown.json", wantErr: true, wantRetryable: true},
		{name: "commit with unknown status is retried whatever its cause says", status: 200, file: "fail_commit_status_unknown_invalid.json", wantErr: true, wantRetryable: true},
		{name: "shared-data compaction score is retried", status: 200, file: "fail_compaction_score.json", wantErr: true, wantRetryable: true},
		{name: "3.x too many versions is retried", status: 200, file: "fail_too_many_versions_3x.json", wantErr: true, wantRetryable: true},
		{name: "bare BE memory limit is retried", status: 200, file: "fail_mem_usage_be.json", wantErr: true, wantRetryable: true},
		{name: "BE http concurrency limit is retried", status: 200, file: "fail_http_concurrent.json", wantErr: true, wantRetryable: true},
		// StarRocks refusing the data: permanent, the caller may dead-letter.
		{name: "JSON body over 100 MB is permanent", status: 200, file: "fail_json_too_large.json", wantErr: true},
		{name: "body over streaming_load_max_mb is permanent", status: 200, file: "fail_body_too_large.json", wantErr: true},
		{name: "BE access denied is permanent", status: 200, file: "fail_access_denied.json", wantErr: true},
		{name: "BE unknown table is permanent", status: 200, file: "fail_unknown_table_be.json", wantErr: true},
		{name: "unknown column is permanent", status: 200, file: "fail_unknown_column.json", wantErr: true},
		{name: "missing merge condition column is permanent", status: 200, file: "fail_merge_condition_missing.json", wantErr: true},
		{name: "parse error is permanent", status: 200, file: "fail_parse.json", wantErr: true},
		{name: "not null violation", status: 200, file: "fail_not_null.json", wantErr: true},
		{name: "unknown table", status: 200, file: "fail_unknown_table.json", wantErr: true},
		{name: "unknown failure is permanent", status: 200, file: "fail_unknown_message.json", wantErr: true},
		{name: "transaction status", status: 200, file: "txn_not_exists.json", wantErr: true},
		{name: "HTML from a proxy", status: 200, file: "bad_gateway.html", wantErr: true, wantRetryable: true},
		{name: "no Status", status: 200, file: "no_status.json", wantErr: true, wantRetryable: true},
		{name: "502", status: 502, file: "bad_gateway.html", wantErr: true, wantRetryable: true},
		{name: "503 JSON", status: 503, file: "success.json", wantErr: true, wantRetryable: true},
		{name: "429", status: 429, file: "no_status.json", wantErr: true, wantRetryable: true},
		{name: "401", status: 401, file: "unauthorized.txt", wantErr: true},
		{name: "403", status: 403, file: "unauthorized.txt", wantErr: true},
		{name: "404", status: 404, file: "bad_gateway.html", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := classify(tt.status, body)
			var le *LoadError
			if tt.wantErr {
				if !errors.As(err, &le) {
					t.Fatalf("error = %v, want *LoadError", err)
				}
				if le.Retryable != tt.wantRetryable {
					t.Errorf("Retryable = %v, want %v (%v)", le.Retryable, tt.wantRetryable, err)
				}
			} else {
				if err != nil {
					t.Fatalf("error = %v", err)
				}
				if res.Outcome != tt.want {
					t.Errorf("Outcome = %v, want %v", res.Outcome, tt.want)
				}
			}
			if tt.check != nil {
				tt.check(t, res.Response, le)
			}
		})
	}
}

func TestClassifyAuthErrorHasNoSecret(t *testing.T) {
	_, err := classify(401, []byte("Access denied for user root password s3cret"))
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v must exist and not echo the body", err)
	}
}

func FuzzClassify(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(200, b)
		}
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		res, err := classify(status, body)
		if err == nil && res.Outcome == OutcomeFailed {
			t.Fatalf("no error but failed outcome")
		}
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not a *LoadError", err)
			}
			_ = le.Error()
		}
	})
}
