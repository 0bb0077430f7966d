package executions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto/redact"
)

// Truncation limits of backend.md §12.3 step 3, in characters unless said.
const (
	// MaxArgChars is the longest string kept whole in input_args.
	MaxArgChars = 500
	// TruncatedSuffix follows a cut string of input_args.
	TruncatedSuffix = "…[truncated]"
	// MaxResultBytes is the longest serialised result stored as is.
	MaxResultBytes = 10_000
	// ResultPreviewChars is the length of the preview of a longer result.
	ResultPreviewChars = 1000
	// MaxErrorChars and MaxStdoutChars cut error and stdout (the limits of
	// the execution_records CHECK constraints).
	MaxErrorChars  = 5000
	MaxStdoutChars = 10_000
)

// scrubber applies backend.md §12.3 to the fields of one record: the secret
// values of the record's server (every form of package redact) become
// [REDACTED:<NAME>] in every string, JSON keys included; then sensitive keys
// of input_args get "[REDACTED]"; then long values are cut. NUL characters,
// which PostgreSQL text and jsonb cannot hold, become U+FFFD after the
// secret pass (so a value with a NUL is still recognised).
type scrubber struct{ r *redact.Redactor }

// text redacts s and cuts it to limit characters.
func (sc scrubber) text(s string, limit int) string {
	s = clean(sc.r.String(s))
	if i := runeOffset(s, limit); i < len(s) {
		s = s[:i]
	}
	return s
}

// args scrubs input_args (steps 1–3); nil or JSON null stays nil.
func (sc scrubber) args(raw json.RawMessage) ([]byte, error) {
	return sc.document(raw, true)
}

// result scrubs a result (step 1) and replaces a serialisation over
// MaxResultBytes by {"_truncated": true, "_preview": <first
// ResultPreviewChars characters>} (step 3).
func (sc scrubber) result(raw json.RawMessage) ([]byte, error) {
	out, err := sc.document(raw, false)
	if err != nil || len(out) <= MaxResultBytes {
		return out, err
	}
	preview := string(out)
	preview = preview[:runeOffset(preview, ResultPreviewChars)]
	return encode(map[string]any{"_truncated": true, "_preview": preview})
}

// document decodes raw, scrubs every key and value, and re-encodes it.
func (sc scrubber) document(raw json.RawMessage, isArgs bool) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("is not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("is not one JSON value: data follows it")
	}
	v, err := sc.walk(v, isArgs)
	if err != nil {
		return nil, err
	}
	return encode(v)
}

func (sc scrubber) walk(v any, isArgs bool) (any, error) {
	switch x := v.(type) {
	case string:
		s := clean(sc.r.String(x))
		if isArgs {
			if i := runeOffset(s, MaxArgChars); i < len(s) {
				s = s[:i] + TruncatedSuffix
			}
		}
		return s, nil
	case json.Number:
		// PostgreSQL's numeric holds every float64; a number outside it is
		// refused rather than stored as something else.
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return nil, fmt.Errorf("number %.40s is outside the range of a float64", string(x))
		}
		return x, nil
	case []any:
		for i := range x {
			el, err := sc.walk(x[i], isArgs)
			if err != nil {
				return nil, err
			}
			x[i] = el
		}
		return x, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, el := range x {
			key := clean(sc.r.String(k))
			if isArgs && (redact.SensitiveKey(k) || redact.SensitiveKey(key)) {
				out[key] = redact.Redacted
				continue
			}
			el, err := sc.walk(el, isArgs)
			if err != nil {
				return nil, err
			}
			out[key] = el
		}
		return out, nil
	}
	return v, nil
}

// encode marshals v without HTML escaping (stored JSON is not HTML).
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// clean makes s storable in PostgreSQL: NUL becomes U+FFFD, invalid UTF-8
// too.
func clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// runeOffset returns the byte offset after the first n characters of s, or
// len(s) when s is not longer.
func runeOffset(s string, n int) int {
	if len(s) <= n {
		return len(s)
	}
	i := 0
	for c := 0; c < n && i < len(s); c++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}
