package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// mcpHeaderKeyword is the schema keyword of SEP-2243 that mirrors an
// argument into an HTTP header. Behind the gateway it means nothing (the
// client talks to the gateway, not to the tool's server), and the SDK would
// act on it, so it is removed (gateway.md §7.3).
const mcpHeaderKeyword = "x-mcp-header"

// maxSchemaDepth bounds how deeply nested subschemas are walked. Each level
// re-reads its subtree, so the bound keeps a hostile external schema from
// costing quadratic time; legitimate tool schemas stay far below it.
const maxSchemaDepth = 64

// objectTypeJSON is the JSON of the only root type the SDK accepts.
const objectTypeJSON = `"object"`

// subschemaKind says whether a keyword's value holds one subschema, a map of
// name → subschema, or an array of subschemas (JSON Schema 2020-12, plus the draft-07 forms the
// external world still sends: definitions, dependencies, additionalItems and
// items as an array). Values of any other keyword (const, enum, default,
// examples, ...) are data and are never walked: an "x-mcp-header" there is a
// value, not a keyword.
func subschemaKind(keyword string) schemaSlot {
	switch keyword {
	case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies":
		return slotMap
	case "allOf", "anyOf", "oneOf", "prefixItems":
		return slotArray
	case "items":
		return slotSchemaOrArray
	case "additionalProperties", "additionalItems", "contains", "not", "if", "then", "else",
		"propertyNames", "unevaluatedProperties", "unevaluatedItems", "contentSchema":
		return slotSchema
	}
	return slotData
}

// schemaSlot says how a keyword's value holds subschemas.
type schemaSlot int

const (
	slotData schemaSlot = iota
	slotSchema
	slotMap
	slotArray
	slotSchemaOrArray
)

// errSchema* are the reasons an input schema cannot be made an object
// schema; they end up in the rejection log line.
var (
	errSchemaNotJSON   = errors.New("input schema is not valid JSON")
	errSchemaNotObject = errors.New("input schema must be a JSON object")
	errSchemaType      = errors.New(`input schema type must be "object"`)
	errSchemaDepth     = fmt.Errorf("input schema nests subschemas deeper than %d levels", maxSchemaDepth)
)

// NormalizeInputSchema makes raw an object schema the SDK accepts
// (gateway.md §7.3): the boolean schema true and a schema without "type"
// become {"type":"object",...}; a type list that includes "object" becomes
// "object" (arguments are always an object); every x-mcp-header keyword is
// removed, at any depth of subschemas. The result is compact JSON; members
// keep their order and values their bytes, so numbers and strings are never
// re-encoded. It fails for anything that cannot be an object schema: null,
// false, a non-object, another type, or a schema object with a duplicate
// key (whose meaning would depend on the parser).
func NormalizeInputSchema(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if !json.Valid(raw) {
		return nil, errSchemaNotJSON
	}
	if string(raw) == "true" {
		return json.RawMessage(`{"type":"object"}`), nil
	}
	if raw[0] != '{' {
		return nil, errSchemaNotObject
	}
	out, _, err := normalizeSchema(raw, 0, true)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, out); err != nil {
		return nil, fmt.Errorf("compact input schema: %w", err)
	}
	return buf.Bytes(), nil
}

// normalizeSchema normalises one schema object (root: also its type) and
// reports whether it changed. A value that is not an object (a boolean
// subschema) is returned as is.
func normalizeSchema(raw json.RawMessage, depth int, root bool) (json.RawMessage, bool, error) {
	if raw[0] != '{' {
		return raw, false, nil
	}
	if depth > maxSchemaDepth {
		return nil, false, errSchemaDepth
	}
	members, err := objectMembers(raw)
	if err != nil {
		return nil, false, err
	}
	changed := false
	kept := members[:0]
	hasType := false
	for _, m := range members {
		if m.key == mcpHeaderKeyword {
			changed = true
			continue
		}
		if root && m.key == "type" {
			hasType = true
			v, c, err := objectTypeValue(m.val)
			if err != nil {
				return nil, false, err
			}
			m.val, changed = v, changed || c
		}
		v, c, err := normalizeSlot(subschemaKind(m.key), m.val, depth)
		if err != nil {
			return nil, false, err
		}
		m.val, changed = v, changed || c
		kept = append(kept, m)
	}
	if root && !hasType {
		kept = append([]member{{key: "type", val: json.RawMessage(objectTypeJSON)}}, kept...)
		changed = true
	}
	if !changed {
		return raw, false, nil
	}
	return encodeMembers(kept), true, nil
}

// normalizeSlot normalises the subschemas inside one keyword's value.
func normalizeSlot(slot schemaSlot, raw json.RawMessage, depth int) (json.RawMessage, bool, error) {
	switch slot {
	case slotSchema:
		return normalizeSchema(raw, depth+1, false)
	case slotSchemaOrArray:
		if raw[0] == '[' {
			return normalizeArray(raw, depth)
		}
		return normalizeSchema(raw, depth+1, false)
	case slotArray:
		if raw[0] != '[' {
			return raw, false, nil
		}
		return normalizeArray(raw, depth)
	case slotMap:
		if raw[0] != '{' {
			return raw, false, nil
		}
		return normalizeMap(raw, depth)
	}
	return raw, false, nil
}

// normalizeMap normalises every value of a name → subschema map
// (properties, $defs, ...). Its keys are names, never keywords: a property
// called "x-mcp-header" stays.
func normalizeMap(raw json.RawMessage, depth int) (json.RawMessage, bool, error) {
	members, err := objectMembers(raw)
	if err != nil {
		return nil, false, err
	}
	changed := false
	for i := range members {
		v, c, err := normalizeSchema(members[i].val, depth+1, false)
		if err != nil {
			return nil, false, err
		}
		members[i].val, changed = v, changed || c
	}
	if !changed {
		return raw, false, nil
	}
	return encodeMembers(members), true, nil
}

// normalizeArray normalises every element of an array of subschemas.
func normalizeArray(raw json.RawMessage, depth int) (json.RawMessage, bool, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, false, fmt.Errorf("read subschema array: %w", err)
	}
	changed := false
	for i, e := range elems {
		v, c, err := normalizeSchema(e, depth+1, false)
		if err != nil {
			return nil, false, err
		}
		elems[i], changed = v, changed || c
	}
	if !changed {
		return raw, false, nil
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e)
	}
	b.WriteByte(']')
	return b.Bytes(), true, nil
}

// objectTypeValue checks the root "type": "object" stays, a list that
// includes "object" becomes "object", anything else is an error.
func objectTypeValue(raw json.RawMessage) (json.RawMessage, bool, error) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "object" {
			return raw, false, nil
		}
		return nil, false, errSchemaType
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		for _, t := range list {
			if t == "object" {
				return json.RawMessage(objectTypeJSON), true, nil
			}
		}
	}
	return nil, false, errSchemaType
}

// member is one "key": value pair of a JSON object, value kept raw.
type member struct {
	key string
	val json.RawMessage
}

// objectMembers splits a JSON object into its members, in order. A
// duplicate key is an error.
func objectMembers(raw json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // the '{'
		return nil, fmt.Errorf("read schema object: %w", err)
	}
	var members []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read schema key: %w", err)
		}
		key, _ := tok.(string) // an object's tokens here are always keys
		if seen[key] {
			return nil, fmt.Errorf("input schema repeats the key %q", key)
		}
		seen[key] = true
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("read schema value of %q: %w", key, err)
		}
		members = append(members, member{key: key, val: val})
	}
	return members, nil
}

// encodeMembers writes members as a JSON object. Keys are encoded without
// HTML escaping, so a "<" in a property name stays a "<".
func encodeMembers(members []member) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		_ = enc.Encode(m.key)   // a string always encodes
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}
