package emulator

import "time"

// register records a job under its label, in registration order.
func (d *database) register(j *job) {
	d.labels[j.label] = j
	d.order = append(d.order, j)
}

// evictLabels drops finished labels as the FE's
// DatabaseTransactionMgr.removeExpiredTxns does: a VISIBLE or ABORTED
// transaction older than label_keep_max_second, and the oldest ones beyond
// label_keep_max_num per database (0 disables either bound). StarRocks
// runs it every transaction_clean_interval_second (30 s); the emulator runs
// it at each new label, so a label goes at most one load late rather than
// up to 30 s late. A dropped label answers UNKNOWN and can load again.
//
// Age eviction walks from the oldest label and stops at the first one
// still running or young, so it costs little per load; count eviction
// walks the list only while it is longer than the bound. Callers hold
// s.mu.
func (s *Server) evictLabels(d *database, now time.Time) {
	keep, maxNum := time.Duration(s.set.LabelKeepMaxSecond), s.set.LabelKeepMaxNum
	done := func(j *job) (bool, time.Time) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.expire(now)
		return (j.state == "VISIBLE" || j.state == "ABORTED") && !j.running, j.finished
	}
	drop := func(j *job) {
		if d.labels[j.label] == j {
			delete(d.labels, j.label)
		}
	}
	if keep > 0 {
		n := 0
		for _, j := range d.order {
			ok, at := done(j)
			if !ok || now.Sub(at) <= keep {
				break
			}
			drop(j)
			n++
		}
		if n > 0 {
			rest := copy(d.order, d.order[n:])
			clear(d.order[rest:])
			d.order = d.order[:rest]
		}
	}
	if maxNum <= 0 || len(d.order) <= maxNum {
		return
	}
	finished := make([]bool, len(d.order))
	count := 0
	for i, j := range d.order {
		if finished[i], _ = done(j); finished[i] {
			count++
		}
	}
	out := d.order[:0]
	for i, j := range d.order {
		if finished[i] && count > maxNum {
			drop(j)
			count--
			continue
		}
		out = append(out, j)
	}
	clear(d.order[len(out):])
	d.order = out
}
