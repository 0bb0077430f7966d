package transfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// validDoc is a document with every kind of entry; its hashes have the
// right form (Decode does not recompute them).
const validDoc = `{
  "format": "mcpbox-export", "format_version": 2, "exported_at": "2025-01-31T12:00:00.000Z", "app_version": "test",
  "servers": [{
    "name": "weather", "description": "Forecasts <&>", "status": "running",
    "secrets": [{"name": "API_KEY", "description": "the key"}],
    "network": [{"host": "api.example.com", "port": null, "status": "approved", "justification": ""},
                {"host": "mcp.example.com", "port": 443, "status": "pending", "justification": "mcp"}],
    "external_mcp_sources": [{"name": "GitHub MCP", "url": "https://mcp.example.com/mcp", "transport": "streamable_http",
      "auth_type": "bearer", "auth_secret_name": "API_KEY", "auth_header_name": null, "status": "active"}],
    "tools": [
      {"name": "forecast", "kind": "go", "enabled": true, "external_source": null, "external_tool_name": null,
       "latest": {"content": "package tool\n\n// Main forecasts.\nfunc Main() {}\n",
                  "manifest": {"hosts": ["api.example.com"], "packages": [], "secrets": [], "timeout_ms": 30000, "memory_mb": 128},
                  "hash": "sha256:b5e89b10ea86a30bf574029b4b72d229bdbdac5e9e50f30e06cefc49f4b6df42"},
       "approved": null},
      {"name": "list_repos", "kind": "external", "enabled": false, "external_source": "GitHub MCP", "external_tool_name": "list-repos",
       "latest": {"content": {"annotations": null, "description": "Lists repos.", "input_schema": {"type": "object"},
                              "name": "list-repos", "source_id": "0b6f6c1e-6d0c-4b1a-9d2e-5f3c2a1b0c9d"},
                  "manifest": {"hosts": ["mcp.example.com"], "packages": [], "secrets": ["API_KEY"], "timeout_ms": 30000, "memory_mb": 0},
                  "hash": "sha256:1adee4b2f38c29912b4b4907a294c9fb9671550e0a054e0e15d67bd60c5133e7"},
       "approved": {"content": {"annotations": null, "description": "Lists repos.", "input_schema": {"type": "object"},
                                "name": "list-repos", "source_id": "0b6f6c1e-6d0c-4b1a-9d2e-5f3c2a1b0c9d"},
                    "manifest": {"hosts": ["mcp.example.com"], "packages": [], "secrets": ["API_KEY"], "timeout_ms": 30000, "memory_mb": 0},
                    "hash": "sha256:1adee4b2f38c29912b4b4907a294c9fb9671550e0a054e0e15d67bd60c5133e7"}}
    ]
  }],
  "packages": [{"package": "encoding/xml", "status": "approved", "justification": "xml"}]
}`

// replace returns validDoc with old replaced by new once, failing when old
// is not in it.
func replace(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(validDoc, old) {
		t.Fatalf("validDoc has no %q", old)
	}
	return strings.Replace(validDoc, old, new, 1)
}

func TestDecodeAcceptsAValidDocument(t *testing.T) {
	t.Parallel()
	d, err := Decode([]byte(validDoc))
	if err != nil {
		t.Fatal(err)
	}
	if d.ToolCount() != 2 || d.Servers[0].Sources[0].Name != "GitHub MCP" || *d.Servers[0].Tools[1].Enabled {
		t.Fatalf("decoded %+v", d)
	}
}

// Every refusal names the field (its JSON path) and the rule.
func TestDecodeNamesTheField(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, doc, field, rule string }{
		{"other format", replace(t, `"mcpbox-export"`, `"mcpbox"`), "format", `must be "mcpbox-export"`},
		{"version 1", replace(t, `"format_version": 2`, `"format_version": 1`), "format_version", "must be 2"},
		{"version missing", replace(t, `"format_version": 2,`, ``), "format_version", "must be 2"},
		{"unknown field", replace(t, `"enabled": true`, `"enabled": true, "colour": "red"`), "servers[0].tools[0].colour", "unknown field"},
		{"wrong type", replace(t, `"port": 443`, `"port": "443"`), "servers[0].network[1].port", "expected"},
		{"server name", replace(t, `"name": "weather"`, `"name": "Weather"`), "servers[0].name", "must match"},
		{"server status", replace(t, `"status": "running"`, `"status": "paused"`), "servers[0].status", `"stopped" or "running"`},
		{"secret name", replace(t, `"name": "API_KEY"`, `"name": "api_key"`), "servers[0].secrets[0].name", "must match"},
		{"host", replace(t, `"host": "api.example.com"`, `"host": "https://api.example.com"`), "servers[0].network[0].host", "not a URL"},
		{"record status", replace(t, `"status": "pending"`, `"status": "rejected"`), "servers[0].network[1].status", `"approved" or "pending"`},
		{"source url", replace(t, `"https://mcp.example.com/mcp"`, `"https://user@mcp.example.com/mcp"`), "servers[0].external_mcp_sources[0].url", "without user information"},
		{"source secret", replace(t, `"auth_secret_name": "API_KEY"`, `"auth_secret_name": null`), "servers[0].external_mcp_sources[0].auth_secret_name", "required"},
		{"enabled missing", replace(t, `"enabled": true,`, ``), "servers[0].tools[0].enabled", "required"},
		{"kind", replace(t, `"kind": "go"`, `"kind": "python"`), "servers[0].tools[0].kind", `"go" or "external"`},
		{"unknown source", replace(t, `"external_source": "GitHub MCP"`, `"external_source": "GitLab"`), "servers[0].tools[1].external_source", "names no source"},
		{"content", replace(t, `"content": "package tool`, `"content": 7, "x": "package tool`), "servers[0].tools[0].latest.x", "unknown field"},
		{"code not a string", replace(t, `"content": "package tool\n\n// Main forecasts.\nfunc Main() {}\n"`, `"content": 7`), "servers[0].tools[0].latest.content", "JSON string"},
		{"manifest host", replace(t, `"hosts": ["api.example.com"]`, `"hosts": ["*.example.com"]`), "servers[0].tools[0].latest.manifest.hosts[0]", "wildcards"},
		{"manifest memory", replace(t, `"memory_mb": 128`, `"memory_mb": 4096`), "servers[0].tools[0].latest.manifest.memory_mb", "between"},
		{"hash", replace(t, `"hash": "sha256:b5e8`, `"hash": "md5:b5e8`), "servers[0].tools[0].latest.hash", "sha256:"},
		{"definition name", replace(t, `"name": "list-repos", "source_id"`, `"name": "other", "source_id"`), "servers[0].tools[1].latest.content.name", "external_tool_name"},
		{"definition source", replace(t, `"source_id": "0b6f6c1e-6d0c-4b1a-9d2e-5f3c2a1b0c9d"`, `"source_id": "x"`), "servers[0].tools[1].latest.content.source_id", "UUID"},
		{"latest missing", strings.Replace(replace(t, `"latest": {"content": "package`, `"approved": {"content": "package`),
			`"approved": null}`, `"latest": null}`, 1), "servers[0].tools[0].latest", "required"},
		{
			"duplicate key", replace(t, `"latest": {"content": "package`, `"latest": null, "latest": {"content": "package`),
			"servers[0].tools[0].latest", "duplicate key",
		},
		{"package", replace(t, `"package": "encoding/xml"`, `"package": "Encoding/XML"`), "packages[0].package", "import path"},
		{"servers missing", replace(t, `"servers": [{`, `"servers": null, "x": [{`), "x", "unknown field"},
		{"exported_at", replace(t, `"2025-01-31T12:00:00.000Z"`, `"yesterday"`), "exported_at", "RFC 3339"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(c.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			fields := proto.FieldErrors(err)
			var syntax *SyntaxError
			if errors.As(err, &syntax) {
				if !strings.Contains(syntax.Message, c.field) || !strings.Contains(syntax.Message, c.rule) {
					t.Fatalf("syntax error %q does not name %q and %q", syntax.Message, c.field, c.rule)
				}
				return
			}
			if len(fields) == 0 || fields[0].Field != c.field || !strings.Contains(fields[0].Message, c.rule) {
				t.Fatalf("errors %+v: want the first on %q with %q", fields, c.field, c.rule)
			}
		})
	}
}

func TestDecodeRefusesMalformedJSON(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{"", "{", validDoc + "{}", `{"format": 1, "format": 2}`} {
		var syntax *SyntaxError
		if _, err := Decode([]byte(doc)); !errors.As(err, &syntax) {
			t.Fatalf("%.30q: %v, want a *SyntaxError", doc, err)
		}
	}
	for _, doc := range []string{"null", "[]", `"mcpbox-export"`} {
		if _, err := Decode([]byte(doc)); len(proto.FieldErrors(err)) == 0 {
			t.Fatalf("%q: %v, want a rule error", doc, err)
		}
	}
}

func TestRenamedFitsTheNameRule(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		n    int
		want string
	}{
		{"weather", 2, "weather_2"},
		{"abcdefghijklmnopqrstuvwx", 2, "abcdefghijklmnopqrstuv_2"},
		{"abcdefghijklmnopqrstu_vw", 2, "abcdefghijklmnopqrstu_2"},
		{"abcdefghijklmnopqrstuvwx", 123, "abcdefghijklmnopqrst_123"},
	} {
		got := renamed(c.name, c.n)
		if got != c.want || proto.ValidateServerName(got) != nil {
			t.Errorf("renamed(%q, %d) = %q, want %q (a valid server name)", c.name, c.n, got, c.want)
		}
	}
}

// seedKeys is the keyring of the fuzz tests.
func seedKeys(tb testing.TB) *seal.Keyring {
	tb.Helper()
	k, err := seal.New(1, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "")
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// FuzzDecode: Decode never panics; it refuses with a *SyntaxError or rule
// errors that each name a rule, or accepts a document that survives a
// round trip (encode, Decode again) unchanged.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(validDoc))
	f.Add([]byte(strings.Replace(validDoc, `"format_version": 2`, `"format_version": 2.5`, 1)))
	f.Add([]byte(strings.Replace(validDoc, `"approved": null`, `"approved": {}`, 1)))
	f.Add([]byte(strings.Replace(validDoc, `"port": 443`, `"port": 70000`, 1)))
	f.Add([]byte(`{"format":"mcpbox-export","format_version":2,"exported_at":"2025-01-31T12:00:00Z","app_version":"","servers":[],"packages":[]}`))
	f.Add([]byte(`{"format":"mcpbox-export","format_version":2,"servers":[{"tools":[{"kind":"external","latest":{"content":{}}}]}]}`))
	f.Add([]byte(`[1,2,3]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := Decode(raw)
		if err != nil {
			var syntax *SyntaxError
			if errors.As(err, &syntax) {
				return
			}
			fields := proto.FieldErrors(err)
			if len(fields) == 0 {
				t.Fatalf("refusal without a rule: %v", err)
			}
			for _, fe := range fields {
				if fe.Message == "" {
					t.Fatalf("rule without a message: %+v", fields)
				}
			}
			return
		}
		again, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded document refused: %v\n%s", err, again)
		}
		a, errA := canon.Marshal(d)
		b, errB := canon.Marshal(d2)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Fatalf("round trip changed the document (%v, %v):\n%s\n%s", errA, errB, a, b)
		}
	})
}

// FuzzOpen: Open never panics and refuses every unsigned input before
// decoding it; any document Decode accepts, once signed, opens again to
// the same content, while the same document with another signature does
// not.
func FuzzOpen(f *testing.F) {
	keys := seedKeys(f)
	f.Add([]byte(validDoc))
	f.Add([]byte(strings.Replace(validDoc, `"format":`, `"signature": "hmac-sha256:00", "format":`, 1)))
	f.Add([]byte(strings.Replace(validDoc, `"format":`, `"signature": 7, "format":`, 1)))
	f.Add([]byte(`{"signature": null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, _, err := Open(keys, raw); err == nil {
			t.Fatalf("opened a document nobody signed: %s", raw)
		}
		d, err := Decode(raw)
		if err != nil {
			return
		}
		if err := sign(keys, d); err != nil {
			t.Fatal(err)
		}
		signed, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		opened, id, err := Open(keys, signed)
		if err != nil || id != 1 {
			t.Fatalf("a signed document did not open (key %d): %v", id, err)
		}
		a, _ := canon.Marshal(d)
		b, _ := canon.Marshal(opened)
		if !bytes.Equal(a, b) {
			t.Fatalf("Open changed the document:\n%s\n%s", a, b)
		}
		d.AppVersion += "x"
		forged, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var sig *SignatureError
		if _, _, err := Open(keys, forged); !errors.As(err, &sig) || sig.Missing {
			t.Fatalf("a changed document: %v, want signature_invalid", err)
		}
	})
}
