package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/mcpbox/mcpbox/proto/redact"
)

// Redact returns a tool call's arguments with every value under a sensitive
// key (redact.SensitiveKey, checked on the key before and after the secret
// pass) replaced by "[REDACTED]", recursively through objects and arrays,
// and every form of every secret value of at least redact.MinSecretBytes
// replaced by "[REDACTED]" in every string, object keys included. It does
// not truncate: Prepare does both, redaction first.
//
// A number literal that contains a secret value becomes the string
// "[REDACTED]" too (the rule speaks of strings, but an account number sent
// as a JSON number is no less secret). Empty or blank input gives nil;
// input that is not exactly one JSON value gives
// {"_invalid_json": true, "_bytes": N}, since what it holds cannot be
// checked for sensitive keys.
func Redact(args json.RawMessage, secretValues []string) json.RawMessage {
	return newScrubber(secretValues).document(args, walkOptions{sensitiveKeys: true})
}

// scrubber redacts the free-form fields of one record with one Redactor.
type scrubber struct{ r *redact.Redactor }

// newScrubber builds the Redactor of a plan's secret values; values shorter
// than redact.MinSecretBytes are ignored (they would destroy ordinary text).
func newScrubber(secretValues []string) scrubber {
	secrets := make([]redact.Secret, 0, len(secretValues))
	for _, v := range secretValues {
		secrets = append(secrets, redact.Secret{Value: v})
	}
	return scrubber{r: redact.New(secrets, func(string) string { return redact.Redacted })}
}

// walkOptions says what a document rewrite does besides the secret pass.
type walkOptions struct {
	// sensitiveKeys replaces the value of a sensitive key (arguments only).
	sensitiveKeys bool
	// cutStrings cuts string values longer than MaxStringChars.
	cutStrings bool
}

// document rewrites one JSON document; see Redact for the results of empty
// and invalid input.
func (sc scrubber) document(raw json.RawMessage, o walkOptions) json.RawMessage {
	doc := bytes.TrimSpace(raw)
	if len(doc) == 0 {
		return nil
	}
	out, err := sc.rewrite(doc, o)
	if err != nil {
		return invalidDocument(len(raw))
	}
	return out
}

// invalidDocument stands in for input that is not one JSON value.
func invalidDocument(size int) json.RawMessage {
	return json.RawMessage(`{"_invalid_json":true,"_bytes":` + strconv.Itoa(size) + `}`)
}

// container is an open object or array of a rewrite.
type container struct {
	object  bool
	members int
}

// rewrite copies doc token by token: keys and values keep their order,
// number literals their digits, and only strings (and secret-bearing
// numbers) change. It works without recursion, so nesting depth costs heap,
// not stack.
func (sc scrubber) rewrite(doc []byte, o walkOptions) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	w := newJSONWriter(len(doc))
	var stack []container
	afterKey := false // the next token is the value of the key just written
	// separate writes the comma before a member; a value after its key
	// needs none.
	separate := func() {
		if len(stack) == 0 {
			return
		}
		if afterKey {
			afterKey = false
			return
		}
		top := &stack[len(stack)-1]
		if top.members > 0 {
			w.byte(',')
		}
		top.members++
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read JSON: %w", err)
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				separate()
				stack = append(stack, container{object: t == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			w.raw(t.String())
		case string:
			if len(stack) > 0 && stack[len(stack)-1].object && !afterKey {
				separate()
				key := sc.r.String(t)
				w.string(key)
				w.byte(':')
				if o.sensitiveKeys && (redact.SensitiveKey(t) || redact.SensitiveKey(key)) {
					var skipped json.RawMessage
					if err := dec.Decode(&skipped); err != nil {
						return nil, fmt.Errorf("read the value of a sensitive key: %w", err)
					}
					w.string(redact.Redacted)
					continue
				}
				afterKey = true
				continue
			}
			separate()
			s := sc.r.String(t)
			if o.cutStrings {
				s = cutString(s)
			}
			w.string(s)
		case json.Number:
			separate()
			if lit := string(t); sc.r.String(lit) == lit {
				w.raw(lit)
			} else {
				w.string(redact.Redacted)
			}
		case bool:
			separate()
			w.raw(strconv.FormatBool(t))
		case nil:
			separate()
			w.raw("null")
		}
		if len(stack) == 0 {
			break
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("read JSON: data follows the value")
	}
	return w.bytes(), nil
}

// jsonWriter builds JSON text; strings are escaped as encoding/json does,
// except that <, > and & stay as they are (records are not HTML).
type jsonWriter struct {
	buf *bytes.Buffer
	enc *json.Encoder
}

func newJSONWriter(sizeHint int) jsonWriter {
	buf := bytes.NewBuffer(make([]byte, 0, sizeHint))
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return jsonWriter{buf: buf, enc: enc}
}

func (w jsonWriter) byte(b byte)   { w.buf.WriteByte(b) }
func (w jsonWriter) raw(s string)  { w.buf.WriteString(s) }
func (w jsonWriter) bytes() []byte { return w.buf.Bytes() }
func (w jsonWriter) string(s string) {
	_ = w.enc.Encode(s)             // a string always encodes
	w.buf.Truncate(w.buf.Len() - 1) // Encode ends with a newline
}
