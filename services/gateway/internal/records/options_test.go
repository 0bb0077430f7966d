package records

import (
	"testing"
	"time"
)

func TestOptionDefaults(t *testing.T) {
	t.Parallel()
	want := Options{
		MaxRecords: 10_000, MaxBytes: 32 << 20, BatchSize: 100, BatchDelay: time.Second,
		MinBackoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second, FlushTimeout: 5 * time.Second,
	}
	if got := (Options{}).withDefaults(); got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	if got := (Options{BatchSize: 501}).withDefaults().BatchSize; got != 100 {
		t.Errorf("a batch size over the backend's limit became %d", got)
	}
}

// The backoff starts near 0.5 s, doubles, stays within ±20% and never
// passes 30 s.
func TestBackoffGrowsWithJitterWithinBounds(t *testing.T) {
	t.Parallel()
	o := Options{}.withDefaults()
	for n := 1; n <= 20; n++ {
		base := min(o.MinBackoff<<(n-1), o.MaxBackoff)
		for range 50 {
			d := o.backoff(n)
			if d < base*8/10 || d > min(base*12/10, o.MaxBackoff) {
				t.Fatalf("backoff(%d) = %v, want within ±20%% of %v and at most %v", n, d, base, o.MaxBackoff)
			}
		}
	}
}
