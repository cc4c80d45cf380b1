package chaos

import (
	"fmt"
	"slices"
	"strings"
)

// Target is a table's rows in the target, by key.
type Target map[string]Row

// Target turns rows as the target returns them (column order) into a
// Target.
func (t *Table) Target(rows [][]any) Target {
	out := make(Target, len(rows))
	for _, r := range rows {
		out[t.Key(r)] = r
	}
	return out
}

// CheckCommit is check (b): a commit of offset on tp may only pass records
// that are in the target. For every key changed among the records before
// offset, the target must hold the last of those changes or a newer one:
// the image it wrote or a newer image, or no row when that change is a
// delete or a newer delete exists. target returns table ti's rows now.
//
// resurrected reports that every key at fault is one the source deleted
// (its last change before offset is a delete) and the target holds an older
// image of: a late upsert landing after the delete, which no version can
// stop since a deleted key leaves none to compare with.
func (m *Model) CheckCommit(tp TP, offset int64, target func(ti int) Target) (resurrected bool, err error) {
	ti := m.Table(tp.Topic)
	if ti < 0 {
		return false, nil
	}
	last, err := m.lastBefore(tp, offset)
	if err != nil {
		return false, fmt.Errorf("commit %s@%d: %w", tp, offset, err)
	}
	if len(last) == 0 {
		return false, nil
	}
	resurrected = true
	tgt := target(ti)
	t := m.Tables[ti]
	var errs []string
	keys := make([]string, 0, len(last))
	for k := range last {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ev := last[k]
		row, ok := tgt[k]
		switch {
		case ok && ev.Image != nil && t.SeqOf(row) >= ev.LSN:
		case ok && ev.Image == nil && t.SeqOf(row) > ev.LSN:
		case !ok && ev.Image == nil:
		case !ok:
			if _, later := deletedAfter(m.Versions(ti, k), ev.LSN); later {
				continue
			}
			errs = append(errs, fmt.Sprintf("key %s: its %c at lsn %d is not in the target, which has no row", k, ev.Op, ev.LSN))
			resurrected = false
		default:
			errs = append(errs, fmt.Sprintf("key %s: its %c at lsn %d is not in the target, which holds lsn %d", k, ev.Op, ev.LSN, t.SeqOf(row)))
			resurrected = resurrected && ev.Image == nil
		}
	}
	if len(errs) > 0 {
		return resurrected, fmt.Errorf("commit %s@%d passes records not in the target: %s", tp, offset, strings.Join(errs, "; "))
	}
	return false, nil
}

// Finding is one violation check (c) found, with its kind: what it means
// depends on the schedule (see Kind).
type Finding struct {
	Kind Kind
	Err  error
}

// Kind sorts check (c)'s findings.
type Kind int

const (
	// Phantom: a row holds an image its key never had in the source.
	// Always a failure.
	Phantom Kind = iota
	// Regressed: a row's image went back to an older image of its key.
	// The version guard forbids it; without the guard, a replay of
	// records already loaded does it for a while.
	Regressed
	// DeleteOrder: a deleted key came back with an image older than its
	// delete, a row disappeared though no later delete exists, or a
	// replayed delete removed a newer image. Deletes are not conditional
	// in StarRocks (merge_condition does not apply to them, and a deleted
	// key leaves no version to compare with), so a replay does this for a
	// while even with the guard.
	DeleteOrder
)

// Watch is check (c) for one table: fed the target's rows after every
// load, it reports a key whose image goes back to an older one, a row
// holding an image the source never had, and a row that disappears with
// no delete after its image in the source.
type Watch struct {
	m       *Model
	ti      int
	floor   map[string]int64 // a key's image may not be older than this
	present map[string]int64 // lsn of each key's image at the last look
	// astray holds the keys sent below their floor by a delete out of
	// order: until they reach it again, their older images are part of
	// that finding, not regressions of their own.
	astray map[string]bool
}

// NewWatch returns the watch of table ti.
func (m *Model) NewWatch(ti int) *Watch {
	return &Watch{m: m, ti: ti, floor: map[string]int64{}, present: map[string]int64{}, astray: map[string]bool{}}
}

// Observe checks the target's rows now against what it saw before.
func (w *Watch) Observe(tgt Target) []Finding {
	t := w.m.Tables[w.ti]
	var out []Finding
	for k, row := range tgt {
		s := t.SeqOf(row)
		vs := w.m.Versions(w.ti, k)
		if img, ok := imageAt(vs, s); !ok || !Equal(img, row) {
			out = append(out, Finding{Phantom, fmt.Errorf("%s key %s: the target holds %v, never an image of this key in the source", t.Name, k, row)})
		}
		if prev, was := w.present[k]; was && prev == s {
			continue // unchanged since the last look: already judged
		}
		_, was := w.present[k]
		floor, bounded := w.floor[k]
		switch {
		case !bounded || s >= floor:
			delete(w.astray, k)
		case !was || w.astray[k]:
			out = append(out, Finding{DeleteOrder, fmt.Errorf("%s key %s: came back with the image at lsn %d after a delete or a newer image (lsn %d) was applied", t.Name, k, s, floor)})
			w.astray[k] = true
		default:
			out = append(out, Finding{Regressed, fmt.Errorf("%s key %s: went back to the image at lsn %d after lsn %d was applied", t.Name, k, s, floor)})
		}
		if !bounded || s > floor {
			w.floor[k] = s
		}
	}
	for k, s := range w.present {
		if _, ok := tgt[k]; ok {
			continue
		}
		d, ok := deletedAfter(w.m.Versions(w.ti, k), s)
		if !ok {
			out = append(out, Finding{DeleteOrder, fmt.Errorf("%s key %s: its row (lsn %d) disappeared, but the source deletes it at no later lsn", t.Name, k, s)})
			w.astray[k] = true
			continue
		}
		if floor, ok := w.floor[k]; !ok || d+1 > floor {
			w.floor[k] = d + 1
		}
	}
	clear(w.present)
	for k, row := range tgt {
		w.present[k] = t.SeqOf(row)
	}
	return out
}

// StaleDelete reports whether a delete row that carries the image at
// beforeLSN (the delete's before image) removes a newer image (at cur): a
// replayed delete undoing a later re-insert (a DeleteOrder finding).
func StaleDelete(beforeLSN, cur int64) bool { return cur > beforeLSN }

// Diff is check (a): the differences between the source's rows of table
// ti and the target's, one line each, sorted. reverted counts the
// differences where the target holds an older state of the key (an older
// image, or no row where the source deleted it once): what a member frozen
// past its session and then released can write without the version guard.
//
// resurrected counts the reverted differences that are rows of keys the
// source deleted, holding an older image: what a late upsert after a
// delete leaves even with the version guard.
func (m *Model) Diff(ti int, tgt Target) (diffs []string, reverted, resurrected int) {
	t := m.Tables[ti]
	want := m.Final(ti)
	for k, w := range want {
		got, ok := tgt[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s key %s: missing (source %v)", t.Name, k, w))
			if slices.ContainsFunc(m.Versions(ti, k), func(v Version) bool { return v.Image == nil }) {
				reverted++
			}
		case !Equal(got, w):
			diffs = append(diffs, fmt.Sprintf("%s key %s: target %v, source %v", t.Name, k, got, w))
			if img, ok := imageAt(m.Versions(ti, k), t.SeqOf(got)); ok && Equal(img, got) {
				reverted++
			}
		}
	}
	for k, got := range tgt {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s key %s: %v is not in the source", t.Name, k, got))
			if img, ok := imageAt(m.Versions(ti, k), t.SeqOf(got)); ok && Equal(img, got) {
				reverted++
				resurrected++
			}
		}
	}
	slices.Sort(diffs)
	return diffs, reverted, resurrected
}
