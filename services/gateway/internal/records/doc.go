// Package records reports every user-tool call to the backend as an
// execution record (gateway.md §9): Prepare redacts and truncates a record,
// and a Queue delivers prepared records in batches to
// POST /internal/v1/executions without ever slowing a tool call.
//
// Redaction reuses proto/redact: the sensitive-key rule the backend shares
// (redact.SensitiveKey) and the Redactor that finds a secret value in all
// its forms (raw, URL-escaped, base64, hex). The backend redacts and
// truncates again on storage (backend.md §12.3); this package is the first
// line, so no secret ever sits in the gateway's memory queue or on the wire.
//
// JSON documents (arguments and results) are rewritten token by token,
// never through map[string]any: key order, duplicate keys and numbers
// (9007199254740993 stays 9007199254740993) survive byte for byte except
// where a value is redacted or cut.
//
// Delivery is at least once: the backend inserts by record id, so a batch
// whose answer was lost is simply sent again. Each record is counted once,
// as sent or as dropped (queue_full, rejected or shutdown), so
// enqueued = sent + dropped + queued.
package records
