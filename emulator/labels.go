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
// Callers hold s.mu.
func (s *Server) evictLabels(d *database, now time.Time) {
	keep, maxNum := time.Duration(s.set.LabelKeepMaxSecond), s.set.LabelKeepMaxNum
	if keep <= 0 && maxNum <= 0 {
		return
	}
	type fin struct {
		done bool
		at   time.Time
	}
	states := make([]fin, len(d.order))
	finished := 0
	for i, j := range d.order {
		j.mu.Lock()
		states[i] = fin{done: (j.state == "VISIBLE" || j.state == "ABORTED") && !j.running, at: j.finished}
		j.mu.Unlock()
		if states[i].done {
			finished++
		}
	}
	if maxNum <= 0 {
		maxNum = finished
	}
	out := d.order[:0]
	for i, j := range d.order {
		st := states[i]
		if st.done && (finished > maxNum || keep > 0 && now.Sub(st.at) > keep) {
			if d.labels[j.label] == j {
				delete(d.labels, j.label)
			}
			finished--
			continue
		}
		out = append(out, j)
	}
	clear(d.order[len(out):])
	d.order = out
}
