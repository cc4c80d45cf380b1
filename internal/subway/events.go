package subway

import (
	"strconv"
	"strings"
)

// Event renders Debezium 2.6 PostgreSQL change events of the three tables,
// as the JsonConverter writes them, into reused buffers.
type Event struct {
	Schemas bool // value.converter.schemas.enable
	lsn     int64
	tx      int64

	valueSchema [3]string // the envelope schema of each table
	keySchema   [3]string
}

// NewEvents returns a renderer; schemas says whether values and keys carry
// JsonConverter's schema.
func NewEvents(schemas bool) *Event {
	e := &Event{Schemas: schemas, lsn: 5435922728, tx: 90871}
	for _, t := range Tables {
		e.valueSchema[t], e.keySchema[t] = envelopeSchema(t)
	}
	return e
}

// Value appends the value of one change event: op is "r", "c", "u" or "d";
// before and after are nil where Debezium writes null.
func (e *Event) Value(dst []byte, t Table, op string, before, after Row) []byte {
	e.lsn += 168
	if op != "r" {
		e.tx++
	}
	if e.Schemas {
		dst = append(dst, `{"schema":`...)
		dst = append(dst, e.valueSchema[t]...)
		dst = append(dst, `,"payload":`...)
	}
	dst = append(dst, `{"before":`...)
	dst = appendRow(dst, t, before)
	dst = append(dst, `,"after":`...)
	dst = appendRow(dst, t, after)
	dst = append(dst, `,"source":{"version":"2.6.2.Final","connector":"postgresql","name":"dip.cdc","ts_ms":1717549512345,"snapshot":`...)
	if op == "r" {
		dst = append(dst, `"true"`...)
	} else {
		dst = append(dst, `"false"`...)
	}
	dst = append(dst, `,"db":"subway","sequence":"[null,\"`...)
	dst = strconv.AppendInt(dst, e.lsn, 10)
	dst = append(dst, `\"]","ts_us":1717549512345678,"ts_ns":1717549512345678000,"schema":"public","table":"`...)
	dst = append(dst, t.Name()...)
	dst = append(dst, `","txId":`...)
	dst = strconv.AppendInt(dst, e.tx, 10)
	dst = append(dst, `,"lsn":`...)
	dst = strconv.AppendInt(dst, e.lsn, 10)
	dst = append(dst, `,"xmin":null},"op":"`...)
	dst = append(dst, op...)
	dst = append(dst, `","ts_ms":1717549512671,"ts_us":1717549512671052,"ts_ns":1717549512671052384,"transaction":null}`...)
	if e.Schemas {
		dst = append(dst, '}')
	}
	return dst
}

// Key appends the record key of a row (its primary key).
func (e *Event) Key(dst []byte, t Table, r Row) []byte {
	if e.Schemas {
		dst = append(dst, `{"schema":`...)
		dst = append(dst, e.keySchema[t]...)
		dst = append(dst, `,"payload":`...)
	}
	dst = append(dst, '{')
	for j, name := range columnCache[t][:t.KeyLen()] {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, `":"`...)
		dst = append(dst, *r[j]...)
		dst = append(dst, '"')
	}
	dst = append(dst, '}')
	if e.Schemas {
		dst = append(dst, '}')
	}
	return dst
}

var columnCache = func() (out [3][]string) {
	for _, t := range Tables {
		for _, c := range t.Schema().Columns {
			out[t] = append(out[t], c.Name)
		}
	}
	return out
}()

func appendRow(dst []byte, t Table, r Row) []byte {
	if r == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '{')
	cols := columnCache[t]
	for j, v := range r {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, cols[j]...)
		dst = append(dst, `":`...)
		switch {
		case v == nil:
			dst = append(dst, "null"...)
		case strings.HasPrefix(cols[j], "pass_"):
			n, _ := strconv.ParseInt(*v, 10, 64)
			dst = append(dst, '"')
			dst = decimalB64(dst, n)
			dst = append(dst, '"')
		default:
			dst = append(dst, '"')
			dst = append(dst, *v...)
			dst = append(dst, '"')
		}
	}
	return append(dst, '}')
}

// envelopeSchema builds the JsonConverter schema of t's envelope and key,
// field for field as Debezium 2.6.2 writes them.
func envelopeSchema(t Table) (value, key string) {
	var row, keyFields []string
	for _, c := range t.Schema().Columns {
		var f string
		if strings.HasPrefix(c.Name, "pass_") {
			f = `{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"0","connect.decimal.precision":"` +
				strconv.Itoa(c.Precision) + `"},"field":"` + c.Name + `"}`
		} else {
			f = `{"type":"string","optional":` + strconv.FormatBool(!c.Key) + `,"field":"` + c.Name + `"}`
		}
		row = append(row, f)
		if c.Key {
			keyFields = append(keyFields, f)
		}
	}
	name := TopicPrefix + "." + SourceSchema + "." + t.Name()
	rowStruct := func(field string) string {
		return `{"type":"struct","fields":[` + strings.Join(row, ",") + `],"optional":true,"name":"` + name + `.Value","field":"` + field + `"}`
	}
	source := `{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},{"type":"int64","optional":true,"field":"xmin"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","field":"source"}`
	value = `{"type":"struct","fields":[` + rowStruct("before") + `,` + rowStruct("after") + `,` + source +
		`,{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"}],"optional":false,"name":"` +
		name + `.Envelope","version":2}`
	key = `{"type":"struct","fields":[` + strings.Join(keyFields, ",") + `],"optional":false,"name":"` + name + `.Key"}`
	return value, key
}
