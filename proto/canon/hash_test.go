package canon_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

// vector1 and vector2 are the manifests of the test vectors of contracts.md
// §4 and backend.md §5.3.
func vector1() proto.Manifest {
	return proto.Manifest{
		Hosts: []string{"api.example.com:443"}, MemoryMB: 128, Packages: []string{},
		Secrets: []string{"API_KEY"}, TimeoutMS: 30000,
	}
}

func vector2() proto.Manifest {
	return proto.Manifest{
		Hosts: []string{}, MemoryMB: 128, Packages: []string{"encoding/xml"},
		Secrets: []string{}, TimeoutMS: 30000,
	}
}

const (
	vector1Code = "package tool\n"
	vector1Hash = "sha256:b5e89b10ea86a30bf574029b4b72d229bdbdac5e9e50f30e06cefc49f4b6df42"
	vector2Code = "package tool\n// é <b>&\n"
	vector2Hash = "sha256:1adee4b2f38c29912b4b4907a294c9fb9671550e0a054e0e15d67bd60c5133e7"
)

// TestHashGoVectors freezes the pinned hash: the two vectors of
// contracts.md §4 and backend.md §5.3 (BE-28, canon part). Never edit them
// to make a change pass: every pinned hash in every installation depends on
// them.
func TestHashGoVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code string
		m    proto.Manifest
		want string
	}{
		{"vector 1", vector1Code, vector1(), vector1Hash},
		{"vector 2", vector2Code, vector2(), vector2Hash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := canon.HashGo(tt.code, tt.m)
			if err != nil {
				t.Fatalf("HashGo: %v", err)
			}
			if got != tt.want {
				t.Errorf("HashGo = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestHashGoContent checks the hashed bytes themselves: the canonical
// content object of vector 2, written by hand.
func TestHashGoContent(t *testing.T) {
	t.Parallel()
	content := `{"code":"package tool\n// é <b>&\n","manifest":{"hosts":[],"memory_mb":128,"packages":["encoding/xml"],"secrets":[],"timeout_ms":30000}}`
	sum := sha256.Sum256([]byte(content))
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != vector2Hash {
		t.Fatalf("hand-written content hashes to %s, want %s", got, vector2Hash)
	}
}

// TestHashGoNormalises shows that equivalent inputs pin the same hash:
// line ends, host spelling, order, duplicates, nil lists.
func TestHashGoNormalises(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code string
		m    proto.Manifest
		want string
	}{
		{"CRLF code", "package tool\r\n", vector1(), vector1Hash},
		{"lone CR code", "package tool\r", vector1(), vector1Hash},
		{"host spelling", vector1Code, proto.Manifest{
			Hosts: []string{" API.Example.COM.:443 "}, MemoryMB: 128, Secrets: []string{"API_KEY"}, TimeoutMS: 30000,
		}, vector1Hash},
		{"duplicates and nil lists", vector1Code, proto.Manifest{
			Hosts: []string{"api.example.com:443", "api.example.com:443"}, MemoryMB: 128,
			Secrets: []string{"API_KEY", "API_KEY"}, TimeoutMS: 30000,
		}, vector1Hash},
		{"nil lists", "package tool\r\n// é <b>&\r\n", proto.Manifest{
			MemoryMB: 128, Packages: []string{"encoding/xml"}, TimeoutMS: 30000,
		}, vector2Hash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := canon.HashGo(tt.code, tt.m)
			if err != nil {
				t.Fatalf("HashGo: %v", err)
			}
			if got != tt.want {
				t.Errorf("HashGo = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestHashGoDistinguishes shows that every part of the content counts.
func TestHashGoDistinguishes(t *testing.T) {
	t.Parallel()
	base, err := canon.HashGo(vector1Code, vector1())
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]func(*string, *proto.Manifest){
		"code":       func(c *string, _ *proto.Manifest) { *c += " " },
		"host port":  func(_ *string, m *proto.Manifest) { m.Hosts = []string{"api.example.com:8443"} },
		"any port":   func(_ *string, m *proto.Manifest) { m.Hosts = []string{"api.example.com"} },
		"package":    func(_ *string, m *proto.Manifest) { m.Packages = []string{"encoding/xml"} },
		"secret":     func(_ *string, m *proto.Manifest) { m.Secrets = []string{"API_KEY", "OTHER"} },
		"timeout":    func(_ *string, m *proto.Manifest) { m.TimeoutMS = 30001 },
		"memory":     func(_ *string, m *proto.Manifest) { m.MemoryMB = 256 },
		"no secrets": func(_ *string, m *proto.Manifest) { m.Secrets = nil },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, m := vector1Code, vector1()
			change(&code, &m)
			got, err := canon.HashGo(code, m)
			if err != nil {
				t.Fatal(err)
			}
			if got == base {
				t.Errorf("changing %s kept the hash %s", name, got)
			}
		})
	}
}

func TestHashGoRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code string
		m    proto.Manifest
		is   error
	}{
		{"NUL", "package tool\x00\n", vector1(), canon.ErrCodeNUL},
		{"invalid UTF-8", "package tool\n// \xff\n", vector1(), canon.ErrCodeUTF8},
		{"bad host", vector1Code, proto.Manifest{Hosts: []string{"https://api.example.com"}, TimeoutMS: 30000, MemoryMB: 128}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := canon.HashGo(tt.code, tt.m)
			if err == nil {
				t.Fatalf("HashGo = %s, want an error", got)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("HashGo error %v, want %v", err, tt.is)
			}
			var re *proto.RuleError
			if tt.is == nil && (!errors.As(err, &re) || re.Field != "hosts[0]") {
				t.Errorf("HashGo error %v, want a RuleError on hosts[0]", err)
			}
		})
	}
}

// weatherDefinition is an external definition with schema keys out of order
// and characters JSON encoders like to escape.
func weatherDefinition() proto.ExternalDefinition {
	return proto.ExternalDefinition{
		Annotations: json.RawMessage(`{"readOnlyHint": true}`),
		Description: "Get <weather> & more",
		InputSchema: json.RawMessage(`{"type": "object", "properties": {"city": {"type": "string"}}}`),
		Name:        "get_weather",
		SourceID:    "0b5e2a8e-7d4c-4f8e-9a51-2f1f0c3d9e47",
	}
}

func externalManifest() proto.Manifest {
	return proto.Manifest{Hosts: []string{"MCP.example.com"}, Secrets: []string{"TOKEN"}, TimeoutMS: 30000}
}

// TestHashExternal checks the external content object against canonical
// JSON written by hand (backend.md §5.3).
func TestHashExternal(t *testing.T) {
	t.Parallel()
	content := `{"definition":{"annotations":{"readOnlyHint":true},"description":"Get <weather> & more",` +
		`"input_schema":{"properties":{"city":{"type":"string"}},"type":"object"},"name":"get_weather",` +
		`"source_id":"0b5e2a8e-7d4c-4f8e-9a51-2f1f0c3d9e47"},` +
		`"manifest":{"hosts":["mcp.example.com"],"memory_mb":0,"packages":[],"secrets":["TOKEN"],"timeout_ms":30000}}`
	sum := sha256.Sum256([]byte(content))
	want := "sha256:" + hex.EncodeToString(sum[:])

	got, err := canon.HashExternal(weatherDefinition(), externalManifest())
	if err != nil {
		t.Fatalf("HashExternal: %v", err)
	}
	if got != want {
		t.Errorf("HashExternal = %s, want %s", got, want)
	}

	// The same definition with other whitespace and key order hashes the same.
	def := weatherDefinition()
	def.InputSchema = json.RawMessage("{\n  \"properties\":{\"city\":{\"type\":\"string\"}},\n  \"type\":\"object\"}")
	again, err := canon.HashExternal(def, externalManifest())
	if err != nil {
		t.Fatalf("HashExternal: %v", err)
	}
	if again != want {
		t.Errorf("reformatted schema: HashExternal = %s, want %s", again, want)
	}
}

func TestHashExternalNullAnnotations(t *testing.T) {
	t.Parallel()
	def := weatherDefinition()
	def.Annotations = nil
	withNil, err := canon.HashExternal(def, externalManifest())
	if err != nil {
		t.Fatal(err)
	}
	def.Annotations = json.RawMessage("null")
	withNull, err := canon.HashExternal(def, externalManifest())
	if err != nil {
		t.Fatal(err)
	}
	def.Annotations = json.RawMessage{}
	withEmpty, err := canon.HashExternal(def, externalManifest())
	if err != nil {
		t.Fatal(err)
	}
	if withNil != withNull || withNil != withEmpty {
		t.Errorf("absent annotations hash differently: nil %s, null %s, empty %s", withNil, withNull, withEmpty)
	}
	def.Annotations = json.RawMessage(`{}`)
	withObject, err := canon.HashExternal(def, externalManifest())
	if err != nil {
		t.Fatal(err)
	}
	if withObject == withNull {
		t.Error("annotations {} and null hash the same")
	}
}

func TestHashExternalRefusesDuplicateKeys(t *testing.T) {
	t.Parallel()
	def := weatherDefinition()
	def.InputSchema = json.RawMessage(`{"type":"object","type":"string"}`)
	if got, err := canon.HashExternal(def, externalManifest()); err == nil {
		t.Fatalf("HashExternal = %s, want an error for a duplicate key", got)
	}
}

func TestNormalizeCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		err      error
	}{
		{in: "", want: ""},
		{in: "package tool\n", want: "package tool\n"},
		{in: "a\r\nb\r\n", want: "a\nb\n"},
		{in: "a\rb\r", want: "a\nb\n"},
		{in: "a\r\r\nb", want: "a\n\nb"},
		{in: "a\n\rb", want: "a\n\nb"},
		{in: "é ✓ 😀 \u2028", want: "é ✓ 😀 \u2028"},
		{in: "a\x00b", err: canon.ErrCodeNUL},
		{in: "a\xc3", err: canon.ErrCodeUTF8},
		{in: "\xed\xa0\x80", err: canon.ErrCodeUTF8}, // a UTF-16 surrogate encoded in UTF-8
	}
	for _, tt := range tests {
		got, err := canon.NormalizeCode(tt.in)
		if !errors.Is(err, tt.err) {
			t.Errorf("NormalizeCode(%q) error %v, want %v", tt.in, err, tt.err)
			continue
		}
		if got != tt.want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeManifest(t *testing.T) {
	t.Parallel()
	got, err := canon.NormalizeManifest(proto.Manifest{
		Hosts:     []string{"b.example.com:443", "B.example.com", "a.example.com:8443", "a.example.com:443"},
		Packages:  []string{"encoding/xml", "compress/gzip", "encoding/xml"},
		TimeoutMS: 1000, MemoryMB: 32,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := proto.Manifest{
		Hosts:     []string{"a.example.com:443", "a.example.com:8443", "b.example.com"},
		Packages:  []string{"compress/gzip", "encoding/xml"},
		Secrets:   []string{},
		TimeoutMS: 1000, MemoryMB: 32,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NormalizeManifest mismatch (-want +got):\n%s", diff)
	}
}

func TestValidHash(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		vector1Hash: true,
		vector2Hash: true,
		"sha256:B5E89B10EA86A30BF574029B4B72D229BDBDAC5E9E50F30E06CEFC49F4B6DF42":  false,
		"sha256:b5e89b10ea86a30bf574029b4b72d229bdbdac5e9e50f30e06cefc49f4b6df4":   false,
		"sha256:b5e89b10ea86a30bf574029b4b72d229bdbdac5e9e50f30e06cefc49f4b6df422": false,
		"sha512:b5e89b10ea86a30bf574029b4b72d229bdbdac5e9e50f30e06cefc49f4b6df42":  false,
		"b5e89b10ea86a30bf574029b4b72d229bdbdac5e9e50f30e06cefc49f4b6df42":         false,
		"sha256:g5e89b10ea86a30bf574029b4b72d229bdbdac5e9e50f30e06cefc49f4b6df42":  false,
		"": false,
	}
	for in, want := range tests {
		if got := canon.ValidHash(in); got != want {
			t.Errorf("ValidHash(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestSum(t *testing.T) {
	t.Parallel()
	got, err := canon.Sum(map[string]any{"b": 1, "a": "<"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(`{"a":"<","b":1}`))
	if want := "sha256:" + hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Sum = %s, want %s", got, want)
	}
	if !canon.ValidHash(got) {
		t.Errorf("Sum returned %s, which ValidHash refuses", got)
	}
}
