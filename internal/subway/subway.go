// Package subway is the reference case's synthetic data: three Seoul-subway
// tables with the seed's DDL, deterministic rows shaped like the real data
// (Korean station names, transfer stations on several lines, numeric
// passenger counts), their Debezium 2.6 change events, and a model of the
// source state to check a target against.
package subway

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/starsink/starsink/schema"
)

// Reference sizes of the initial snapshot.
const (
	InfoRows       = 796
	PassengerRows  = 16784
	TimeRows       = 13080
	DefaultBulk    = 950000
	Database       = "subway"
	TopicPrefix    = "dip.cdc"
	SourceSchema   = "public"
	InfoTable      = "subway_info_copy"
	PassengerTable = "subway_passengers_copy"
	TimeTable      = "subway_passengers_time_copy"
)

// StarRocksDDL creates the target tables (run after CREATE DATABASE/USE).
var StarRocksDDL = []string{
	`CREATE TABLE subway_info_copy (line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL, station_code VARCHAR(20), ext_code VARCHAR(20), reg_date VARCHAR(8)) ENGINE=OLAP PRIMARY KEY(line_no, station_name) DISTRIBUTED BY HASH(line_no, station_name) BUCKETS 1 PROPERTIES("replication_num"="1")`,
	`CREATE TABLE subway_passengers_copy (use_date VARCHAR(8) NOT NULL, line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL, pass_in DECIMAL(13,0), pass_out DECIMAL(13,0), reg_date VARCHAR(8)) ENGINE=OLAP PRIMARY KEY(use_date, line_no, station_name) DISTRIBUTED BY HASH(use_date, line_no, station_name) BUCKETS 4 PROPERTIES("replication_num"="1")`,
	`CREATE TABLE subway_passengers_time_copy (use_month VARCHAR(6) NOT NULL, line_no VARCHAR(100) NOT NULL, station_name VARCHAR(100) NOT NULL, time_band VARCHAR(20) NOT NULL, pass_in DECIMAL(12,0), pass_out DECIMAL(12,0), reg_date VARCHAR(8)) ENGINE=OLAP PRIMARY KEY(use_month, line_no, station_name, time_band) DISTRIBUTED BY HASH(use_month, line_no, station_name, time_band) BUCKETS 4 PROPERTIES("replication_num"="1")`,
}

// Dashboard queries of the reference case, valid on PostgreSQL and
// StarRocks alike.
const (
	// CongestionQuery: the busiest time bands per station.
	CongestionQuery = `SELECT station_name, time_band, SUM(pass_in + pass_out) AS total FROM subway_passengers_time_copy GROUP BY station_name, time_band ORDER BY total DESC, station_name, time_band LIMIT 20`
	// TransferQuery: passenger flow at transfer stations (on more than one line).
	// A joined derived table, not an IN subquery: the emulator's SQL engine
	// evaluates IN (subquery) row by row.
	TransferQuery = `SELECT p.station_name, SUM(p.pass_in + p.pass_out) AS total FROM subway_passengers_copy p JOIN (SELECT station_name FROM subway_info_copy GROUP BY station_name HAVING COUNT(*) > 1) x ON p.station_name = x.station_name GROUP BY p.station_name ORDER BY total DESC, p.station_name LIMIT 20`
)

var baseStations = []string{"서울역", "시청", "종각", "종로3가", "동대문", "신설동", "청량리", "회기", "강남", "역삼", "선릉", "삼성",
	"잠실", "건대입구", "왕십리", "을지로입구", "홍대입구", "신촌", "이대", "합정", "당산", "영등포구청", "신도림", "구로디지털단지",
	"사당", "교대", "서초", "방배", "신림", "봉천", "낙성대", "충무로", "동대문역사문화공원", "약수", "금호", "옥수", "압구정",
	"신사", "고속터미널", "노량진", "여의도", "공덕", "마포", "광화문", "경복궁", "안국", "혜화", "성신여대입구", "수유", "미아",
	"노원", "상계", "창동", "도봉산", "의정부", "수원", "인천", "부평", "김포공항", "마곡", "가양", "신논현", "논현", "학동",
	"청담", "수서", "가락시장", "오금", "천호", "강동", "길동", "하남풍산", "판교", "정자", "미금", "오리", "죽전", "기흥",
	"상봉", "망우", "용산", "이촌", "효창공원앞", "삼각지", "숙대입구", "남영", "대방", "디지털미디어시티", "연신내", "불광"}

var lines = []string{"1호선", "2호선", "3호선", "4호선", "5호선", "6호선", "7호선", "8호선", "9호선", "경의중앙선", "신분당선", "수인분당선", "공항철도"}

// TimeBands are the hourly bands of the time table ("05시-06시" …).
var TimeBands = func() []string {
	var out []string
	for h := 5; h < 25; h++ {
		out = append(out, fmt.Sprintf("%02d시-%02d시", h, h+1))
	}
	return out
}()

// pair is one (line, station) of subway_info_copy.
type pair struct{ line, station string }

// pairs: 700 stations on one line each, the first 96 also on a second line
// (transfer stations): 796 rows.
var pairs = func() []pair {
	var out []pair
	name := func(j int) string {
		if j < len(baseStations) {
			return baseStations[j]
		}
		return baseStations[j%len(baseStations)] + strconv.Itoa(j/len(baseStations)+1)
	}
	for j := 0; j < 700; j++ {
		out = append(out, pair{lines[j%len(lines)], name(j)})
	}
	for j := 0; j < 96; j++ {
		out = append(out, pair{lines[(j+5)%len(lines)], name(j)})
	}
	return out
}()

// Table identifies one of the three tables.
type Table int

const (
	Info Table = iota
	Passengers
	Time
)

// Tables lists the three tables in load order.
var Tables = []Table{Info, Passengers, Time}

// Name is the table's name (the same in PostgreSQL and StarRocks).
func (t Table) Name() string { return [...]string{InfoTable, PassengerTable, TimeTable}[t] }

// Topic is the Debezium topic of the table.
func (t Table) Topic() string { return TopicPrefix + "." + SourceSchema + "." + t.Name() }

// Schema is the StarRocks schema of the table.
func (t Table) Schema() *schema.Table {
	c := schema.NewColumn
	var cols []schema.Column
	switch t {
	case Info:
		cols = []schema.Column{c("line_no", "varchar(100)", false, true), c("station_name", "varchar(100)", false, true),
			c("station_code", "varchar(20)", true, false), c("ext_code", "varchar(20)", true, false), c("reg_date", "varchar(8)", true, false)}
	case Passengers:
		cols = []schema.Column{c("use_date", "varchar(8)", false, true), c("line_no", "varchar(100)", false, true), c("station_name", "varchar(100)", false, true),
			c("pass_in", "decimal(13,0)", true, false), c("pass_out", "decimal(13,0)", true, false), c("reg_date", "varchar(8)", true, false)}
	case Time:
		cols = []schema.Column{c("use_month", "varchar(6)", false, true), c("line_no", "varchar(100)", false, true), c("station_name", "varchar(100)", false, true),
			c("time_band", "varchar(20)", false, true), c("pass_in", "decimal(12,0)", true, false), c("pass_out", "decimal(12,0)", true, false), c("reg_date", "varchar(8)", true, false)}
	}
	return &schema.Table{Database: Database, Name: t.Name(), Model: schema.ModelPrimaryKeys, Columns: cols}
}

// Row is one row's values in column order; nil is NULL. Decimal columns
// hold their integer value as text.
type Row []*string

func s(v string) *string { return &v }

// mix is a deterministic hash for synthetic counts.
func mix(i, salt uint64) uint64 {
	x := i*0x9E3779B97F4A7C15 + salt
	x ^= x >> 31
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 29
	return x
}

// Generate returns row number i of table t at the given version (0 for the
// first write, higher for updates). Rows are unique by key for every i.
func Generate(t Table, i int, version int) Row {
	reg := s(fmt.Sprintf("202406%02d", 1+version%28))
	switch t {
	case Info:
		p := pairs[i%len(pairs)]
		return Row{s(p.line), s(p.station), s(fmt.Sprintf("%04d", 100+i)), nil, reg}
	case Passengers:
		p := pairs[i%len(pairs)]
		day := i / len(pairs)
		date := fmt.Sprintf("%04d%02d%02d", 2015+day/336, 1+day/28%12, 1+day%28)
		in := mix(uint64(i), uint64(version)) % 120000
		out := mix(uint64(i), uint64(version)+77) % 120000
		return Row{s(date), s(p.line), s(p.station), s(strconv.FormatUint(in, 10)), s(strconv.FormatUint(out, 10)), reg}
	default:
		band := i % len(TimeBands)
		p := pairs[(i/len(TimeBands))%len(pairs)]
		m := i / (len(TimeBands) * len(pairs))
		month := fmt.Sprintf("%04d%02d", 1990+m/12, 1+m%12)
		in := mix(uint64(i), uint64(version)+3) % 900000
		out := mix(uint64(i), uint64(version)+9) % 900000
		return Row{s(month), s(p.line), s(p.station), s(TimeBands[band]), s(strconv.FormatUint(in, 10)), s(strconv.FormatUint(out, 10)), reg}
	}
}

// KeyLen is the number of key columns of t.
func (t Table) KeyLen() int { return [...]int{2, 3, 4}[t] }

// Key encodes a row's key for maps.
func Key(t Table, r Row) string {
	k := ""
	for j := 0; j < t.KeyLen(); j++ {
		k += *r[j] + "\x00"
	}
	return k
}

// decimalB64 is Kafka Connect's Decimal encoding of an integer: minimal
// big-endian two's complement, base64.
func decimalB64(dst []byte, n int64) []byte {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(n))
	b := buf[:]
	for len(b) > 1 && (b[0] == 0 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 != 0) {
		b = b[1:]
	}
	return base64.StdEncoding.AppendEncode(dst, b)
}
