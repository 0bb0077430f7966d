package canon

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto"
)

// HashPrefix starts every pinned hash.
const HashPrefix = "sha256:"

// Errors of NormalizeCode; callers map them to validation_failed on "code".
var (
	// ErrCodeNUL is returned for code that contains a NUL byte.
	ErrCodeNUL = errors.New("code: must not contain a NUL byte")
	// ErrCodeUTF8 is returned for code that is not valid UTF-8.
	ErrCodeUTF8 = errors.New("code: must be valid UTF-8")
)

// goContent is the hashed content of a go tool version.
type goContent struct {
	Code     string         `json:"code"`
	Manifest proto.Manifest `json:"manifest"`
}

// externalContent is the hashed content of an external tool version.
type externalContent struct {
	Definition proto.ExternalDefinition `json:"definition"`
	Manifest   proto.Manifest           `json:"manifest"`
}

// Sum returns "sha256:" + lowercase hex of SHA-256 over Marshal(v).
func Sum(v any) (string, error) {
	b, err := Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return HashPrefix + hex.EncodeToString(sum[:]), nil
}

// HashGo returns the pinned hash of a go tool version: Sum of {"code",
// "manifest"} after NormalizeCode and NormalizeManifest, so CRLF line ends
// and reordered or repeated manifest entries hash the same.
func HashGo(code string, m proto.Manifest) (string, error) {
	code, err := NormalizeCode(code)
	if err != nil {
		return "", fmt.Errorf("hash go tool: %w", err)
	}
	m, err = NormalizeManifest(m)
	if err != nil {
		return "", fmt.Errorf("hash go tool: manifest: %w", err)
	}
	h, err := Sum(goContent{Code: code, Manifest: m})
	if err != nil {
		return "", fmt.Errorf("hash go tool: %w", err)
	}
	return h, nil
}

// HashExternal returns the pinned hash of an external tool version: Sum of
// {"definition", "manifest"} after NormalizeManifest. The definition is
// hashed as given (absent annotations and input_schema as null); its schema
// objects are canonicalised like everything else, so key order and
// whitespace in them do not matter.
func HashExternal(def proto.ExternalDefinition, m proto.Manifest) (string, error) {
	m, err := NormalizeManifest(m)
	if err != nil {
		return "", fmt.Errorf("hash external tool: manifest: %w", err)
	}
	if len(def.Annotations) == 0 {
		def.Annotations = nil
	}
	if len(def.InputSchema) == 0 {
		def.InputSchema = nil
	}
	h, err := Sum(externalContent{Definition: def, Manifest: m})
	if err != nil {
		return "", fmt.Errorf("hash external tool: %w", err)
	}
	return h, nil
}

// NormalizeManifest is proto.Manifest.Normalize: hosts normalised, a
// "host:port" entry dropped when the bare host is present, every list
// deduplicated and sorted by byte order (backend.md §5.2).
func NormalizeManifest(m proto.Manifest) (proto.Manifest, error) {
	return m.Normalize()
}

// NormalizeCode returns tool code in the form that is hashed and stored:
// CRLF and lone CR become LF. Code that is not valid UTF-8 (ErrCodeUTF8) or
// contains a NUL byte (ErrCodeNUL) is refused. The size limit
// (proto.MaxCodeBytes) is the callers' request rule, not part of the hash.
func NormalizeCode(code string) (string, error) {
	if strings.ContainsRune(code, 0) {
		return "", ErrCodeNUL
	}
	if !utf8.ValidString(code) {
		return "", ErrCodeUTF8
	}
	if !strings.ContainsRune(code, '\r') {
		return code, nil
	}
	return strings.ReplaceAll(strings.ReplaceAll(code, "\r\n", "\n"), "\r", "\n"), nil
}

// ValidHash reports whether s has the form of a pinned hash: "sha256:" and
// 64 lowercase hex digits.
func ValidHash(s string) bool {
	hexPart, ok := strings.CutPrefix(s, HashPrefix)
	if !ok || len(hexPart) != 2*sha256.Size {
		return false
	}
	for i := range len(hexPart) {
		c := hexPart[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
