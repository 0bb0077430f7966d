package testrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mcpbox/mcpbox/proto"
)

// ArgumentsError refuses arguments before anything runs (backend.md §8.2):
// Details names each failing JSON pointer inside the arguments ("" is the
// arguments object itself) with the rule it breaks.
type ArgumentsError struct {
	Version int
	Details []proto.FieldError
}

// Error implements error.
func (e *ArgumentsError) Error() string {
	parts := make([]string, len(e.Details))
	for i, d := range e.Details {
		parts[i] = pointerName(d.Field) + ": " + strings.TrimSuffix(d.Message, ".")
	}
	return fmt.Sprintf("arguments: do not match the input schema of version %d: %s; fix them and run the test again.",
		e.Version, strings.Join(parts, "; "))
}

func pointerName(p string) string {
	if p == "" {
		return "(the arguments object)"
	}
	return p
}

// maxDetails bounds the failures listed for one call.
const maxDetails = 50

// CheckArguments validates args (a JSON object; nil or empty means {})
// against a version's input schema (JSON Schema 2020-12, as the sandbox
// derives it, sandbox.md §5.3) with the validator the sandbox uses
// (github.com/google/jsonschema-go), and returns every failure it can
// locate, by JSON pointer, sorted; nil when the arguments are valid. A
// schema that is null or absent accepts any object. Size and nesting are
// held to the sandbox's limits (proto.MaxArgumentsBytes,
// proto.MaxArgumentsDepth).
func CheckArguments(schema, args json.RawMessage) []proto.FieldError {
	args = bytes.TrimSpace(args)
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	switch {
	case len(args) > proto.MaxArgumentsBytes:
		return []proto.FieldError{{Field: "", Message: fmt.Sprintf("the arguments are over %d bytes.", proto.MaxArgumentsBytes)}}
	case depth(args) > proto.MaxArgumentsDepth:
		return []proto.FieldError{{Field: "", Message: fmt.Sprintf("the arguments nest deeper than %d levels.", proto.MaxArgumentsDepth)}}
	}
	var inst any
	if err := json.Unmarshal(args, &inst); err != nil {
		return []proto.FieldError{{Field: "", Message: "must be a JSON object."}}
	}
	if _, ok := inst.(map[string]any); !ok {
		return []proto.FieldError{{Field: "", Message: "must be a JSON object, not " + jsonKind(inst) + "."}}
	}
	schema = bytes.TrimSpace(schema)
	if len(schema) == 0 || string(schema) == "null" {
		return nil
	}
	var out []proto.FieldError
	collect(schema, inst, "", &out)
	slices.SortStableFunc(out, func(a, b proto.FieldError) int { return strings.Compare(a.Field, b.Field) })
	if len(out) > maxDetails {
		out = out[:maxDetails]
	}
	return out
}

// node is the structure of a schema the failures are located through.
type node struct {
	Properties           map[string]json.RawMessage `json:"properties"`
	Required             []string                   `json:"required"`
	AdditionalProperties json.RawMessage            `json:"additionalProperties"`
	Items                json.RawMessage            `json:"items"`
}

// collect appends the failures of inst against schema at pointer ptr: the
// failures of its properties or items when the schema describes them, else
// the validator's own message at ptr.
func collect(schema json.RawMessage, inst any, ptr string, out *[]proto.FieldError) {
	if len(*out) >= maxDetails {
		return
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(schema, &s); err != nil {
		*out = append(*out, proto.FieldError{Field: ptr, Message: "the input schema cannot be read here: " + err.Error() + "."})
		return
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		*out = append(*out, proto.FieldError{Field: ptr, Message: "the input schema cannot be used here: " + err.Error() + "."})
		return
	}
	verr := rs.Validate(inst)
	if verr == nil {
		return
	}
	before := len(*out)
	var n node
	if json.Unmarshal(schema, &n) == nil {
		switch v := inst.(type) {
		case map[string]any:
			collectObject(n, v, ptr, out)
		case []any:
			if len(n.Items) > 0 {
				for i, el := range v {
					collect(n.Items, el, ptr+"/"+strconv.Itoa(i), out)
				}
			}
		}
	}
	if len(*out) == before {
		*out = append(*out, proto.FieldError{Field: ptr, Message: ruleMessage(verr)})
	}
}

// collectObject locates the failures of an object: missing required
// properties, properties the schema does not allow, and failing values.
func collectObject(n node, v map[string]any, ptr string, out *[]proto.FieldError) {
	for _, r := range n.Required {
		if _, ok := v[r]; !ok {
			*out = append(*out, proto.FieldError{Field: ptr + "/" + escape(r), Message: "required property is missing."})
		}
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		at := ptr + "/" + escape(k)
		if sub, ok := n.Properties[k]; ok {
			collect(sub, v[k], at, out)
			continue
		}
		switch extra := bytes.TrimSpace(n.AdditionalProperties); {
		case len(extra) == 0:
		case string(extra) == "false":
			*out = append(*out, proto.FieldError{Field: at, Message: "unknown property; allowed: " + allowed(n.Properties) + "."})
		default:
			collect(extra, v[k], at, out)
		}
	}
}

func allowed(props map[string]json.RawMessage) string {
	if len(props) == 0 {
		return "none"
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// escape escapes a key for a JSON pointer (RFC 6901).
func escape(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// ruleMessage is the innermost message of the validator's chain ("type: 3
// has type "integer", want "string"").
func ruleMessage(err error) string {
	last := err.Error()
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		last = e.Error()
	}
	last = strings.TrimSpace(strings.TrimPrefix(last, "validating root: "))
	if !strings.HasSuffix(last, ".") {
		last += "."
	}
	return last
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	}
	return "an object"
}

// depth returns the deepest nesting of arrays and objects in valid JSON.
func depth(b []byte) int {
	d, deepest, inString, escaped := 0, 0, false, false
	for _, c := range b {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}
