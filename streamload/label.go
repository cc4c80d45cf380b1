package streamload

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// MaxLabelLen is StarRocks' label length limit.
const MaxLabelLen = 128

// hashLen is the length of the hash suffix of a label ("-" + 12 hex).
const hashLen = 13

// OffsetRange is the offsets of one Kafka partition that a batch holds,
// First and Last included.
type OffsetRange struct {
	Topic     string
	Partition int32
	First     int64
	Last      int64
}

// ValidLabel reports whether s is a StarRocks label: 1 to 128 characters of
// [-_A-Za-z0-9:].
func ValidLabel(s string) bool {
	if len(s) == 0 || len(s) > MaxLabelLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !labelByte(s[i]) {
			return false
		}
	}
	return true
}

func labelByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ':'
}

// Label returns the deterministic label of a batch of table holding ranges:
//
//	{prefix}-{table}-{topic}-{partition}-{first}_{last}[-{topic}-{partition}-{first}_{last}…]-{hash}
//
// Ranges are sorted by topic and partition first, so the order they are
// given in does not matter. Characters StarRocks does not allow in a label
// become '_'. The hash (12 hex digits of SHA-256 over the exact inputs)
// keeps labels distinct when that replacement or the 128-character limit
// loses information; when the readable part does not fit, it is cut so the
// label still names as many of the offsets as fit, and ends in the hash.
func Label(prefix, table string, ranges []OffsetRange) string {
	rs := slices.Clone(ranges)
	slices.SortFunc(rs, func(a, b OffsetRange) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition) - int(b.Partition)
	})

	h := sha256.New()
	var num [20]byte
	write := func(s string) {
		h.Write(strconv.AppendInt(num[:0], int64(len(s)), 10))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	write(prefix)
	write(table)
	for _, r := range rs {
		write(r.Topic)
		write(strconv.FormatInt(int64(r.Partition), 10))
		write(strconv.FormatInt(r.First, 10))
		write(strconv.FormatInt(r.Last, 10))
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])

	b := make([]byte, 0, 2*MaxLabelLen)
	appendClean := func(s string) {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !labelByte(c) {
				c = '_'
			}
			b = append(b, c)
		}
	}
	if prefix != "" {
		appendClean(prefix)
		b = append(b, '-')
	}
	appendClean(table)
	for _, r := range rs {
		b = append(b, '-')
		appendClean(r.Topic)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(r.Partition), 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, r.First, 10)
		b = append(b, '_')
		b = strconv.AppendInt(b, r.Last, 10)
	}
	if len(b) > MaxLabelLen-hashLen {
		b = b[:MaxLabelLen-hashLen]
	}
	b = append(b, '-')
	b = append(b, hex.EncodeToString(sum[:6])...)
	return string(b)
}
