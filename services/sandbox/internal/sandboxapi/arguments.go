package sandboxapi

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mcpbox/mcpbox/proto"
)

// maxValidators bounds the compiled-schema cache (keyed by schema hash; it
// holds no arguments, secrets or results, sandbox.md §4.2.3 "Caching").
const maxValidators = 512

// validators caches resolved JSON Schemas by the SHA-256 of their bytes.
type validators struct {
	mu    sync.Mutex
	byKey map[[32]byte]*jsonschema.Resolved
}

func newValidators() *validators {
	return &validators{byKey: map[[32]byte]*jsonschema.Resolved{}}
}

// check validates args against schema (step 4 of sandbox.md §4.2.3) and
// returns an InvalidArguments error naming the path and the rule, or nil.
func (v *validators) check(schema, args json.RawMessage) *proto.ExecutionError {
	rs, err := v.resolve(schema)
	if err != nil {
		return &proto.ExecutionError{
			Type:    proto.ErrTypeInvalidArguments,
			Message: "the input schema cannot be used for validation: " + err.Error() + "; fix the Input struct's tags",
		}
	}
	var inst any
	if err := json.Unmarshal(args, &inst); err != nil {
		return &proto.ExecutionError{Type: proto.ErrTypeInvalidArguments, Message: "arguments: must be a JSON object"}
	}
	if err := rs.Validate(inst); err != nil {
		return &proto.ExecutionError{
			Type:    proto.ErrTypeInvalidArguments,
			Message: "arguments do not match the tool's input schema: " + schemaMessage(err) + ". Fix the arguments and call again.",
		}
	}
	return nil
}

func (v *validators) resolve(schema json.RawMessage) (*jsonschema.Resolved, error) {
	key := sha256.Sum256(schema)
	v.mu.Lock()
	rs, ok := v.byKey[key]
	v.mu.Unlock()
	if ok {
		return rs, nil
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, fmt.Errorf("invalid JSON Schema: %w", err)
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if len(v.byKey) >= maxValidators {
		clear(v.byKey) // a full reset keeps the bound simple; entries are cheap to rebuild
	}
	v.byKey[key] = rs
	v.mu.Unlock()
	return rs, nil
}

// schemaMessage turns the validator's "validating /properties/days: ..."
// chain into "arguments.days: ..." wording.
func schemaMessage(err error) string {
	msg := err.Error()
	var last string
	for e := err; e != nil; e = errors.Unwrap(e) {
		last = e.Error()
	}
	if last != "" {
		msg = last
	}
	msg = strings.ReplaceAll(msg, "validating root: ", "")
	msg = strings.ReplaceAll(msg, "/properties/", ".")
	return strings.TrimSpace(msg)
}
