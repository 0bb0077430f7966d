package toolcall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// Sizes of an invalid-arguments text.
const (
	maxPointerChars = 200
	// maxSchemaEcho bounds the "Expected input schema" line; a larger
	// schema is cut (the client also has it from tools/list).
	maxSchemaEcho = 16 << 10
)

// ValidateArguments checks a call's raw arguments (gateway.md §8.2):
// absent (or JSON null) means {}; anything but an object is refused with
// NotAnObjectText; an object is checked against v unless v is nil (a
// schema that is not enforced). It returns the arguments to send on ("{}"
// for absent ones, else the bytes as received) and, when they are refused,
// the isError text.
func ValidateArguments(name string, v *Validator, raw json.RawMessage) (args json.RawMessage, refusal string) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		raw, trimmed = json.RawMessage(`{}`), []byte(`{}`)
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		return raw, NotAnObjectText(name)
	}
	if v == nil {
		return raw, ""
	}
	var inst any
	if err := json.Unmarshal(trimmed, &inst); err != nil {
		// Valid JSON that does not decode: a number beyond float64.
		return raw, InvalidArgumentsText(name, []Violation{{Rule: "holds a number too large to check; " +
			"send it within ±1.7e308"}}, false, v.Schema())
	}
	if vs, more := v.Check(inst); len(vs) > 0 {
		return raw, InvalidArgumentsText(name, vs, more, v.Schema())
	}
	return raw, ""
}

// NotAnObjectText is the refusal of arguments that are not a JSON object
// (gateway.md §8.2).
func NotAnObjectText(name string) string {
	return "Invalid arguments for " + name + ": arguments must be a JSON object."
}

// InvalidArgumentsText formats violations as gateway.md §8.2 shows them:
//
//	Invalid arguments for weather__forecast:
//	- /days: expected integer, got string "3"
//	- /city: required property is missing
//	Expected input schema: {...}
//
// At most MaxViolations lines are listed; more adds a line saying others
// were left out. The arguments object itself is named "(arguments)". A
// pointer is cut at 200 characters and control characters are escaped, so
// a client's property name cannot add lines to the text.
func InvalidArgumentsText(name string, vs []Violation, more bool, schema json.RawMessage) string {
	var b strings.Builder
	b.WriteString("Invalid arguments for " + name + ":")
	for i, v := range vs {
		if i == MaxViolations {
			more = true
			break
		}
		b.WriteString("\n- " + displayPointer(v.Pointer) + ": " + sanitize(v.Rule, maxRuleChars))
	}
	if more {
		b.WriteString("\n(more violations not shown)")
	}
	b.WriteString("\nExpected input schema: " + schemaEcho(schema))
	return b.String()
}

// displayPointer is a pointer as the text shows it.
func displayPointer(p string) string {
	if p == "" {
		return "(arguments)"
	}
	var b strings.Builder
	n := 0
	for _, r := range p {
		if n == maxPointerChars {
			b.WriteString("…")
			break
		}
		n++
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// schemaEcho is the schema as compact JSON (as received when it does not
// compact), cut to maxSchemaEcho bytes.
func schemaEcho(schema json.RawMessage) string {
	var b bytes.Buffer
	s := string(schema)
	if json.Compact(&b, schema) == nil {
		s = b.String()
	}
	if len(s) > maxSchemaEcho {
		cut := maxSchemaEcho
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// isRuneStart reports whether b starts a UTF-8 sequence.
func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
