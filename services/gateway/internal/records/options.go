package records

import (
	"math/rand/v2"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// Defaults of gateway.md §9; a zero Options field takes its default.
const (
	DefaultMaxRecords   = 10_000
	DefaultMaxBytes     = 32 << 20
	DefaultBatchSize    = 100
	DefaultBatchDelay   = time.Second
	DefaultMinBackoff   = 500 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultFlushTimeout = 5 * time.Second
)

// maxBatchBytes bounds the records of one batch, as JSON, under the
// backend's body limit (backend.md §9.6), leaving room for the envelope and
// the commas. A record larger than this alone can never be sent.
const maxBatchBytes = proto.MaxExecutionBatchBytes - 4<<10

// Options bound and pace a Queue. The wiring sets MaxRecords and MaxBytes
// from MCPBOX_GATEWAY_RECORD_QUEUE and MCPBOX_GATEWAY_RECORD_QUEUE_BYTES;
// the others exist so tests can run fast.
type Options struct {
	// MaxRecords and MaxBytes bound the queue (records, and bytes of their
	// JSON), in-flight batch included; past either, the oldest records are
	// dropped.
	MaxRecords int
	MaxBytes   int
	// BatchSize is the most records sent at once (at most
	// proto.MaxExecutionBatchRecords). A batch leaves when it is full or
	// BatchDelay after its oldest record was queued.
	BatchSize  int
	BatchDelay time.Duration
	// MinBackoff and MaxBackoff bound the wait before a failed batch is
	// sent again: MinBackoff, doubling at each failure up to MaxBackoff,
	// each wait drawn from ±20% of that value (never above MaxBackoff) so
	// that gateway replicas do not retry in step.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// FlushTimeout bounds the shutdown flush.
	FlushTimeout time.Duration
}

// withDefaults fills zero (or out-of-range) fields.
func (o Options) withDefaults() Options {
	if o.MaxRecords <= 0 {
		o.MaxRecords = DefaultMaxRecords
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.BatchSize <= 0 || o.BatchSize > proto.MaxExecutionBatchRecords {
		o.BatchSize = DefaultBatchSize
	}
	if o.BatchDelay <= 0 {
		o.BatchDelay = DefaultBatchDelay
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = DefaultFlushTimeout
	}
	return o
}

// backoff returns the wait after the n-th consecutive failure (n ≥ 1).
func (o Options) backoff(n int) time.Duration {
	base := o.MinBackoff
	for i := 1; i < n && base < o.MaxBackoff; i++ {
		base *= 2
	}
	base = min(base, o.MaxBackoff)
	jittered := time.Duration(float64(base) * (0.8 + 0.4*rand.Float64())) //nolint:gosec // jitter needs no cryptographic randomness
	return min(jittered, o.MaxBackoff)
}
