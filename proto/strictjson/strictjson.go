// Package strictjson decodes request bodies the way every MCPbox API must
// (backend.md §2, sandbox.md §4.1): syntax errors, trailing data, duplicate
// keys, nesting deeper than a limit, unknown fields and wrong types are all
// refused with an *Error naming the JSON path and the rule, so the caller
// (often an LLM) can fix exactly that field.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// DefaultMaxDepth is the deepest nesting accepted unless Options say otherwise.
const DefaultMaxDepth = 64

// Error is a refused body: Path is the JSON path of the offending value
// ("limits.timeout_ms", "hosts[2]"; empty for the whole body), Rule says what
// is wrong and what to send instead.
type Error struct {
	Path string
	Rule string
	// Syntax is true for malformed JSON (invalid_json rather than a field
	// validation failure).
	Syntax bool
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Rule
	}
	return e.Path + ": " + e.Rule
}

// Options tune Decode.
type Options struct {
	MaxDepth int // 0 means DefaultMaxDepth
	// UseNumber keeps numbers in interface values as json.Number (verbatim).
	UseNumber bool
}

// Decode decodes data into v (a pointer to a struct) strictly.
func Decode(data []byte, v any, opt Options) error {
	depth := opt.MaxDepth
	if depth == 0 {
		depth = DefaultMaxDepth
	}
	if err := scan(data, depth); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if opt.UseNumber {
		dec.UseNumber()
	}
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		return &Error{Path: typeErr.Field, Rule: "expected " + jsonKind(typeErr.Type) + ", got " + typeErr.Value}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		if path := unknownPath(data, reflect.TypeOf(v)); path != "" {
			return &Error{Path: path, Rule: "unknown field; remove it (see the API reference for the accepted fields)"}
		}
		return &Error{Rule: "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")}
	}
	return &Error{Rule: "invalid value: " + strings.TrimPrefix(err.Error(), "json: ")}
}

// scan checks syntax, trailing data, duplicate keys and depth with a token
// walk, naming the path of the first problem.
func scan(data []byte, maxDepth int) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walk(dec, "", 0, maxDepth); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Rule: "trailing data after the JSON value; send exactly one JSON object", Syntax: true}
	}
	return nil
}

func walk(dec *json.Decoder, path string, depth, maxDepth int) error {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return &Error{Path: path, Rule: "unexpected end of JSON input", Syntax: true}
		}
		return &Error{Path: path, Rule: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: "), Syntax: true}
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth+1 > maxDepth {
		return &Error{Path: path, Rule: fmt.Sprintf("nesting deeper than %d levels", maxDepth)}
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return &Error{Path: path, Rule: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: "), Syntax: true}
			}
			key, _ := kt.(string)
			child := joinKey(path, key)
			if seen[key] {
				return &Error{Path: child, Rule: "duplicate key; send each field once", Syntax: true}
			}
			seen[key] = true
			if err := walk(dec, child, depth+1, maxDepth); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walk(dec, path+"["+strconv.Itoa(i)+"]", depth+1, maxDepth); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return &Error{Path: path, Rule: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: "), Syntax: true}
	}
	return nil
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// unknownPath finds the path of the first key of data that t (the decode
// target) has no field for, matching names as encoding/json does.
func unknownPath(data []byte, t reflect.Type) string {
	var raw any
	if json.Unmarshal(data, &raw) != nil {
		return ""
	}
	return findUnknown(raw, t, "")
}

func findUnknown(raw any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := raw.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Struct:
			fields := jsonFields(t)
			for _, key := range sortedKeys(x) {
				ft, ok := lookupField(fields, key)
				if !ok {
					return joinKey(path, key)
				}
				if p := findUnknown(x[key], ft, joinKey(path, key)); p != "" {
					return p
				}
			}
		case reflect.Map:
			for _, key := range sortedKeys(x) {
				if p := findUnknown(x[key], t.Elem(), joinKey(path, key)); p != "" {
					return p
				}
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, el := range x {
				if p := findUnknown(el, t.Elem(), path+"["+strconv.Itoa(i)+"]"); p != "" {
					return p
				}
			}
		}
	}
	return ""
}

// jsonFields maps JSON names to field types, embedded structs flattened.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// lookupField matches exactly first, then case-insensitively (encoding/json).
func lookupField(fields map[string]reflect.Type, key string) (reflect.Type, bool) {
	if t, ok := fields[key]; ok {
		return t, true
	}
	for name, t := range fields {
		if strings.EqualFold(name, key) {
			return t, true
		}
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.String()
}
