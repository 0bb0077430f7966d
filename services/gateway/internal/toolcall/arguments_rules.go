package toolcall

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/jsonschema-go/jsonschema"
)

// Sizes of the words of a rule.
const (
	maxRuleChars    = 300
	maxPreviewChars = 40
	maxListedValues = 10
	maxListedNames  = 20
)

// Patterns that read the figures out of jsonschema-go's messages (v0.4.x,
// validate.go) when the failing subschema is not the one the walk holds.
var (
	reWantType   = regexp.MustCompile(`want (?:one of )?"([^"]*)"$`)
	reHasType    = regexp.MustCompile(`has type "([^"]*)"`)
	reLastNumber = regexp.MustCompile(`(-?[0-9][0-9.eE+-]*)$`)
	reQuoted     = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)
)

// explain adds the violation the library reported for inst at ptr against
// n. When the failing subschema lies below n along properties only, the
// pointer and the wording follow it down.
func (c *collector) explain(n *node, inst any, ptr string, err error) {
	if err == nil {
		return
	}
	msg, path := innermost(err)
	s, v, known := n.schema, inst, true
	if path != "root" {
		ptr, s, v, known = follow(ptr, n.schema, inst, path)
	}
	if !known {
		s = nil
	}
	c.add(Violation{Pointer: ptr, Rule: rule(msg, s, v, known)})
}

// innermost returns the library's innermost message ("type: ...") and the
// path of the schema that failed, read from the "validating <path>: "
// wrapper around it ("root" when there is none).
func innermost(err error) (msg, path string) {
	var outer error
	cur := err
	for {
		next := errors.Unwrap(cur)
		if next == nil {
			break
		}
		outer, cur = cur, next
	}
	msg, path = cur.Error(), "root"
	if outer != nil {
		p := strings.TrimSuffix(outer.Error(), ": "+msg)
		if rest, ok := strings.CutPrefix(p, "validating "); ok && rest != "" {
			path = rest
		}
	}
	return msg, path
}

// follow descends from (ptr, s, inst) along a schema path made of
// /properties/<name> steps. known reports whether the whole path was
// followed, so that s and inst are the failing subschema and value.
func follow(ptr string, s *jsonschema.Schema, inst any, path string) (string, *jsonschema.Schema, any, bool) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for len(segs) >= 2 && segs[0] == "properties" {
		name := unescapePointer(segs[1])
		sub, ok := s.Properties[name]
		if !ok {
			return ptr, s, inst, false
		}
		ptr += "/" + segs[1] // the library escapes as JSON pointers do
		s = sub
		if obj, isObj := inst.(map[string]any); isObj {
			inst = obj[name]
		} else {
			inst = nil
		}
		segs = segs[2:]
	}
	return ptr, s, inst, len(segs) == 0
}

// keyword is the library message's leading keyword ("maximum" of
// "maximum: 500 is greater than 200.000000").
func keyword(msg string) string {
	if strings.HasPrefix(msg, "unexpected additional properties") {
		return "additionalProperties"
	}
	k, _, ok := strings.Cut(msg, ":")
	if !ok {
		return ""
	}
	if i := strings.IndexByte(k, '['); i >= 0 { // dependentRequired["x"]
		k = k[:i]
	}
	return k
}

// rule rewords the library's message into a readable rule. s is the
// failing subschema and v the failing value when known; the figures come
// from s when it is known, else from the message.
func rule(msg string, s *jsonschema.Schema, v any, known bool) string {
	var r string
	switch k := keyword(msg); k {
	case "type":
		r = typeRule(msg, s, v, known)
	case "enum":
		r = enumRule(s)
	case "const":
		r = "must equal the fixed value"
		if s != nil && s.Const != nil {
			r = "must be exactly " + compactJSON(*s.Const)
		}
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
		r = numberRule(k, msg, s)
	case "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains":
		r = countRule(k, msg, s)
	case "pattern":
		r = patternRule(msg, s)
	case "required":
		r = "missing required properties: " + strings.Join(quotedNames(msg), ", ")
	case "additionalProperties":
		r = "unknown properties: " + strings.Join(quotedNames(msg), ", ")
	case "uniqueItems":
		r = "items must be unique"
	case "contains":
		r = "must contain at least one item matching the schema"
	case "not":
		r = "must not match the excluded schema"
		if s != nil && s.Not != nil {
			r = "must not match " + compactJSON(s.Not)
		}
	case "anyOf":
		r = "must match at least one of the allowed schemas (anyOf)"
	case "oneOf":
		r = "must match exactly one of the allowed schemas (oneOf)"
	default:
		r = msg
	}
	return sanitize(r, maxRuleChars)
}

// typeRule is "expected integer, got string \"3\"".
func typeRule(msg string, s *jsonschema.Schema, v any, known bool) string {
	want := ""
	switch {
	case s != nil && s.Type != "":
		want = s.Type
	case s != nil && len(s.Types) > 0:
		want = strings.Join(s.Types, " or ")
	default:
		if m := reWantType.FindStringSubmatch(msg); m != nil {
			want = strings.ReplaceAll(m[1], ", ", " or ")
		}
	}
	got := ""
	if known {
		got = describe(v)
	} else if m := reHasType.FindStringSubmatch(msg); m != nil {
		got = m[1]
	}
	switch {
	case want == "":
		return msg
	case got == "":
		return "expected " + want
	}
	return "expected " + want + ", got " + got
}

// enumRule lists the allowed values as JSON.
func enumRule(s *jsonschema.Schema) string {
	if s == nil || len(s.Enum) == 0 {
		return "must be one of the allowed values"
	}
	vals := make([]string, 0, min(len(s.Enum), maxListedValues))
	for i, e := range s.Enum {
		if i == maxListedValues {
			vals = append(vals, "…")
			break
		}
		vals = append(vals, compactJSON(e))
	}
	return "must be one of: " + strings.Join(vals, ", ")
}

// numberRule words the numeric bounds.
func numberRule(k, msg string, s *jsonschema.Schema) string {
	var bound *float64
	if s != nil {
		bound = map[string]*float64{
			"minimum": s.Minimum, "maximum": s.Maximum, "exclusiveMinimum": s.ExclusiveMinimum,
			"exclusiveMaximum": s.ExclusiveMaximum, "multipleOf": s.MultipleOf,
		}[k]
	}
	n := ""
	if bound != nil {
		n = formatNumber(*bound)
	} else if m := reLastNumber.FindStringSubmatch(msg); m != nil {
		if f, err := strconv.ParseFloat(m[1], 64); err == nil {
			n = formatNumber(f)
		}
	}
	if n == "" {
		return msg
	}
	return map[string]string{
		"minimum": "must be at least ", "maximum": "must be at most ", "exclusiveMinimum": "must be greater than ",
		"exclusiveMaximum": "must be less than ", "multipleOf": "must be a multiple of ",
	}[k] + n
}

// countRule words the length and size bounds.
func countRule(k, msg string, s *jsonschema.Schema) string {
	n := -1
	if s != nil {
		if p := map[string]*int{
			"minLength": s.MinLength, "maxLength": s.MaxLength, "minItems": s.MinItems, "maxItems": s.MaxItems,
			"minProperties": s.MinProperties, "maxProperties": s.MaxProperties,
			"minContains": s.MinContains, "maxContains": s.MaxContains,
		}[k]; p != nil {
			n = *p
		}
	}
	if n < 0 {
		m := reLastNumber.FindStringSubmatch(msg)
		if m == nil {
			return msg
		}
		var err error
		if n, err = strconv.Atoi(m[1]); err != nil {
			return msg
		}
	}
	bound := "at least "
	if strings.HasPrefix(k, "max") {
		bound = "at most "
	}
	unit := map[string]string{
		"minLength": "character", "maxLength": "character", "minItems": "item", "maxItems": "item",
		"minProperties": "property", "maxProperties": "property", "minContains": "matching item", "maxContains": "matching item",
	}[k]
	if n != 1 {
		unit = plural(unit)
	}
	if strings.HasSuffix(k, "Length") {
		return "must be " + bound + strconv.Itoa(n) + " " + unit + " long"
	}
	return "must have " + bound + strconv.Itoa(n) + " " + unit
}

// plural is the plural of the units of countRule.
func plural(unit string) string {
	if strings.HasSuffix(unit, "y") {
		return strings.TrimSuffix(unit, "y") + "ies"
	}
	return unit + "s"
}

// patternRule names the pattern.
func patternRule(msg string, s *jsonschema.Schema) string {
	if s != nil && s.Pattern != "" {
		return "must match the pattern " + s.Pattern
	}
	if q := quotedNames(msg); len(q) > 0 {
		return "must match the pattern " + q[len(q)-1]
	}
	return msg
}

// unknownPropertyRule names the properties a closed object allows.
func unknownPropertyRule(s *jsonschema.Schema) string {
	if len(s.Properties) == 0 {
		return "unknown property (no properties are allowed here)"
	}
	names := sortedKeys(s.Properties)
	if len(names) > maxListedNames {
		names = append(names[:maxListedNames], "…")
	}
	return "unknown property (allowed: " + strings.Join(names, ", ") + ")"
}

// describe is a value's JSON type and, for a scalar, a short preview:
// `string "3"`, `integer 7`, `boolean true`, `null`, `object`, `array`.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case float64:
		if _, frac := math.Modf(x); frac == 0 {
			return "integer " + formatNumber(x)
		}
		return "number " + formatNumber(x)
	case string:
		s := x
		if cut := []rune(s); len(cut) > maxPreviewChars {
			s = string(cut[:maxPreviewChars]) + "…"
		}
		return "string " + strconv.Quote(s)
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "a value of another type"
}

// formatNumber writes a float without exponent or trailing zeros when it
// is of a reasonable size ("200", "0.5").
func formatNumber(f float64) string {
	if math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// quotedNames returns the Go-quoted strings of a message, unquoted.
func quotedNames(msg string) []string {
	var out []string
	for _, m := range reQuoted.FindAllString(msg, -1) {
		if s, err := strconv.Unquote(m); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// compactJSON encodes v without HTML escaping, cut for a rule.
func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return "a fixed value"
	}
	return sanitize(strings.TrimSuffix(b.String(), "\n"), maxRuleChars/2)
}

// sanitize keeps a text on one line (control characters and line
// separators become spaces) and at most n characters.
func sanitize(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// sortedKeys returns a map's keys in byte order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// escapePointer escapes one JSON pointer token (RFC 6901).
func escapePointer(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// unescapePointer reverses escapePointer.
func unescapePointer(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
}
