package schema

import "testing"

func TestParseType(t *testing.T) {
	tests := []struct {
		in                 string
		kind               Kind
		prec, scale, width int
	}{
		{"DECIMAL(13, 0)", KindDecimal, 13, 0, 0},
		{"decimal128(38,9)", KindDecimal, 38, 9, 0},
		{"decimal", KindDecimal, 10, 0, 0},
		{"varchar(100)", KindVarchar, 0, 0, 100},
		{"char(5)", KindChar, 0, 0, 5},
		{"int(11)", KindInt, 0, 0, 0},
		{"bigint(20)", KindBigInt, 0, 0, 0},
		{"DATETIME", KindDatetime, 0, 0, 0},
		{"date", KindDate, 0, 0, 0},
		{"array<int(11)>", KindArray, 0, 0, 0},
		{"json", KindJSON, 0, 0, 0},
		{"varbinary(16)", KindBinary, 0, 0, 0},
		{"varchar", KindVarchar, 0, 0, 1},
		{"varchar(65533)", KindVarchar, 0, 0, 65533}, // STRING, as information_schema.columns spells it
		{"tinyint(1)", KindBoolean, 0, 0, 0},         // BOOLEAN, likewise
		{"tinyint(4)", KindTinyInt, 0, 0, 0},
		{"bigint(20) unsigned", KindLargeInt, 0, 0, 0}, // LARGEINT, likewise
		{"largeint(40)", KindLargeInt, 0, 0, 0},        // LARGEINT inside a nested type
		{"decimal(5, 1)", KindDecimal, 5, 1, 0},
		{"map<varchar(8),bigint(20)>", KindMap, 0, 0, 0},
		{"struct<a int(11), b varchar(65533)>", KindStruct, 0, 0, 0},
		{"geometry", KindUnknown, 0, 0, 0},
		// The BE scanner's spellings (schema_columns_scanner.cpp
		// type_to_string): no space in decimal, "unknown" for ARRAY, MAP,
		// STRUCT and VARBINARY.
		{"decimal(13,2)", KindDecimal, 13, 2, 0},
		{"unknown", KindUnknown, 0, 0, 0},
		// SHOW COLUMNS' Type (Type.canonicalName, lower-cased).
		{"decimal64(10,2)", KindDecimal, 10, 2, 0},
		{"array<int>", KindArray, 0, 0, 0},
	}
	for _, tt := range tests {
		k, p, s, l := ParseType(tt.in)
		if k != tt.kind || p != tt.prec || s != tt.scale || l != tt.width {
			t.Errorf("ParseType(%q) = %v,%d,%d,%d; want %v,%d,%d,%d", tt.in, k, p, s, l, tt.kind, tt.prec, tt.scale, tt.width)
		}
	}
}

func TestModel(t *testing.T) {
	for _, m := range []Model{ModelPrimaryKeys, ModelDupKeys, ModelUniqueKeys, ModelAggKeys} {
		got, err := ParseModel(m.String())
		if err != nil || got != m {
			t.Errorf("ParseModel(%q) = %v, %v", m.String(), got, err)
		}
	}
	// The FE's spelling, the documentation's, and the DDL's words.
	for in, want := range map[string]Model{"PRI_KEYS": ModelPrimaryKeys, "UNQ_KEYS": ModelUniqueKeys,
		"unique_keys": ModelUniqueKeys, " DUPLICATE ": ModelDupKeys, "AGGREGATE": ModelAggKeys} {
		if got, err := ParseModel(in); err != nil || got != want {
			t.Errorf("ParseModel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseModel("OLAP"); err == nil {
		t.Error("ParseModel(OLAP) should fail")
	}
}

func TestTableIndex(t *testing.T) {
	tb := Table{Columns: []Column{NewColumn("use_date", "varchar(8)", false, true), NewColumn("pass_in", "decimal(13,0)", true, false)}}
	if tb.Index("PASS_IN") != 1 || tb.Index("nope") != -1 {
		t.Fatal("Index")
	}
	if k := tb.KeyColumns(); len(k) != 1 || k[0] != "use_date" {
		t.Fatalf("KeyColumns = %v", k)
	}
}

func TestAllReplace(t *testing.T) {
	key := Column{Name: "k", Key: true}
	val := func(agg string) Column { return Column{Name: "v" + agg, Agg: agg} }
	tests := []struct {
		name  string
		model Model
		cols  []Column
		want  bool
	}{
		{"every value column REPLACE", ModelAggKeys, []Column{key, val(AggReplace), val(AggReplace)}, true},
		{"key columns only", ModelAggKeys, []Column{key}, true},
		{"a SUM column", ModelAggKeys, []Column{key, val(AggReplace), val(AggSum)}, false},
		{"REPLACE_IF_NOT_NULL ignores NULLs", ModelAggKeys, []Column{key, val(AggReplaceIfNotNull)}, false},
		{"function unknown", ModelAggKeys, []Column{key, val("")}, false},
		{"not an Aggregate Key table", ModelUniqueKeys, []Column{key, val(AggReplace)}, false},
		{"Primary Key table", ModelPrimaryKeys, []Column{key, {Name: "v"}}, false},
	}
	for _, tt := range tests {
		tb := Table{Model: tt.model, Columns: tt.cols}
		if got := tb.AllReplace(); got != tt.want {
			t.Errorf("%s: AllReplace = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func FuzzParseType(f *testing.F) {
	for _, s := range []string{"decimal(13,2)", "decimal(13, 2)", "unknown", "array<int(11)>", "varchar(65533)",
		"bigint(20) unsigned", "decimal64(10,2)", "tinyint(1)", "char(", "decimal(,)", "varchar(-1)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, p, sc, l := ParseType(s)
		if int(k) >= len(kindNames) {
			t.Fatalf("ParseType(%q): kind %d out of range", s, k)
		}
		if k != KindDecimal && (p != 0 || sc != 0) || !k.IsText() && l != 0 {
			t.Fatalf("ParseType(%q) = %v,%d,%d,%d: precision, scale or length on the wrong kind", s, k, p, sc, l)
		}
	})
}
