package records

import (
	"encoding/json"
	"strconv"

	"github.com/mcpbox/mcpbox/proto/redact"
)

// Truncation limits of gateway.md §9. The backend cuts again, to its own
// limits, on storage (backend.md §12.3).
const (
	// MaxStringChars is the longest string value kept whole in input_args
	// and result; a longer one keeps this many characters plus
	// "…[truncated N chars]".
	MaxStringChars = 1000
	// MaxDocumentBytes is the largest input_args or result, as JSON, sent
	// as it is; a larger one becomes {"_truncated": true, "_bytes": N,
	// "_preview": "<first PreviewBytes of its JSON>"}.
	MaxDocumentBytes = 8 << 10
	// PreviewBytes is the length of the preview of a cut document.
	PreviewBytes = 2 << 10
	// MaxStdoutBytes and MaxErrorBytes cut stdout and error (no marker).
	MaxStdoutBytes = 8 << 10
	MaxErrorBytes  = 4 << 10
)

// cutString cuts s to MaxStringChars characters plus the marker naming how
// many characters were left out.
func cutString(s string) string {
	kept, cut := redact.CutChars(s, MaxStringChars)
	if cut == 0 {
		return s
	}
	return kept + "…[truncated " + strconv.Itoa(cut) + " chars]"
}

// capDocument replaces a redacted document over MaxDocumentBytes by its
// truncation object. N (_bytes) is the size that was measured: the JSON
// after redaction and string cuts. The preview is redacted once more as a
// whole text, so a secret value spread over adjacent JSON tokens (a key and
// its value) does not appear in it either.
func (sc scrubber) capDocument(doc json.RawMessage) json.RawMessage {
	if len(doc) <= MaxDocumentBytes {
		return doc
	}
	preview := sc.r.String(redact.CutBytes(string(doc), PreviewBytes))
	w := newJSONWriter(PreviewBytes + 64)
	w.raw(`{"_truncated":true,"_bytes":`)
	w.raw(strconv.Itoa(len(doc)))
	w.raw(`,"_preview":`)
	w.string(preview)
	w.byte('}')
	return w.bytes()
}
