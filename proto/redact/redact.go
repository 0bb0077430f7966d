// Package redact removes secret values from text and JSON before anything
// leaves a service: the sandbox redacts every response (sandbox.md §14), the
// backend every stored execution record (backend.md §12.3). One
// implementation serves both, so a form of a secret that one of them finds,
// the other finds too.
//
// For each secret of at least MinSecretBytes, the forms searched are: the raw
// value; its url.QueryEscape and url.PathEscape forms; standard and URL-safe
// base64, padded and unpadded, and, for each of the three byte alignments,
// the longest run of base64 characters determined only by the secret's bytes
// (so a secret inside a longer base64 value, such as a Basic authorization
// header, is found); lower- and upper-case hex. All forms are replaced in one
// pass, longest first.
//
// SensitiveKey is the sensitive-key rule of backend.md §12.3 step 2, which
// the gateway and the backend share (gateway.md §9): the value of such a key
// in a tool call's arguments is replaced by Redacted.
package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// MinSecretBytes is the shortest value redacted: shorter values would
// destroy ordinary output, so the backend refuses to store them.
const MinSecretBytes = 8

// minFormChars is the shortest derived form (a base64 run) worth replacing.
const minFormChars = 8

// Secret is one value to remove, with its name for the replacement text.
type Secret struct {
	Name  string
	Value string
}

// Redactor replaces every form of a set of secrets.
type Redactor struct {
	r       *strings.Replacer
	longest int
}

// New returns a Redactor for secrets; replacement gives the text that
// replaces a form of the named secret ("[REDACTED]" in the sandbox,
// "[REDACTED:NAME]" in the backend). Values shorter than MinSecretBytes are
// ignored.
func New(secrets []Secret, replacement func(name string) string) *Redactor {
	type pair struct{ form, repl string }
	var pairs []pair
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s.Value) < MinSecretBytes {
			continue
		}
		repl := replacement(s.Name)
		for _, f := range Forms(s.Value) {
			if !seen[f] {
				seen[f] = true
				pairs = append(pairs, pair{f, repl})
			}
		}
	}
	// strings.Replacer tries patterns in argument order at each position:
	// longest first makes the longest form win.
	slices.SortStableFunc(pairs, func(a, b pair) int { return len(b.form) - len(a.form) })
	args := make([]string, 0, 2*len(pairs))
	longest := 0
	for _, p := range pairs {
		args = append(args, p.form, p.repl)
		longest = max(longest, len(p.form))
	}
	return &Redactor{r: strings.NewReplacer(args...), longest: longest}
}

// Sandbox returns the replacement of sandbox responses: "[REDACTED]".
func Sandbox(string) string { return "[REDACTED]" }

// Named returns the replacement of stored records: "[REDACTED:NAME]".
func Named(name string) string { return "[REDACTED:" + name + "]" }

// Longest is the length of the longest form: a caller that must cut a text
// at a cap buffers this much more, redacts, then cuts, so a secret
// straddling the cap cannot leak a prefix.
func (r *Redactor) Longest() int { return r.longest }

// String redacts s.
func (r *Redactor) String(s string) string {
	if r.longest == 0 {
		return s
	}
	return r.r.Replace(s)
}

// JSON redacts every string value and every object key of a JSON document,
// recursively, and returns it re-encoded (numbers kept verbatim).
func (r *Redactor) JSON(doc json.RawMessage) (json.RawMessage, error) {
	if r.longest == 0 || len(doc) == 0 {
		return doc, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	out, err := marshalNoEscape(r.value(v))
	if err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	return out, nil
}

func (r *Redactor) value(v any) any {
	switch x := v.(type) {
	case string:
		return r.String(x)
	case []any:
		for i := range x {
			x[i] = r.value(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, el := range x {
			out[r.String(k)] = r.value(el)
		}
		return out
	}
	return v
}

func marshalNoEscape(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

// Forms returns every form of value that is searched for.
func Forms(value string) []string {
	forms := []string{
		value, url.QueryEscape(value), url.PathEscape(value), hex.EncodeToString([]byte(value)),
		strings.ToUpper(hex.EncodeToString([]byte(value))),
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(value)), enc.WithPadding(base64.NoPadding).EncodeToString([]byte(value)))
		forms = append(forms, alignedRuns(enc.WithPadding(base64.NoPadding), []byte(value))...)
	}
	out := forms[:0]
	for _, f := range forms {
		if len(f) >= minFormChars && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// alignedRuns returns, for the value placed after 0, 1 and 2 bytes of other
// data, the base64 characters whose 6 bits come only from the value's bytes.
func alignedRuns(enc *base64.Encoding, value []byte) []string {
	var runs []string
	n := len(value)
	for k := range 3 {
		buf := append(make([]byte, k), value...)
		s := enc.EncodeToString(buf)
		start := (8*k + 5) / 6 // first char whose bits start at or after the value
		end := (8*k + 8*n) / 6 // chars ending at or before the value's end
		if end-start >= minFormChars && end <= len(s) {
			runs = append(runs, s[start:end])
		}
	}
	return runs
}
