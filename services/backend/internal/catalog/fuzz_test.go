package catalog

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

// FuzzReadContent feeds stored version bytes to readContent: it never
// panics, reports every failure as a *CorruptError, and accepts content
// only when it hashes to the pinned hash.
func FuzzReadContent(f *testing.F) {
	m := `{"hosts":["api.example.com:443"],"memory_mb":128,"packages":[],"secrets":["API_KEY"],"timeout_ms":30000}`
	f.Add("go", "package tool\n", true, m, "", "sha256:b5e89b10ea86a30bf574029b4b72d229bdbdac5e9e50f30e06cefc49f4b6df42")
	f.Add("go", "package tool\n", true, m, "", "sha256:"+"0000000000000000000000000000000000000000000000000000000000000000")
	f.Add("external", "", false, `{"hosts":["mcp.example.com"],"memory_mb":0,"packages":[],"secrets":[],"timeout_ms":30000}`,
		`{"annotations":null,"description":"d","input_schema":{"type":"object"},"name":"list","source_id":"x"}`, "sha256:")
	f.Add("go", "x", true, `{"hosts":["https://x"]}`, "", "")
	f.Add("go", "x", false, `[]`, `{}`, "")
	f.Add("other", "", false, `{}`, `null`, "")
	f.Fuzz(func(t *testing.T, kind, code string, hasCode bool, manifest, definition, hash string) {
		var c *string
		if hasCode {
			c = &code
		}
		var def []byte
		if definition != "" {
			def = []byte(definition)
		}
		got, err := readContent(kind, c, []byte(manifest), def, hash)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *CorruptError", err)
			}
			return
		}
		if got.Hash != hash {
			t.Fatalf("accepted content hashing to %s under pinned %s", got.Hash, hash)
		}
		var again string
		if proto.ToolKind(kind) == proto.ToolKindGo {
			again, err = canon.HashGo(got.Code, got.Manifest)
		} else {
			again, err = canon.HashExternal(*got.Definition, got.Manifest)
		}
		if err != nil || again != hash {
			t.Fatalf("the returned content hashes to %s (%v), not %s", again, err, hash)
		}
	})
}

func TestReadContentMatchesSpecVector(t *testing.T) {
	t.Parallel()
	m, err := json.Marshal(proto.Manifest{
		Hosts: []string{"api.example.com:443"}, Packages: []string{},
		Secrets: []string{"API_KEY"}, TimeoutMS: 30000, MemoryMB: 128,
	})
	if err != nil {
		t.Fatal(err)
	}
	code := "package tool\n"
	const want = "sha256:b5e89b10ea86a30bf574029b4b72d229bdbdac5e9e50f30e06cefc49f4b6df42"
	c, err := readContent("go", &code, m, nil, want, want)
	if err != nil || c.Hash != want || c.Code != code {
		t.Fatalf("readContent = %+v, %v", c, err)
	}
	_, err = readContent("go", &code, m, nil, want, "sha256:"+want[len(want)-64:len(want)-1]+"0")
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Computed != want {
		t.Fatalf("a different approved hash: err = %v, want *CorruptError with the computed hash", err)
	}
}

// FuzzMatchesETag: If-None-Match parsing never panics and matches the
// exact tag.
func FuzzMatchesETag(f *testing.F) {
	for _, s := range []string{`"42"`, `W/"42"`, `"1", "42"`, `*`, ``, `"4`, `,,`, `W/`} {
		f.Add(s, int64(42))
	}
	f.Fuzz(func(t *testing.T, header string, rev int64) {
		got := matchesETag(header, ETag(rev))
		if header == ETag(rev) && !got {
			t.Fatalf("%q does not match itself", header)
		}
	})
}

// FuzzParseVersion: the version parameter is accepted only as a plain
// decimal integer that round-trips.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1", "42", "0", "-1", "01", "+1", "1e3", "2147483647", "2147483648", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseVersion([]string{s})
		if ok && (n < 1 || strconv.Itoa(n) != s) {
			t.Fatalf("parseVersion(%q) = %d, true", s, n)
		}
	})
}
