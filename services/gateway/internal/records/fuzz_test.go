package records_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/redact"
	"github.com/mcpbox/mcpbox/services/gateway/internal/records"
)

// FuzzRedact: whatever the arguments and the secret, Redact and Prepare
// give valid JSON, every sensitive key's value is "[REDACTED]", the caps
// hold, and no form of the secret survives in any string or number.
func FuzzRedact(f *testing.F) {
	long := strings.Repeat("é", 1001)
	for _, seed := range [][2]string{
		{`{"api_key":"x","a":[1,{"password":{"b":2}}],"n":9007199254740993}`, planSecret},
		{`{"note":"` + planSecret + `","` + planSecret + `":1}`, planSecret},
		{`["` + long + planSecret + `"]`, planSecret},
		{`{"x":"` + planSecret[:9] + `","y":"` + planSecret[9:] + `"}`, `x":"` + planSecret[:6]},
		{`{"a":"b"}`, `a":"b"}`},
		{`123456789012`, "123456789012"},
		{`{"a":`, "secretvalue"},
		{`"\u0000\ud800"`, "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{`["ED]abcdeabcde"]`, "ED]abcde"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, doc, secret string) {
		if len(doc)+len(secret) > 16<<10 {
			return // large inputs make minimisation slow and find nothing new
		}
		secrets := []string{secret}
		forms := checkedForms(secret)
		out := records.Redact(json.RawMessage(doc), secrets)
		if len(bytes.TrimSpace([]byte(doc))) == 0 {
			if out != nil {
				t.Fatalf("Redact(%q) = %q, want nil", doc, out)
			}
		} else {
			checkDocument(t, out, forms, true)
		}

		// The result repeats the document until it passes MaxDocumentBytes, so
		// small inputs reach the truncation object and its preview.
		var many string
		if trimmed := strings.TrimSpace(doc); trimmed != "" {
			n := records.MaxDocumentBytes/len(trimmed) + 1
			many = "[" + strings.Repeat(trimmed+",", n) + trimmed + "]"
		}
		rec := records.Prepare(proto.ExecutionRecord{
			InputArgs: json.RawMessage(doc), Result: json.RawMessage(many), Stdout: doc, Error: doc,
		}, secrets)
		if _, err := json.Marshal(rec); err != nil {
			t.Fatalf("prepared record does not encode: %v", err)
		}
		for _, d := range []struct {
			doc  json.RawMessage
			args bool
		}{{rec.InputArgs, true}, {rec.Result, false}} {
			if d.doc == nil {
				continue
			}
			// A truncation object holds a preview of PreviewBytes, which JSON
			// escaping may grow up to six times.
			if len(d.doc) > max(records.MaxDocumentBytes, 6*records.PreviewBytes+64) {
				t.Fatalf("document of %d bytes", len(d.doc))
			}
			checkDocument(t, d.doc, forms, d.args)
		}
		if len(rec.Stdout) > records.MaxStdoutBytes || len(rec.Error) > records.MaxErrorBytes {
			t.Fatalf("stdout %d, error %d bytes", len(rec.Stdout), len(rec.Error))
		}
		checkText(t, rec.Stdout, forms, nil)
		checkText(t, rec.Error, forms, nil)
	})
}

// checkDocument asserts that doc is one valid JSON value whose strings and
// numbers hold none of forms and, for arguments, whose sensitive keys all
// hold "[REDACTED]".
func checkDocument(t *testing.T, doc json.RawMessage, forms []string, args bool) {
	t.Helper()
	if !json.Valid(doc) {
		t.Fatalf("invalid JSON: %q", doc)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var objects []bool // per open container: is it an object
	afterKey := false  // the next token is the value of a key
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("re-reading %q: %v", doc, err)
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				objects = append(objects, v == '{')
			} else {
				objects = objects[:len(objects)-1]
			}
			afterKey = false
		case string:
			checkText(t, v, forms, doc)
			if len(objects) > 0 && objects[len(objects)-1] && !afterKey {
				afterKey = true
				if args && redact.SensitiveKey(v) {
					var val json.RawMessage
					if err := dec.Decode(&val); err != nil || string(val) != `"[REDACTED]"` {
						t.Fatalf("sensitive key %q holds %s in %q", v, val, doc)
					}
					afterKey = false
				}
				continue
			}
			afterKey = false
		case json.Number:
			checkText(t, string(v), forms, doc)
			afterKey = false
		default:
			afterKey = false
		}
	}
}

// checkText fails when text holds one of forms.
func checkText(t *testing.T, text string, forms []string, doc json.RawMessage) {
	t.Helper()
	for _, form := range forms {
		if strings.Contains(text, form) {
			t.Fatalf("secret form %q survives in %q (document %q)", form, text, doc)
		}
	}
}

// markers are the texts Prepare inserts. A secret form that overlaps one of
// them can be rebuilt from the marker and its neighbour (the secret "ED]abcde"
// reappears in "[REDACTED]abcde"); such forms are not checked, since no
// redaction can avoid them.
var markers = []string{redact.Redacted, "…[truncated ", " chars]"}

// checkedForms returns the forms of secret that the fuzz test requires
// gone: none for a value too short to be redacted.
func checkedForms(secret string) []string {
	if len(secret) < redact.MinSecretBytes {
		return nil
	}
	var forms []string
	for _, f := range redact.Forms(secret) {
		if !overlapsMarker(f) {
			forms = append(forms, f)
		}
	}
	return forms
}

func overlapsMarker(f string) bool {
	for _, m := range markers {
		if strings.Contains(f, m) || strings.Contains(m, f) {
			return true
		}
		for i := 1; i <= min(len(f), len(m)); i++ {
			if f[len(f)-i:] == m[:i] || f[:i] == m[len(m)-i:] {
				return true
			}
		}
	}
	return false
}
