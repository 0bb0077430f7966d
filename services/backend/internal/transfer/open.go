package transfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/strictjson"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// Open checks an import document in the order of backend.md §14.4, before
// anything is written: well-formed JSON (*SyntaxError), the signature
// against the current and the old keys (*SignatureError), then Decode. It
// returns the document and the id of the key that signed it.
func Open(keys *seal.Keyring, raw []byte) (*Document, int, error) {
	var top map[string]json.RawMessage
	if err := strictjson.Decode(raw, &top, strictjson.Options{}); err != nil {
		return nil, 0, decodeError(err)
	}
	if top == nil {
		return nil, 0, notObject()
	}
	keyID, err := verify(keys, top)
	if err != nil {
		return nil, 0, err
	}
	d, err := Decode(raw)
	if err != nil {
		return nil, 0, err
	}
	return d, keyID, nil
}

// Decode decodes a document strictly and checks every rule that does not
// depend on the installation, without looking at its signature: format and
// format_version first (a document of another version is not decoded
// further), then unknown fields and wrong types (strictjson), then the rules
// of validate. Rule failures are *proto.RuleError (joined), each naming the
// JSON path of the field, e.g. "servers[0].tools[2].latest.manifest.hosts[1]".
func Decode(raw []byte) (*Document, error) {
	var head map[string]json.RawMessage
	if err := strictjson.Decode(raw, &head, strictjson.Options{}); err != nil {
		return nil, decodeError(err)
	}
	if head == nil {
		return nil, notObject()
	}
	if err := checkVersion(head); err != nil {
		return nil, err
	}
	var d Document
	if err := strictjson.Decode(raw, &d, strictjson.Options{}); err != nil {
		return nil, decodeError(err)
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// checkVersion refuses a document that is not an MCPbox export of format
// version 2.
func checkVersion(head map[string]json.RawMessage) error {
	var format string
	if raw, ok := head["format"]; !ok || json.Unmarshal(raw, &format) != nil || format != Format {
		return &proto.RuleError{Field: "format", Message: fmt.Sprintf(
			"must be %q; this file is not an MCPbox export (GET /api/v1/export writes one).", Format)}
	}
	var version int
	if raw, ok := head["format_version"]; !ok || json.Unmarshal(raw, &version) != nil || version != FormatVersion {
		return &proto.RuleError{Field: "format_version", Message: fmt.Sprintf(
			"must be %d; this file was written by another version of MCPbox and cannot be imported by this one "+
				"(exports of the Python reference implementation are not importable).", FormatVersion)}
	}
	return nil
}

// decodeError turns a strictjson refusal into a *SyntaxError (malformed
// JSON, trailing data, duplicate key) or a *proto.RuleError naming the
// path (unknown field, wrong type, nesting).
func decodeError(err error) error {
	var se *strictjson.Error
	if !errors.As(err, &se) {
		return &SyntaxError{Message: "The document is not valid JSON."}
	}
	if se.Syntax {
		return &SyntaxError{Message: "The document is not valid JSON: " + se.Error() + "."}
	}
	return &proto.RuleError{Field: bracketIndexes(se.Path), Message: se.Rule + "."}
}

// bracketIndexes writes the array indexes of a path as encoding/json's type
// errors give it ("servers.0.tools.1.enabled") the way every other message
// does ("servers[0].tools[1].enabled"). Document has no map whose keys
// could be numbers, so a numeric segment is always an index.
func bracketIndexes(path string) string {
	var b strings.Builder
	for i, seg := range strings.Split(path, ".") {
		_, err := strconv.Atoi(seg)
		switch {
		case err == nil && i > 0:
			b.WriteString("[" + seg + "]")
		case i > 0:
			b.WriteString("." + seg)
		default:
			b.WriteString(seg)
		}
	}
	return b.String()
}

func notObject() error {
	return &proto.RuleError{Message: "The document must be a JSON object, as GET /api/v1/export writes it."}
}
