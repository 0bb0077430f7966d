package catalog

import (
	"encoding/json"
	"fmt"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

// content is a tool version as read back from tool_versions, after its hash
// was recomputed and matched (backend.md §5.3, §6.4).
type content struct {
	// Code is set for a go tool.
	Code string
	// Definition is set for an external tool.
	Definition *proto.ExternalDefinition
	// Manifest is the normalised manifest.
	Manifest proto.Manifest
	// Hash is the recomputed hash, equal to every pinned one.
	Hash string
}

// CorruptError says that a stored version does not match its pinned hash or
// cannot be read back at all: the database was changed outside MCPbox.
type CorruptError struct {
	// Reason names what is wrong, without any content.
	Reason string
	// Computed is the recomputed hash, "" when none could be computed.
	Computed string
}

// Error implements error.
func (e *CorruptError) Error() string { return "corrupt tool version: " + e.Reason }

// readContent decodes the stored content of a version of a tool of kind,
// recomputes its hash with proto/canon and checks it against every pinned
// hash given (the version's own and the tool's approved_hash). Any
// failure is a *CorruptError.
func readContent(kind string, code *string, manifest, definition []byte, pinned ...string) (content, error) {
	var m proto.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return content{}, &CorruptError{Reason: "the stored manifest is not a manifest object"}
	}
	m, err := m.Normalize()
	if err != nil {
		return content{}, &CorruptError{Reason: "the stored manifest has a host that does not normalise"}
	}
	var c content
	switch proto.ToolKind(kind) {
	case proto.ToolKindGo:
		if code == nil || len(definition) != 0 {
			return content{}, &CorruptError{Reason: "a go tool version must have code and no external definition"}
		}
		c.Code = *code
		c.Hash, err = canon.HashGo(*code, m)
	case proto.ToolKindExternal:
		if code != nil || len(definition) == 0 {
			return content{}, &CorruptError{Reason: "an external tool version must have a definition and no code"}
		}
		var def proto.ExternalDefinition
		if err := json.Unmarshal(definition, &def); err != nil {
			return content{}, &CorruptError{Reason: "the stored external definition is not a definition object"}
		}
		c.Definition = &def
		c.Hash, err = canon.HashExternal(def, m)
	default:
		return content{}, &CorruptError{Reason: fmt.Sprintf("unknown tool kind %q", kind)}
	}
	if err != nil {
		return content{}, &CorruptError{Reason: "the stored content cannot be hashed: " + err.Error()}
	}
	for _, h := range pinned {
		if h != c.Hash {
			return content{}, &CorruptError{
				Reason:   fmt.Sprintf("the content hashes to %s, not to the pinned %s", c.Hash, h),
				Computed: c.Hash,
			}
		}
	}
	c.Manifest = m
	return c, nil
}
