package executions

import (
	"context"
	"fmt"
	"time"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
)

// DefaultPeriod is the period of Stats when the request names none.
const DefaultPeriod = "24h"

// periodOf returns the length and bucket width in seconds of a period of
// backend.md §14.3: 13, 25, 25 and 29 buckets.
func periodOf(name string) (length, bin int32, ok bool) {
	const minute, hour = 60, 3600
	switch name {
	case "1h":
		return hour, 5 * minute, true
	case "6h":
		return 6 * hour, 15 * minute, true
	case "24h":
		return 24 * hour, hour, true
	case "7d":
		return 7 * 24 * hour, 6 * hour, true
	}
	return 0, 0, false
}

// Stats are the execution figures of one period (backend.md §14.3): test
// runs are excluded from every figure but TestRuns.
type Stats struct {
	Period           string
	Executions       int64
	ExecutionsFailed int64
	// ErrorRate is ExecutionsFailed / Executions, 0 when there are none.
	ErrorRate        float64
	AvgDurationMS    int64
	P95DurationMS    int64
	ExecutionsLocal  int64
	ExecutionsRemote int64
	TestRuns         int64
	// UniqueTools counts tool ids; UniqueCallers counts the local caller
	// once and each remote caller by email, else subject.
	UniqueTools   int64
	UniqueCallers int64
	// OverTime are the buckets, oldest first: every bucket from the one of
	// now - period to the one of now, zero-filled.
	OverTime []Bucket
}

// Bucket counts the records created in [T, T + bucket width).
type Bucket struct {
	T      time.Time
	Total  int64
	Failed int64
}

// Stats returns the figures of period (1h, 6h, 24h or 7d; "" is
// DefaultPeriod), read in one snapshot so the buckets and the totals agree;
// another period is a *proto.RuleError for "period".
func (s *Service) Stats(ctx context.Context, period string) (Stats, error) {
	if period == "" {
		period = DefaultPeriod
	}
	periodSeconds, binSeconds, ok := periodOf(period)
	if !ok {
		return Stats{}, &proto.RuleError{Field: "period", Message: `must be "1h", "6h", "24h" or "7d" (default 24h).`}
	}
	out := Stats{Period: period}
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		r, err := q.ExecutionStats(ctx, periodSeconds)
		if err != nil {
			return err
		}
		out.Executions, out.ExecutionsFailed = r.Executions, r.ExecutionsFailed
		out.AvgDurationMS, out.P95DurationMS = r.AvgDurationMs, r.P95DurationMs
		out.ExecutionsLocal, out.ExecutionsRemote, out.TestRuns = r.ExecutionsLocal, r.ExecutionsRemote, r.TestRuns
		out.UniqueTools, out.UniqueCallers = r.UniqueTools, r.UniqueCallers
		if r.Executions > 0 {
			out.ErrorRate = float64(r.ExecutionsFailed) / float64(r.Executions)
		}
		buckets, err := q.ExecutionBuckets(ctx, dbq.ExecutionBucketsParams{PeriodSeconds: periodSeconds, BinSeconds: binSeconds})
		if err != nil {
			return err
		}
		out.OverTime = make([]Bucket, len(buckets))
		for i, b := range buckets {
			out.OverTime[i] = Bucket{T: b.T, Total: b.Total, Failed: b.Failed}
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("execution stats for %s: %w", period, err)
	}
	return out, nil
}
