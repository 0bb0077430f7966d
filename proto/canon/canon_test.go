package canon_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/mcpbox/mcpbox/proto/canon"
)

func TestMarshal(t *testing.T) {
	t.Parallel()
	type inner struct {
		Zeta  int    `json:"zeta"`
		Alpha string `json:"alpha"`
		Skip  string `json:"skip,omitempty"`
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"html characters stay raw", "<b>&amp;</b>", `"<b>&amp;</b>"`},
		{"line and paragraph separators stay raw", "a\u2028b\u2029c", "\"a\u2028b\u2029c\""},
		{"non-ASCII stays raw", "é ✓ 😀", `"é ✓ 😀"`},
		{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"other controls as lowercase \\u00xx", "\x00\x01\x1f\x0b", `"\u0000\u0001\u001f\u000b"`},
		{"quote and backslash", `"\`, `"\"\\"`},
		{"slash and DEL stay raw", "/\x7f", "\"/\x7f\""},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", "\"a\uFFFDb\""},
		{"null", nil, `null`},
		{"literals", []any{true, false, nil}, `[true,false,null]`},
		{"integer", 30000, `30000`},
		{"negative zero", math.Copysign(0, -1), `0`},
		{"float without fraction", 1.0, `1`},
		{"large float", 1e21, `1e+21`},
		{"largest plain float", 1e20, `100000000000000000000`},
		{"small float", 1e-7, `1e-7`},
		{"plain small float", 0.000001, `0.000001`},
		{"shortest round trip", math.Nextafter(0.3, 1), `0.30000000000000004`}, // 0.1 + 0.2
		{"2^53 + 1 is not exact", int64(1<<53 + 1), `9007199254740992`},
		{"max int64", int64(math.MaxInt64), `9223372036854776000`},
		{"struct tags and key order", inner{Zeta: 1, Alpha: "a"}, `{"alpha":"a","zeta":1}`},
		{"nested objects and empty values", map[string]any{"b": []any{}, "a": map[string]any{}, "c": ""}, `{"a":{},"b":[],"c":""}`},
		{"raw message whitespace", json.RawMessage(" { \"b\" : [ 1 , 2 ] , \"a\" : null } "), `{"a":null,"b":[1,2]}`},
		{
			"raw number forms", json.RawMessage(`[1E2, 1.50, -0, 0.0, 1e-27, 333333333.33333329, 4.50, 2e-3]`),
			`[100,1.5,0,0,1e-27,333333333.3333333,4.5,0.002]`,
		},
		{
			"raw escapes are undone", json.RawMessage(`"\u003c\u0026\u003e\/\u00e9\ud83d\ude00\u2028\u001F"`),
			"\"<&>/é😀\u2028\\u001f\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := canon.Marshal(tt.in)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestMarshalKeyOrderUTF16 uses the sorting example of RFC 8785 §3.2.3: keys
// are ordered by UTF-16 code units, so U+1F600 (D83D DE00) sorts before
// U+FB33, the reverse of their UTF-8 byte order.
func TestMarshalKeyOrderUTF16(t *testing.T) {
	t.Parallel()
	in := json.RawMessage(`{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`)
	want := "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\"," +
		"\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\"," +
		"\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"
	got, err := canon.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
	// A Go map gives the same order.
	m := map[string]string{"\u20ac": "e", "\ufb33": "d", "\U0001F600": "g", "1": "o"}
	got, err = canon.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"1\":\"o\",\"€\":\"e\",\"😀\":\"g\",\"\ufb33\":\"d\"}"; string(got) != want {
		t.Errorf("Marshal(map) = %s, want %s", got, want)
	}
}

// TestMarshalRFC8785Example is the example of RFC 8785 §3.2.2.
func TestMarshalRFC8785Example(t *testing.T) {
	t.Parallel()
	in := json.RawMessage(`{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`)
	want := `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`
	got, err := canon.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
}

func TestMarshalErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]any{
		"unsupported type":  make(chan int),
		"NaN":               math.NaN(),
		"infinity":          math.Inf(1),
		"duplicate key":     json.RawMessage(`{"a":1,"a":2}`),
		"nested duplicate":  json.RawMessage(`{"x":{"a":1,"b":2,"a":3}}`),
		"invalid raw JSON":  json.RawMessage(`{"a":}`),
		"trailing raw data": json.RawMessage(`{} {}`),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got, err := canon.Marshal(in); err == nil {
				t.Errorf("Marshal = %s, want an error", got)
			}
		})
	}
}

// TestMarshalIdempotent: canonical JSON is a fixed point.
func TestMarshalIdempotent(t *testing.T) {
	t.Parallel()
	first, err := canon.Marshal(map[string]any{"z": []any{1.5, "<&>", nil}, "a": map[string]any{"\u2028": true}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := canon.Marshal(json.RawMessage(first))
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Errorf("not a fixed point:\n%s\n%s", first, second)
	}
}
