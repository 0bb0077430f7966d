package canon

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/gowebpki/jcs"
)

// Marshal returns the RFC 8785 canonical JSON of v. v is first encoded by
// encoding/json (so struct tags, omitempty, json.Marshaler and
// json.RawMessage apply, and HTML characters are not escaped), then
// canonicalised. Numbers go through IEEE 754 double precision, as RFC 8785
// prescribes: integers beyond ±2^53 are not kept exactly. A json.RawMessage
// with a duplicate object key is an error.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("canon: encode: %w", err)
	}
	out, err := jcs.Transform(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}))
	if err != nil {
		return nil, fmt.Errorf("canon: canonicalise: %w", err)
	}
	return out, nil
}
