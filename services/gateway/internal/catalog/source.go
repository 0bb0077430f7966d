package catalog

import (
	"context"

	"github.com/mcpbox/mcpbox/proto"
)

// Source is what the cache needs from the backend's internal API
// (gateway.md §7.1). Package backend implements it over HTTP; tests use an
// in-memory fake. Every method may be called concurrently with Events, but
// the cache never runs two Catalog or two Policy calls at once.
type Source interface {
	// Catalog fetches GET /internal/v1/catalog. A non-empty etag is sent as
	// If-None-Match; a 304 answer returns notModified true and a zero
	// catalog. newETag is the response's ETag (empty when it had none).
	Catalog(ctx context.Context, etag string) (cat proto.Catalog, newETag string, notModified bool, err error)
	// Policy fetches GET /internal/v1/policy (backend.md §9.7).
	Policy(ctx context.Context) (proto.Policy, error)
	// Events opens GET /internal/v1/events and calls onEvent for every
	// event, one at a time and in stream order, until the stream ends; it
	// returns the reason (nil for a clean end, the context's error when ctx
	// ends). It must treat 45 s without a byte as a dead stream (§7.2), since
	// the cache sees events, not the ping comments. Unknown event names are
	// skipped, never passed on.
	Events(ctx context.Context, onEvent func(proto.Event)) error
}
