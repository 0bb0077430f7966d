package ratelimit_test

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/mcpbox/mcpbox/services/edge/internal/ratelimit"
)

// BenchmarkBucketsAllow measures Allow from parallel goroutines over 10 000
// client IPs with the production bound and the real clock.
func BenchmarkBucketsAllow(b *testing.B) {
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = "198.51." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
	}
	lim := ratelimit.NewBuckets(50, 100, nil)
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(7919)
		for pb.Next() {
			i++
			lim.Allow(keys[i%uint64(len(keys))])
		}
	})
}
