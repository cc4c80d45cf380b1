//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const nullText = "\\N"

// rowSet is a table's rows keyed by primary key, each rendered as text with
// columns joined by a unit separator, NULL as \N.
type rowSet map[string]string

func joinRow(vals []*string, npk int) (key, row string) {
	var b strings.Builder
	for i, v := range vals {
		if i == npk {
			key = b.String()
		}
		if i > 0 {
			b.WriteByte(0x1f)
		}
		if v == nil {
			b.WriteString(nullText)
		} else {
			b.WriteString(*v)
		}
	}
	if npk >= len(vals) {
		key = b.String()
	}
	return key, b.String()
}

// pgRows reads every row of tb from PostgreSQL, columns cast to text.
func pgRows(ctx context.Context, c *pgx.Conn, tb table) (rowSet, error) {
	exprs := make([]string, len(tb.cols))
	for i, col := range tb.cols {
		exprs[i] = col + "::text"
	}
	rows, err := c.Query(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+tb.name)
	if err != nil {
		return nil, fmt.Errorf("postgres: read %s: %w", tb.name, err)
	}
	defer rows.Close()
	out := rowSet{}
	vals := make([]*string, len(tb.cols))
	dst := make([]any, len(tb.cols))
	for i := range vals {
		dst[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("postgres: scan %s: %w", tb.name, err)
		}
		k, r := joinRow(vals, len(tb.pk))
		out[k] = r
	}
	return out, rows.Err()
}

// srRows reads every row of tb from the emulator.
func srRows(ctx context.Context, db *sql.DB, tb table) (rowSet, error) {
	rows, err := db.QueryContext(ctx, "SELECT "+strings.Join(tb.cols, ", ")+" FROM "+tb.srName())
	if err != nil {
		return nil, fmt.Errorf("emulator: read %s: %w", tb.srName(), err)
	}
	defer rows.Close()
	out := rowSet{}
	ns := make([]sql.NullString, len(tb.cols))
	dst := make([]any, len(tb.cols))
	vals := make([]*string, len(tb.cols))
	for i := range ns {
		dst[i] = &ns[i]
	}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("emulator: scan %s: %w", tb.srName(), err)
		}
		for i := range ns {
			vals[i] = nil
			if ns[i].Valid {
				vals[i] = &ns[i].String
			}
		}
		k, r := joinRow(vals, len(tb.pk))
		out[k] = r
	}
	return out, rows.Err()
}

// diffRows returns up to max human-readable differences between source and
// target, and the total number of differing keys.
func diffRows(src, dst rowSet, max int) ([]string, int) {
	var out []string
	n := 0
	add := func(s string) {
		n++
		if len(out) < max {
			out = append(out, strings.ReplaceAll(s, "\x1f", " | "))
		}
	}
	for k, v := range src {
		w, ok := dst[k]
		switch {
		case !ok:
			add("missing in target: " + v)
		case v != w:
			add("differs: source " + v + "\n         target " + w)
		}
	}
	for k, w := range dst {
		if _, ok := src[k]; !ok {
			add("extra in target:   " + w)
		}
	}
	sort.Strings(out)
	return out, n
}

// compareTables compares every subway table row by row over all columns and
// reports each difference through t.Errorf.
func compareTables(ctx context.Context, t *testing.T, pg *pgx.Conn, sr *sql.DB, tables []table) {
	t.Helper()
	for _, tb := range tables {
		src, err := pgRows(ctx, pg, tb)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		dst, err := srRows(ctx, sr, tb)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		diffs, n := diffRows(src, dst, 10)
		if n > 0 {
			t.Errorf("%s: %d of %d source rows differ in the target (target has %d):\n  %s",
				tb.name, n, len(src), len(dst), strings.Join(diffs, "\n  "))
			continue
		}
		t.Logf("%s: %d rows equal on both sides", tb.name, len(src))
	}
}

// pgFingerprint and srFingerprint are a cheap per-table summary used to wait
// for catch-up before the full comparison: row count, sum of pass_in, count
// of non-NULL pass_out and of the bulk update's marker date.
func pgFingerprint(ctx context.Context, c *pgx.Conn, tbl string) (string, error) {
	var a, b, cc, d *string
	err := c.QueryRow(ctx, fmt.Sprintf(`SELECT COUNT(*)::text, COALESCE(SUM(pass_in), 0)::text, COUNT(pass_out)::text, COALESCE(SUM(CASE WHEN reg_date = '20991231' THEN 1 ELSE 0 END), 0)::text FROM %s`, tbl)).Scan(&a, &b, &cc, &d)
	if err != nil {
		return "", fmt.Errorf("postgres: fingerprint %s: %w", tbl, err)
	}
	return fmt.Sprintf("%s/%s/%s/%s", normNumber(*a), normNumber(*b), normNumber(*cc), normNumber(*d)), nil
}

func srFingerprint(ctx context.Context, db *sql.DB, tbl string) (string, error) {
	var a, b, c, d sql.NullString
	err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*), COALESCE(SUM(pass_in), 0), COUNT(pass_out), COALESCE(SUM(CASE WHEN reg_date = '20991231' THEN 1 ELSE 0 END), 0) FROM %s`, tbl)).Scan(&a, &b, &c, &d)
	if err != nil {
		return "", fmt.Errorf("emulator: fingerprint %s: %w", tbl, err)
	}
	return fmt.Sprintf("%s/%s/%s/%s", normNumber(a.String), normNumber(b.String), normNumber(c.String), normNumber(d.String)), nil
}

func pgCount(ctx context.Context, c *pgx.Conn, tbl string) (int64, error) {
	var n int64
	err := c.QueryRow(ctx, "SELECT COUNT(*) FROM "+tbl).Scan(&n)
	return n, err
}

func srCount(ctx context.Context, db *sql.DB, tbl string) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tbl).Scan(&n)
	return n, err
}

// waitUntil polls cond every interval until it is true, returning the time
// it first was, or an error after timeout.
func waitUntil(ctx context.Context, timeout, interval time.Duration, what string, cond func() (bool, string)) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return time.Now(), nil
		}
		if state != "" {
			last = state
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s: not reached after %s (last state: %s)", what, timeout, last)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// normNumber strips insignificant trailing zeros of a decimal text so that
// 12.50 and 12.5 compare equal; other text is returned unchanged.
func normNumber(s string) string {
	// A MySQL-protocol server may print a DECIMAL sum as a float
	// (6.53418436e+08); integral values below 2^53 are exact either way.
	if f, err := strconv.ParseFloat(s, 64); err == nil && strings.ContainsAny(s, "eE") && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	dot := false
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
		case r == '-' && i == 0:
		case r == '.' && !dot:
			dot = true
		default:
			return s
		}
	}
	if !dot {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// queryRowsPG and queryRowsSR run a dashboard query and return its rows as
// sorted text lines.
func queryRowsPG(ctx context.Context, c *pgx.Conn, q string) ([]string, error) {
	// text result format: the values as PostgreSQL prints them
	rows, err := c.Query(ctx, q, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := rows.RawValues()
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = nullText
			if v != nil {
				parts[i] = normNumber(string(v))
			}
		}
		out = append(out, strings.Join(parts, " | "))
	}
	sort.Strings(out)
	return out, rows.Err()
}

func queryRowsSR(ctx context.Context, db *sql.DB, q string) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	ns := make([]sql.NullString, len(cols))
	dst := make([]any, len(cols))
	for i := range ns {
		dst[i] = &ns[i]
	}
	var out []string
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		parts := make([]string, len(cols))
		for i, v := range ns {
			parts[i] = nullText
			if v.Valid {
				parts[i] = normNumber(v.String)
			}
		}
		out = append(out, strings.Join(parts, " | "))
	}
	sort.Strings(out)
	return out, rows.Err()
}
