package records

import (
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/redact"
)

// Prepare returns rec ready for the queue (gateway.md §9): input_args
// redacted as Redact does; result, error and stdout cleared of every form of
// the secret values (a second line of defence after the sandbox); then,
// redaction always first, string values of input_args and result cut to
// MaxStringChars, each document over MaxDocumentBytes replaced by its
// truncation object, stdout cut to MaxStdoutBytes and error to
// MaxErrorBytes. Other fields are left as they are. secretValues are the
// plan's secret values; values shorter than redact.MinSecretBytes are
// ignored.
//
// The 1,000-character cut applies to the strings of result as well as of
// input_args: gateway.md §9 states it for strings without naming a field,
// and a record is a log, not the answer the client received.
func Prepare(rec proto.ExecutionRecord, secretValues []string) proto.ExecutionRecord {
	sc := newScrubber(secretValues)
	rec.InputArgs = sc.capDocument(sc.document(rec.InputArgs, walkOptions{sensitiveKeys: true, cutStrings: true}))
	rec.Result = sc.capDocument(sc.document(rec.Result, walkOptions{cutStrings: true}))
	rec.Error = redact.CutBytes(sc.r.String(rec.Error), MaxErrorBytes)
	rec.Stdout = redact.CutBytes(sc.r.String(rec.Stdout), MaxStdoutBytes)
	return rec
}
