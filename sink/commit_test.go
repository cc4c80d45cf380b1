package sink

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// A member leaving while the group rebalances finds its final commit
// refused for its old generation, or held by franz-go until its timeout:
// the next owner reads again from the last commit, so the stop is clean.
// Any other failure of the final commit is the stop's error.
func TestFinalCommitRefusedByARebalanceIsAStopWithoutError(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"committed", nil, false},
		{"illegal generation", kerr.IllegalGeneration, false},
		{"unknown member", kerr.UnknownMemberID, false},
		{"rebalance in progress", kerr.RebalanceInProgress, false},
		{"fenced instance", kerr.FencedInstanceID, false},
		{"stale member epoch", kerr.StaleMemberEpoch, false},
		{"timed out while the group rebalances", context.DeadlineExceeded, false},
		{"coordinator unavailable", kerr.CoordinatorNotAvailable, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig := newFenceRig(t)
			rig.w.commit = func(context.Context) error { return tc.err }
			err := rig.w.shutdown(nil)
			if tc.wantErr != (err != nil) {
				t.Fatalf("shutdown: %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr && !errors.Is(err, tc.err) {
				t.Errorf("shutdown: %v, want it to wrap %v", err, tc.err)
			}
		})
	}
}
