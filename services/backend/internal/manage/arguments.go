package manage

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
)

// arguments are a call's decoded arguments: each value still raw, read by
// the operation with the typed getters below, whose failures are
// validation_failed naming the argument (never internal).
type arguments struct {
	values map[string]json.RawMessage
}

// unknownHints are the explanations for arguments callers of the Python
// reference implementation send (§10.1).
func unknownHint(tool proto.ManagementTool, name string) string {
	switch name {
	case "python_code":
		return "unknown argument; tool code goes in 'code'."
	case "page", "page_size":
		return "unknown argument; lists take 'cursor' and 'limit'."
	case "module_name":
		return "unknown argument; name the Go package in 'package'."
	case "description":
		if tool == proto.MgmtCreateTool || tool == proto.MgmtUpdateTool {
			return "unknown argument; the description is Main's doc comment in 'code'."
		}
	}
	return ""
}

// decodeArguments reads the arguments object (absent or null: none) and
// refuses every argument the operation does not declare.
func decodeArguments(tool proto.ManagementTool, raw json.RawMessage, allowed []string) (*arguments, error) {
	a := &arguments{values: map[string]json.RawMessage{}}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return a, nil
	}
	if trimmed[0] != '{' {
		return nil, fieldFail("arguments", "must be a JSON object.")
	}
	if err := json.Unmarshal(trimmed, &a.values); err != nil {
		return nil, fieldFail("arguments", "must be a JSON object.")
	}
	if _, ok := a.values[""]; ok {
		return nil, fieldFail("arguments", "an argument name must not be empty.")
	}
	var unknown []string
	for k := range a.values {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return a, nil
	}
	slices.Sort(unknown)
	var e *opError
	for _, k := range unknown {
		rule := unknownHint(tool, k)
		if rule == "" {
			rule = "unknown argument; " + string(tool) + " takes " + takes(allowed) + "."
		}
		if e == nil {
			e = fieldFail(k, rule)
			continue
		}
		e.e.Details = append(e.e.Details, proto.FieldError{Field: k, Message: rule})
	}
	return nil, e
}

// takes lists the accepted argument names for a message.
func takes(allowed []string) string {
	if len(allowed) == 0 {
		return "no arguments"
	}
	return strings.Join(allowed, ", ")
}

// raw returns the argument's value, or nil when it is absent or null.
func (a *arguments) raw(name string) json.RawMessage {
	v, ok := a.values[name]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil
	}
	return v
}

// string reads an optional string argument.
func (a *arguments) string(name string) (*string, error) {
	v := a.raw(name)
	if v == nil {
		return nil, nil //nolint:nilnil // absent is not an error
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fieldFail(name, "must be a string.")
	}
	return &s, nil
}

// requiredString reads a string argument the operation needs.
func (a *arguments) requiredString(name string) (string, error) {
	s, err := a.string(name)
	if err != nil {
		return "", err
	}
	if s == nil {
		return "", fieldFail(name, "is required.")
	}
	return *s, nil
}

// id reads a required UUID argument.
func (a *arguments) id(name string) (uuid.UUID, error) {
	v := a.raw(name)
	if v == nil {
		return uuid.Nil, fieldFail(name, "is required.")
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return uuid.Nil, fieldFail(name, "must be a UUID.")
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, fieldFail(name, "must be a UUID.")
	}
	return id, nil
}

// int reads an optional integer argument.
func (a *arguments) int(name string) (*int, error) {
	v := a.raw(name)
	if v == nil {
		return nil, nil //nolint:nilnil // absent is not an error
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return nil, fieldFail(name, "must be an integer.")
	}
	n := int(f)
	return &n, nil
}

// bool reads an optional boolean argument.
func (a *arguments) bool(name string) (*bool, error) {
	v := a.raw(name)
	if v == nil {
		return nil, nil //nolint:nilnil // absent is not an error
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return nil, fieldFail(name, "must be true or false.")
	}
	return &b, nil
}

// strings reads an optional array of strings.
func (a *arguments) strings(name string) (*[]string, error) {
	v := a.raw(name)
	if v == nil {
		return nil, nil //nolint:nilnil // absent is not an error
	}
	var out []string
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, fieldFail(name, "must be an array of strings.")
	}
	if out == nil {
		out = []string{}
	}
	return &out, nil
}

// page reads cursor and limit (§10.1: limit 1–200, default 50).
func (a *arguments) page() (limit int, cursor string, err error) {
	n, err := a.int("limit")
	if err != nil {
		return 0, "", err
	}
	limit = proto.DefaultListLimit
	if n != nil {
		if *n < 1 || *n > proto.MaxListLimit {
			return 0, "", fieldFail("limit", "must be an integer from 1 to 200.")
		}
		limit = *n
	}
	c, err := a.string("cursor")
	if err != nil {
		return 0, "", err
	}
	if c != nil {
		cursor = *c
	}
	return limit, cursor, nil
}
