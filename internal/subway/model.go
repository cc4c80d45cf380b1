package subway

import (
	"fmt"
	"sort"
	"strconv"
)

// Model is the source state: what PostgreSQL holds after the changes
// applied so far. The demo compares the target with it.
type Model struct {
	rows [3]map[string]Row
}

// NewModel returns an empty source state.
func NewModel() *Model {
	m := &Model{}
	for _, t := range Tables {
		m.rows[t] = map[string]Row{}
	}
	return m
}

// Upsert records an insert or update.
func (m *Model) Upsert(t Table, r Row) { m.rows[t][Key(t, r)] = r }

// Delete records a delete.
func (m *Model) Delete(t Table, r Row) { delete(m.rows[t], Key(t, r)) }

// Count is the number of rows of t.
func (m *Model) Count(t Table) int { return len(m.rows[t]) }

// Compare checks target rows (in column order, values as the emulator
// returns them) against the model, and describes the first differences.
func (m *Model) Compare(t Table, target [][]any) error {
	want := m.rows[t]
	var diffs []string
	seen := 0
	for _, r := range target {
		got := make(Row, len(r))
		for j, v := range r {
			if v != nil {
				s := fmt.Sprint(v)
				got[j] = &s
			}
		}
		w, ok := want[Key(t, got)]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("extra row %s", show(got)))
		case show(w) != show(got):
			diffs = append(diffs, fmt.Sprintf("row differs: want %s, got %s", show(w), show(got)))
			seen++
		default:
			seen++
		}
		if len(diffs) >= 5 {
			break
		}
	}
	if len(diffs) == 0 && seen != len(want) {
		diffs = append(diffs, fmt.Sprintf("target has %d of the %d source rows", seen, len(want)))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s: %d source rows, %d target rows: %v", t.Name(), len(want), len(target), diffs)
	}
	return nil
}

func show(r Row) string {
	out := "("
	for j, v := range r {
		if j > 0 {
			out += ", "
		}
		if v == nil {
			out += "NULL"
		} else {
			out += strconv.Quote(*v)
		}
	}
	return out + ")"
}

// Answer is one row of a dashboard query: a label and a total.
type Answer struct {
	Label string
	Total int64
}

// Congestion answers CongestionQuery from the model.
func (m *Model) Congestion() []Answer {
	sums := map[string]int64{}
	for _, r := range m.rows[Time] {
		sums[*r[2]+" "+*r[3]] += num(r[4]) + num(r[5])
	}
	return top(sums)
}

// Transfers answers TransferQuery from the model.
func (m *Model) Transfers() []Answer {
	lines := map[string]int{}
	for _, r := range m.rows[Info] {
		lines[*r[1]]++
	}
	sums := map[string]int64{}
	for _, r := range m.rows[Passengers] {
		if lines[*r[2]] > 1 {
			sums[*r[2]] += num(r[3]) + num(r[4])
		}
	}
	return top(sums)
}

func num(v *string) int64 {
	if v == nil {
		return 0
	}
	n, _ := strconv.ParseInt(*v, 10, 64)
	return n
}

func top(sums map[string]int64) []Answer {
	out := make([]Answer, 0, len(sums))
	for k, v := range sums {
		out = append(out, Answer{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Total != out[j].Total {
			return out[i].Total > out[j].Total
		}
		return out[i].Label < out[j].Label
	})
	if len(out) > 20 {
		out = out[:20]
	}
	return out
}
