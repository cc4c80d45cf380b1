//go:build e2e

package e2e

import "fmt"

// table describes one table of the reference case on both sides.
type table struct {
	name    string
	pk      []string
	cols    []string // every column, primary key first
	pgDDL   string
	srDDL   string
	initial int // rows before the connector starts
	// target is what is read in StarRocks when it is not the table of
	// the same name: a versioned table's latest-row view.
	target string
}

// srName is the table or view read in StarRocks.
func (tb table) srName() string {
	if tb.target != "" {
		return tb.target
	}
	return tb.name
}

var subwayTables = []table{
	{
		name: "subway_info_copy",
		pk:   []string{"line_no", "station_name"},
		cols: []string{"line_no", "station_name", "station_code", "ext_code", "reg_date"},
		pgDDL: `CREATE TABLE public.subway_info_copy (
  line_no varchar(100) NOT NULL, station_name varchar(100) NOT NULL,
  station_code varchar(20) NULL, ext_code varchar(20) NULL, reg_date varchar(8) NULL,
  PRIMARY KEY (line_no, station_name))`,
		srDDL: `CREATE TABLE subway_info_copy (
  line_no varchar(100) NOT NULL, station_name varchar(100) NOT NULL,
  station_code varchar(20) NULL, ext_code varchar(20) NULL, reg_date varchar(8) NULL)
PRIMARY KEY (line_no, station_name)
DISTRIBUTED BY HASH (line_no, station_name)`,
		initial: 796,
	},
	{
		name: "subway_passengers_copy",
		pk:   []string{"use_date", "line_no", "station_name"},
		cols: []string{"use_date", "line_no", "station_name", "pass_in", "pass_out", "reg_date"},
		pgDDL: `CREATE TABLE public.subway_passengers_copy (
  use_date varchar(8) NOT NULL, line_no varchar(100) NOT NULL, station_name varchar(100) NOT NULL,
  pass_in numeric(13) NULL, pass_out numeric(13) NULL, reg_date varchar(8) NULL,
  PRIMARY KEY (use_date, line_no, station_name))`,
		srDDL: `CREATE TABLE subway_passengers_copy (
  use_date varchar(8) NOT NULL, line_no varchar(100) NOT NULL, station_name varchar(100) NOT NULL,
  pass_in DECIMAL(13,0) NULL, pass_out DECIMAL(13,0) NULL, reg_date varchar(8) NULL)
PRIMARY KEY (use_date, line_no, station_name)
DISTRIBUTED BY HASH (use_date, line_no, station_name)`,
		initial: 16784,
	},
	{
		name: "subway_passengers_time_copy",
		pk:   []string{"use_month", "line_no", "station_name", "time_band"},
		cols: []string{"use_month", "line_no", "station_name", "time_band", "pass_in", "pass_out", "reg_date"},
		pgDDL: `CREATE TABLE public.subway_passengers_time_copy (
  use_month varchar(6) NOT NULL, line_no varchar(100) NOT NULL, station_name varchar(100) NOT NULL,
  time_band varchar(20) NOT NULL, pass_in numeric(12) NULL, pass_out numeric(12) NULL, reg_date varchar(8) NULL,
  PRIMARY KEY (use_month, line_no, station_name, time_band))`,
		srDDL: `CREATE TABLE subway_passengers_time_copy (
  use_month varchar(6) NOT NULL, line_no varchar(100) NOT NULL, station_name varchar(100) NOT NULL,
  time_band varchar(20) NOT NULL, pass_in DECIMAL(12,0) NULL, pass_out DECIMAL(12,0) NULL, reg_date varchar(8) NULL)
PRIMARY KEY (use_month, line_no, station_name, time_band)
DISTRIBUTED BY HASH (use_month, line_no, station_name, time_band)`,
		initial: 13080,
	},
}

// stationsSQL is a view of the 796 synthetic stations: lines 1호선…9호선
// (89 stations on lines 1–4, 88 on 5–9), Korean names from two syllable
// lists. Neighbouring lines share a range of names, so some stations are
// transfer stations, as in the real data.
const stationsSQL = `CREATE VIEW e2e_stations AS
WITH a(i, s) AS (SELECT ordinality::int - 1, s FROM unnest(ARRAY['강','서','신','동','남','북','중','시','역','을',
  '종','광','충','교','대','수','합','당','사','홍','성','영','천','왕','구','목','노','상','방','석']) WITH ORDINALITY s),
     b(i, s) AS (SELECT ordinality::int - 1, s FROM unnest(ARRAY['남','울','림','대문','산','정','앙','청','삼','지로',
  '로','화문','무로','대','구','원','정','산','당','대입구','수','등포','호','십리','로','동','원','계','배','촌']) WITH ORDINALITY s)
SELECT l AS line, n AS seq, l || '호선' AS line_no, a.s || b.s || '역' AS station_name
FROM generate_series(1, 9) g(l), generate_series(0, 899) h(n), a, b
WHERE n >= (l - 1) * 37 AND n < (l - 1) * 37 + CASE WHEN l <= 4 THEN 89 ELSE 88 END
  AND a.i = n % 30 AND b.i = n / 30`

// seedSQL fills the three tables with the reference case's initial sizes.
var seedSQL = []string{
	`INSERT INTO subway_info_copy
SELECT line_no, station_name, lpad((line * 1000 + seq)::text, 6, '0'), 'X' || (line * 1000 + seq), '20240101'
FROM e2e_stations`,
	// days 0…21 of 2023 for every station, 16,784 rows
	`INSERT INTO subway_passengers_copy
SELECT to_char(date '2023-01-01' + d, 'YYYYMMDD'), line_no, station_name,
  (d * 7919 + seq * 104729 + line * 13) % 60000, (d * 6007 + seq * 3571 + line * 17) % 60000,
  to_char(date '2023-01-01' + d + 3, 'YYYYMMDD')
FROM e2e_stations, generate_series(0, 21) d ORDER BY d, line, seq LIMIT 16784`,
	// 654 stations x 20 time bands in 202401, 13,080 rows
	`INSERT INTO subway_passengers_time_copy
SELECT '202401', line_no, station_name, lpad(h::text, 2, '0') || '~' || lpad(((h + 1) % 24)::text, 2, '0'),
  (h * 811 + seq * 37 + line) % 9000, (h * 733 + seq * 41 + line) % 9000, '20240201'
FROM (SELECT * FROM e2e_stations ORDER BY line, seq LIMIT 654) s, generate_series(5, 24) h`,
}

// bulkInsertSQL inserts n rows into subway_passengers_copy from day 22 on.
func bulkInsertSQL(n int) string {
	return fmt.Sprintf(`INSERT INTO subway_passengers_copy
SELECT to_char(date '2023-01-01' + d, 'YYYYMMDD'), line_no, station_name,
  (d * 7919 + seq * 104729 + line * 13) %% 60000, (d * 6007 + seq * 3571 + line * 17) %% 60000,
  to_char(date '2023-01-01' + d + 3, 'YYYYMMDD')
FROM e2e_stations, generate_series(22, 22 + %d / 796 + 1) d ORDER BY d, line, seq LIMIT %d`, n, n)
}

// bulkUpdateSQL changes n rows of subway_passengers_copy (the earliest dates).
func bulkUpdateSQL(n int) string {
	return fmt.Sprintf(`UPDATE subway_passengers_copy p SET pass_in = p.pass_in + 1, pass_out = NULL, reg_date = '20991231'
FROM (SELECT use_date, line_no, station_name FROM subway_passengers_copy ORDER BY use_date, line_no, station_name LIMIT %d) k
WHERE p.use_date = k.use_date AND p.line_no = k.line_no AND p.station_name = k.station_name`, n)
}

// bulkDeleteSQL deletes n rows of subway_passengers_copy (the latest dates).
func bulkDeleteSQL(n int) string {
	return fmt.Sprintf(`DELETE FROM subway_passengers_copy p
USING (SELECT use_date, line_no, station_name FROM subway_passengers_copy ORDER BY use_date DESC, line_no, station_name LIMIT %d) k
WHERE p.use_date = k.use_date AND p.line_no = k.line_no AND p.station_name = k.station_name`, n)
}

// dashboards are the reference case's two BI queries, in SQL both sides
// accept. Results are compared as sets, so no ORDER BY. The transfer
// stations are a joined derived table rather than an IN subquery, which the
// emulator's SQL engine evaluates row by row (minutes instead of seconds).
var dashboards = []struct{ name, sql string }{
	{"congestion by time band per station", `SELECT line_no, station_name, time_band,
  SUM(pass_in) AS pass_in, SUM(pass_out) AS pass_out, SUM(pass_in + pass_out) AS total
FROM subway_passengers_time_copy GROUP BY line_no, station_name, time_band`},
	{"passenger flow at transfer stations", `SELECT p.station_name, COUNT(DISTINCT p.line_no) AS line_count,
  SUM(p.pass_in) AS pass_in, SUM(p.pass_out) AS pass_out
FROM subway_passengers_copy p
JOIN (SELECT station_name FROM subway_info_copy GROUP BY station_name HAVING COUNT(DISTINCT line_no) > 1) x
  ON p.station_name = x.station_name
GROUP BY p.station_name`},
}
