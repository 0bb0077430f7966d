package catalog

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzNormalizeInputSchema checks the normaliser on arbitrary input: it
// never panics, and what it accepts is compact JSON whose root has type
// "object" (the SDK's AddTool condition), carries no x-mcp-header where the
// SDK would look for one, and normalises to itself.
func FuzzNormalizeInputSchema(f *testing.F) {
	for _, seed := range []string{
		`{}`, `true`, `false`, `null`, `[]`, `"x"`, `1`, ``, `{`,
		`{"type":"object"}`, `{"type":["object","null"]}`, `{"type":"string"}`,
		`{"type":"object","properties":{"a":{"type":"string","x-mcp-header":"A"}}}`,
		`{"properties":{"x-mcp-header":{"x-mcp-header":"H","properties":{"b":{"x-mcp-header":"B"}}}}}`,
		`{"anyOf":[{"x-mcp-header":"A"},true,1],"items":[{"x-mcp-header":"I"}],"not":false}`,
		`{"$defs":{"d":{"type":"object"}},"$ref":"#/$defs/d","const":{"x-mcp-header":1}}`,
		`{"type":"object","type":"object"}`, `{"a":1,"\u0061":2}`,
		`{"x-mcp-\u0068eader":"escaped","properties":{"p":{"x-mcp-\u0068eader":"E"}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := NormalizeInputSchema(in)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, out); err != nil || !bytes.Equal(buf.Bytes(), out) {
			t.Fatalf("output %q is not compact JSON (%v)", out, err)
		}
		var root map[string]any
		if err := json.Unmarshal(out, &root); err != nil {
			t.Fatalf("output %q is not an object: %v", out, err)
		}
		if root["type"] != "object" {
			t.Fatalf("output %q has type %v", out, root["type"])
		}
		if p := headerPath(root); p != "" {
			t.Fatalf("output %q keeps x-mcp-header at %s", out, p)
		}
		again, err := NormalizeInputSchema(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q → %q (%v)", out, again, err)
		}
	})
}

// headerPath returns where an x-mcp-header keyword remains in the places the
// SDK reads it (the schema and its nested properties), or "".
func headerPath(schema map[string]any) string {
	if _, ok := schema[mcpHeaderKeyword]; ok {
		return "/"
	}
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		if sub, ok := p.(map[string]any); ok {
			if path := headerPath(sub); path != "" {
				return "/properties/" + name + path
			}
		}
	}
	return ""
}
