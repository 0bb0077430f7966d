package toolcall

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

// violations validates args against schema and returns the text's
// violation lines.
func violations(t *testing.T, schema, args string) []string {
	t.Helper()
	v, err := CompileSchema(json.RawMessage(schema))
	if err != nil {
		t.Fatalf("compile %s: %v", schema, err)
	}
	_, refusal := ValidateArguments("s__t", v, json.RawMessage(args))
	if refusal == "" {
		return nil
	}
	lines := strings.Split(refusal, "\n")
	if lines[0] != "Invalid arguments for s__t:" || !strings.HasPrefix(lines[len(lines)-1], "Expected input schema: ") {
		t.Fatalf("malformed text %q", refusal)
	}
	return lines[1 : len(lines)-1]
}

// TestValidationRulesAreReworded checks the wording of each rule, the JSON
// pointers and the order (properties by name, then missing ones).
func TestValidationRulesAreReworded(t *testing.T) {
	t.Parallel()
	obj := func(props string, extra ...string) string {
		return `{"type":"object","properties":{` + props + `}` + strings.Join(extra, "") + `}`
	}
	tests := []struct {
		name, schema, args string
		want               []string
	}{
		{"type", obj(`"days":{"type":"integer"}`), `{"days":"3"}`, []string{`- /days: expected integer, got string "3"`}},
		{"type union", obj(`"a":{"type":["string","null"]}`), `{"a":3}`, []string{`- /a: expected string or null, got integer 3`}},
		{"type of a fraction", obj(`"a":{"type":"integer"}`), `{"a":2.5}`, []string{`- /a: expected integer, got number 2.5`}},
		{"type of an object", obj(`"a":{"type":"string"}`), `{"a":{"b":1}}`, []string{`- /a: expected string, got object`}},
		{
			"required", obj(`"city":{"type":"string"}`, `,"required":["city","days"]`), `{}`,
			[]string{`- /city: required property is missing`, `- /days: required property is missing`},
		},
		{
			"closed", obj(`"city":{"type":"string"},"days":{"type":"integer"}`, `,"additionalProperties":false`),
			`{"city":"x","hours":1}`,
			[]string{`- /hours: unknown property (allowed: city, days)`},
		},
		{
			"closed and empty", `{"type":"object","additionalProperties":false}`, `{"a":1}`,
			[]string{`- /a: unknown property (no properties are allowed here)`},
		},
		{"minimum", obj(`"d":{"type":"integer","minimum":1}`), `{"d":0}`, []string{`- /d: must be at least 1`}},
		{"maximum", obj(`"d":{"type":"number","maximum":7.5}`), `{"d":8}`, []string{`- /d: must be at most 7.5`}},
		{"exclusiveMinimum", obj(`"d":{"exclusiveMinimum":0}`), `{"d":0}`, []string{`- /d: must be greater than 0`}},
		{"exclusiveMaximum", obj(`"d":{"exclusiveMaximum":10}`), `{"d":10}`, []string{`- /d: must be less than 10`}},
		{"multipleOf", obj(`"d":{"multipleOf":5}`), `{"d":7}`, []string{`- /d: must be a multiple of 5`}},
		{"minLength", obj(`"s":{"minLength":1}`), `{"s":""}`, []string{`- /s: must be at least 1 character long`}},
		{"maxLength", obj(`"s":{"maxLength":3}`), `{"s":"abcd"}`, []string{`- /s: must be at most 3 characters long`}},
		{"pattern", obj(`"s":{"pattern":"^[a-z]+$"}`), `{"s":"A"}`, []string{`- /s: must match the pattern ^[a-z]+$`}},
		{"enum", obj(`"u":{"enum":["c","f",1]}`), `{"u":"k"}`, []string{`- /u: must be one of: "c", "f", 1`}},
		{"const", obj(`"v":{"const":"v1"}`), `{"v":"v2"}`, []string{`- /v: must be exactly "v1"`}},
		{"minItems", obj(`"l":{"type":"array","minItems":1}`), `{"l":[]}`, []string{`- /l: must have at least 1 item`}},
		{"maxItems", obj(`"l":{"type":"array","maxItems":2}`), `{"l":[1,2,3]}`, []string{`- /l: must have at most 2 items`}},
		{"uniqueItems", obj(`"l":{"type":"array","uniqueItems":true}`), `{"l":[1,1]}`, []string{`- /l: items must be unique`}},
		{
			"items", obj(`"tags":{"type":"array","items":{"type":"string","maxLength":3}}`), `{"tags":["ok","long",1]}`,
			[]string{`- /tags/1: must be at most 3 characters long`, `- /tags/2: expected string, got integer 1`},
		},
		{
			"map values", obj(`"m":{"type":"object","additionalProperties":{"type":"integer"}}`), `{"m":{"a":1,"b":"x"}}`,
			[]string{`- /m/b: expected integer, got string "x"`},
		},
		{
			"nested", obj(`"o":{"type":"object","properties":{"p":{"type":"object","properties":{"q":{"type":"boolean"}},"required":["r"]}}}`),
			`{"o":{"p":{"q":null}}}`,
			[]string{`- /o/p/q: expected boolean, got null`, `- /o/p/r: required property is missing`},
		},
		{"minProperties", `{"type":"object","minProperties":1}`, `{}`, []string{`- (arguments): must have at least 1 property`}},
		{
			"ref", `{"type":"object","$defs":{"p":{"type":"integer","minimum":3}},"properties":{"a":{"$ref":"#/$defs/p"}}}`,
			`{"a":1}`,
			[]string{`- /a: must be at least 3`},
		},
		{
			"anyOf", obj(`"b":{"anyOf":[{"type":"string"},{"type":"integer"}]}`), `{"b":true}`,
			[]string{`- /b: must match at least one of the allowed schemas (anyOf)`},
		},
		{
			"oneOf", obj(`"b":{"oneOf":[{"type":"number"},{"type":"integer"}]}`), `{"b":1}`,
			[]string{`- /b: must match exactly one of the allowed schemas (oneOf)`},
		},
		{
			"not", obj(`"n":{"type":"string","not":{"type":"string","pattern":"^mcpbox"}}`), `{"n":"mcpbox_x"}`,
			[]string{`- /n: must not match {"type":"string","pattern":"^mcpbox"}`},
		},
		{
			"inside an applicator", obj(`"c":{"type":"object","properties":{"d":{"type":"object","properties":{"e":{"pattern":"^z"}}}},"not":{"required":["x"]}}`),
			`{"c":{"d":{"e":"y"}}}`,
			[]string{`- /c/d/e: must match the pattern ^z`},
		},
		{
			"draft-07", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"a":{"type":"integer"}}}`,
			`{"a":"x"}`,
			[]string{`- /a: expected integer, got string "x"`},
		},
		{
			"escaped names", obj(`"a/b":{"type":"integer"},"c~d":{"type":"integer"}`), `{"a/b":"x","c~d":"y"}`,
			[]string{`- /a~1b: expected integer, got string "x"`, `- /c~0d: expected integer, got string "y"`},
		},
		{
			"a control character in a name", `{"type":"object","additionalProperties":false}`, "{\"a\\nb\":1}",
			[]string{`- /a\u000ab: unknown property (no properties are allowed here)`},
		},
		{
			"too big a number", `{"type":"object"}`, `{"n":1e999}`,
			[]string{`- (arguments): holds a number too large to check; send it within ±1.7e308`},
		},
		{"valid", obj(`"a":{"type":"integer"}`, `,"required":["a"],"additionalProperties":false`), `{"a":1}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := violations(t, tc.schema, tc.args)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("violations:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestViolationsAreCappedAtTen: 15 unknown properties list 10 and say more
// were left out.
func TestViolationsAreCappedAtTen(t *testing.T) {
	t.Parallel()
	var props []string
	for i := range 15 {
		props = append(props, fmt.Sprintf(`"p%02d":1`, i))
	}
	got := violations(t, `{"type":"object","additionalProperties":false}`, "{"+strings.Join(props, ",")+"}")
	if len(got) != 11 || got[9] != "- /p09: unknown property (no properties are allowed here)" || got[10] != "(more violations not shown)" {
		t.Errorf("lines = %q", got)
	}
}

// TestAnUncompilableSchemaIsNotEnforcedAndLoggedOncePerVersion: the
// arguments go to the sandbox unchecked; one warning per version.
func TestAnUncompilableSchemaIsNotEnforcedAndLoggedOncePerVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ext := withSchema(extTool(), `{"type":"object","properties":{"q":{"$ref":"https://schemas.example.com/q.json"}}}`)
	p := planOf(ext)
	h.backend.Handle("/internal/v1/tools/", planServer(p))
	h.cat.set(snapshot(1, []proto.CatalogTool{ext}), nil)
	h.sandbox.Handle(proto.PathSandboxMCPCall, jsonAnswer(http.StatusOK, proto.MCPCallResponse{
		OK: true, Result: json.RawMessage(`{"content":[{"type":"text","text":"ok"}]}`),
	}))
	for range 3 {
		if r := h.svc.User(t.Context(), caller.Local(), searchName, json.RawMessage(`{"q":5}`)); r.IsError {
			t.Fatalf("call refused: %s", text(t, r))
		}
	}
	if n := len(h.sandbox.Requests(proto.PathSandboxMCPCall)); n != 3 {
		t.Errorf("sandbox got %d calls, want 3", n)
	}
	if n := strings.Count(h.logs.String(), "input schema cannot be compiled"); n != 1 {
		t.Errorf("logged %d times, want once: %s", n, h.logs)
	}
}

// FuzzArgumentViolations feeds hostile schemas and arguments to the
// validator and the text formatter: no panic; invalid arguments give 1 to
// 10 one-line violations in the §8.2 layout; valid ones none.
func FuzzArgumentViolations(f *testing.F) {
	f.Add(forecastSchema, `{"days":"3","x":1}`)
	f.Add(`{"type":"object","properties":{"l":{"type":"array","items":{"type":"string"}}}}`, `{"l":[1,"a",{}]}`)
	f.Add(`{"type":"object","$defs":{"p":{"minimum":3}},"properties":{"a":{"$ref":"#/$defs/p"}}}`, `{"a":1}`)
	f.Add(`{"type":"object","additionalProperties":false}`, "{\"\\u2028\":1,\"a/~b\":2}")
	f.Add(`{"type":"object","properties":{"a":{"anyOf":[{"type":"string"},{"not":{}}]}},"required":["b"]}`, `{"a":null}`)
	f.Add(`{"type":"object","minProperties":2,"maxProperties":0}`, `{"a":1e308}`)
	f.Add(`{"type":"object","properties":{"a":{"enum":[1,2,3,4,5,6,7,8,9,10,11,12]}}}`, `{"a":0}`)
	f.Add(`true`, `[]`)
	f.Fuzz(func(t *testing.T, schema, args string) {
		v, err := CompileSchema(json.RawMessage(schema))
		if err != nil {
			return
		}
		var inst any
		if json.Unmarshal([]byte(args), &inst) != nil {
			return
		}
		vs, more := v.Check(inst)
		valid := validate(v.root.whole, inst) == nil
		switch {
		case valid && (len(vs) > 0 || more):
			t.Fatalf("valid arguments got violations %q", vs)
		case !valid && (len(vs) == 0 || len(vs) > MaxViolations):
			t.Fatalf("invalid arguments got %d violations", len(vs))
		}
		if valid {
			return
		}
		text := InvalidArgumentsText("s__t", vs, more, v.Schema())
		lines := strings.Split(text, "\n")
		if lines[0] != "Invalid arguments for s__t:" || !strings.HasPrefix(lines[len(lines)-1], "Expected input schema: ") {
			t.Fatalf("layout broken: %q", text)
		}
		body := lines[1 : len(lines)-1]
		if more {
			if body[len(body)-1] != "(more violations not shown)" {
				t.Fatalf("no more-line: %q", text)
			}
			body = body[:len(body)-1]
		}
		if len(body) != len(vs) {
			t.Fatalf("%d violations on %d lines: %q", len(vs), len(body), text)
		}
		for _, l := range body {
			if !strings.HasPrefix(l, "- ") || !strings.Contains(l, ": ") || strings.ContainsRune(l, '\u2028') {
				t.Fatalf("bad violation line %q", l)
			}
		}
	})
}
