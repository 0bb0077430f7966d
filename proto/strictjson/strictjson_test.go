package strictjson_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/strictjson"
)

type limits struct {
	TimeoutMS int `json:"timeout_ms"`
	MemoryMB  int `json:"memory_mb"`
}

type body struct {
	Code      string             `json:"code"`
	Limits    limits             `json:"limits"`
	Hosts     []string           `json:"hosts"`
	Secrets   map[string]*string `json:"secrets"`
	Arguments json.RawMessage    `json:"arguments"`
	Items     []limits           `json:"items"`
}

func TestDecodeNamesThePathAndRule(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, path, rule string
		syntax               bool
	}{
		{"unknown top", `{"code":"x","cod":1}`, "cod", "unknown field", false},
		{"unknown nested", `{"limits":{"timeout_ms":1,"memory":2}}`, "limits.memory", "unknown field", false},
		{"unknown in array", `{"items":[{"timeout_ms":1},{"extra":true}]}`, "items[1].extra", "unknown field", false},
		{"wrong type", `{"limits":{"timeout_ms":"30s"}}`, "limits.timeout_ms", "expected integer, got string", false},
		{"wrong type array", `{"hosts":"a.example"}`, "hosts", "expected array, got string", false},
		{"duplicate", `{"code":"a","code":"b"}`, "code", "duplicate key", true},
		{"duplicate nested", `{"limits":{"memory_mb":1,"memory_mb":2}}`, "limits.memory_mb", "duplicate key", true},
		{"trailing", `{"code":"a"} {}`, "", "trailing data", true},
		{"malformed", `{"code":}`, "code", "malformed JSON", true},
		{"truncated", `{"code":"a"`, "", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b body
			err := strictjson.Decode([]byte(tc.in), &b, strictjson.Options{})
			var e *strictjson.Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode(%s) = %v, want *Error", tc.in, err)
			}
			if e.Path != tc.path || !strings.Contains(e.Rule, tc.rule) || e.Syntax != tc.syntax {
				t.Errorf("Decode(%s) = path %q rule %q syntax %v; want %q, %q, %v", tc.in, e.Path, e.Rule, e.Syntax, tc.path, tc.rule, tc.syntax)
			}
		})
	}
}

func TestDecodeDepthAndArgumentsKeptVerbatim(t *testing.T) {
	t.Parallel()
	deep := `{"arguments":` + strings.Repeat(`{"a":`, 64) + `1` + strings.Repeat(`}`, 64) + `}`
	var b body
	err := strictjson.Decode([]byte(deep), &b, strictjson.Options{})
	var e *strictjson.Error
	if !errors.As(err, &e) || !strings.Contains(e.Rule, "nesting deeper than 64") {
		t.Fatalf("depth 65: %v", err)
	}
	ok := `{"code":"c","arguments":{"n":12345678901234567890.5,"Code":1},"secrets":{"A":null,"B":"v"}}`
	if err := strictjson.Decode([]byte(ok), &b, strictjson.Options{}); err != nil {
		t.Fatal(err)
	}
	if string(b.Arguments) != `{"n":12345678901234567890.5,"Code":1}` || b.Secrets["A"] != nil || *b.Secrets["B"] != "v" {
		t.Errorf("decoded %+v", b)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"code":"x"}`, `{"limits":{"timeout_ms":1}}`, `[`, `{"a":{"a":{"a":1}}}`, `{"hosts":["a",1]}`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b body
		err := strictjson.Decode(data, &b, strictjson.Options{MaxDepth: 8})
		if err == nil {
			// Whatever is accepted is valid JSON that encoding/json also accepts.
			var again body
			if json.Unmarshal(data, &again) != nil {
				t.Fatalf("accepted invalid JSON %q", data)
			}
			return
		}
		var e *strictjson.Error
		if !errors.As(err, &e) || e.Rule == "" {
			t.Fatalf("error without a rule: %v", err)
		}
	})
}
