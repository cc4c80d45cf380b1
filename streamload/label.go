package streamload

import (
	"bytes"
	"cmp"
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

// topicIDLen is how many hex digits of a topic ID the readable part of a
// label shows.
const topicIDLen = 8

// OffsetRange is the offsets of one Kafka partition that a batch holds,
// First and Last included.
type OffsetRange struct {
	Topic string
	// TopicID is the topic's Kafka topic ID (KIP-516); zero when unknown. A
	// topic deleted and re-created under the same name gets a new ID and
	// starts its offsets again, so the ID tells its batches apart from the
	// old topic's.
	TopicID   [16]byte
	Partition int32
	First     int64
	Last      int64
}

// ValidLabel reports whether s is a StarRocks label: 1 to 128 characters of
// [-_A-Za-z0-9]. The FE checks every transaction's label against
// FeNameFormat.LABEL_REGEX, ^[-\w]{1,128}$ (Java's \w is ASCII
// [a-zA-Z_0-9]), in DatabaseTransactionMgr.beginTransaction.
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
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// Label returns the deterministic label of a batch of table holding ranges:
//
//	{prefix}-{table}-{topic}[-{topic id}]-{partition}-{first}_{last}[-{topic}…]-{hash}
//
// It names one content: the same inputs always give the same label, and
// two batches with different content (prefix, table, topic, topic ID,
// partition or offsets) get different labels. Ranges are sorted by topic,
// topic ID, partition and offsets first, so the order they are given in does not
// matter. The topic ID, when known (non-zero), goes into the hash and, when
// the whole readable part fits, as its first 8 hex digits after the topic:
// a topic deleted and re-created (new ID, same offsets) gives new labels.
// A zero topic ID changes nothing, so labels are those of versions that
// did not know IDs.
//
// Characters StarRocks does not allow in a label become '_'. The hash (12
// hex digits of SHA-256 over the exact inputs) keeps labels distinct when
// that replacement, a dropped topic ID or the 128-character limit loses
// information; when the readable part does not fit, it is cut so the label
// still names as many of the offsets as fit, and ends in the hash.
func Label(prefix, table string, ranges []OffsetRange) string {
	rs := slices.Clone(ranges)
	slices.SortFunc(rs, func(a, b OffsetRange) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		if c := bytes.Compare(a.TopicID[:], b.TopicID[:]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Partition, b.Partition); c != 0 {
			return c
		}
		// One range per partition is the rule; a total order keeps the
		// label independent of input order even when it is broken.
		if c := cmp.Compare(a.First, b.First); c != 0 {
			return c
		}
		return cmp.Compare(a.Last, b.Last)
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
		if r.TopicID != ([16]byte{}) {
			// After a range's last offset comes either the next topic
			// (Kafka topic names have no ':') or this marked ID.
			write("id:" + hex.EncodeToString(r.TopicID[:]))
		}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])

	b := readable(make([]byte, 0, 2*MaxLabelLen), prefix, table, rs, true)
	if len(b) > MaxLabelLen-hashLen {
		// No room for the topic IDs: the hash still holds them.
		b = readable(b[:0], prefix, table, rs, false)
	}
	if len(b) > MaxLabelLen-hashLen {
		b = b[:MaxLabelLen-hashLen]
	}
	b = append(b, '-')
	b = append(b, hex.EncodeToString(sum[:6])...)
	return string(b)
}

// readable appends the readable part of a label to b.
func readable(b []byte, prefix, table string, rs []OffsetRange, ids bool) []byte {
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
		if ids && r.TopicID != ([16]byte{}) {
			b = append(b, '-')
			b = hex.AppendEncode(b, r.TopicID[:topicIDLen/2])
		}
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(r.Partition), 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, r.First, 10)
		b = append(b, '_')
		b = strconv.AppendInt(b, r.Last, 10)
	}
	return b
}
