package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// The schedule: request i is due at i/rate; the window starts at the first request due at or after the warm-up.
func TestPlanSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		p              plan
		total, counted int
	}{
		{"test run", plan{rate: 40, warmup: 500 * time.Millisecond, duration: 2 * time.Second}, 100, 20},
		{"make load-sandbox", plan{rate: 300, warmup: 10 * time.Second, duration: 60 * time.Second}, 21000, 3000},
		{"no warm-up", plan{rate: 3, duration: time.Second}, 3, 0},
		{"slow rate", plan{rate: 0.5, duration: time.Second}, 1, 0},
		{"odd rate", plan{rate: 7, warmup: time.Second, duration: time.Second}, 14, 7},
		{"fractional", plan{rate: 2.5, warmup: 900 * time.Millisecond, duration: time.Second}, 5, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.p.total(); got != tt.total {
				t.Errorf("total %d, want %d", got, tt.total)
			}
			if got := tt.p.counted(); got != tt.counted {
				t.Errorf("counted from %d, want %d", got, tt.counted)
			}
			if tt.p.due(tt.total-1) >= tt.p.warmup+tt.p.duration || tt.p.due(tt.total) < tt.p.warmup+tt.p.duration {
				t.Errorf("last due %v, next %v, end %v", tt.p.due(tt.total-1), tt.p.due(tt.total), tt.p.warmup+tt.p.duration)
			}
		})
	}
}

// fakeSystem answers every call OK once release is closed, counting calls; its counters grow by one per read.
type fakeSystem struct {
	release chan struct{}
	calls   atomic.Int64
	reads   atomic.Int64
}

func (f *fakeSystem) call(ctx context.Context) outcome {
	f.calls.Add(1)
	select {
	case <-f.release:
		return outcome{kind: kindOK}
	case <-ctx.Done():
		return outcome{kind: kindError, errText: ctx.Err().Error()}
	}
}

func (f *fakeSystem) counters(context.Context) (counters, error) {
	n := f.reads.Add(1)
	return counters{coldStarts: float64(n), cpu: time.Duration(n) * time.Millisecond}, nil
}

// Open loop: a send that would exceed -max-inflight is dropped rather than delayed, and latency runs from the due
// time, so waiting requests show their whole wait.
func TestDriveDropsBeyondMaxInflight(t *testing.T) {
	t.Parallel()
	f := &fakeSystem{release: make(chan struct{})}
	p := plan{rate: 1000, duration: 10 * time.Millisecond, maxInflight: 2}
	// Released long after the last request was due, so every send after the first two finds two in flight.
	time.AfterFunc(time.Second, func() { close(f.release) })
	r := drive(t.Context(), f, p)
	st := summarize(p, r, sandboxCriteria())
	if len(r.window) != 10 || st.Sent != 2 || st.OK != 2 || st.Dropped != 8 || f.calls.Load() != 2 || r.peakInflight != 2 {
		t.Errorf("window %d, sent %d, ok %d, dropped %d, calls %d, peak %d", len(r.window), st.Sent, st.OK, st.Dropped, f.calls.Load(), r.peakInflight)
	}
	if st.LatencyMS.P50 < 900 {
		t.Errorf("p50 %.1f ms: latency must include the wait until release (1 s)", st.LatencyMS.P50)
	}
	if st.ColdStarts != 1 || r.countersErr != nil {
		t.Errorf("cold starts %d (%v), want the counters read once before and once after", st.ColdStarts, r.countersErr)
	}
	if st.Pass || r.interrupted {
		t.Errorf("pass %v, interrupted %v", st.Pass, r.interrupted)
	}
}

// A cancelled context stops the schedule; the step is interrupted and nothing later is sent.
func TestDriveInterrupted(t *testing.T) {
	t.Parallel()
	f := &fakeSystem{release: make(chan struct{})}
	close(f.release)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := drive(ctx, f, plan{rate: 10, duration: time.Hour, maxInflight: 10})
	st := summarize(plan{rate: 10, duration: time.Hour}, r, sandboxCriteria())
	if !r.interrupted || st.Sent != 0 || st.Pass {
		t.Errorf("interrupted %v, sent %d, pass %v", r.interrupted, st.Sent, st.Pass)
	}
}

// decodingSystem's answers arrive at once and then take a second to decode, as a client's work after the last byte.
type decodingSystem struct{}

func (decodingSystem) call(context.Context) outcome {
	end := time.Now()
	time.Sleep(time.Second)
	return outcome{kind: kindOK, end: end}
}

func (decodingSystem) counters(context.Context) (counters, error) { return counters{}, nil }

// A request's latency ends when its answer's last byte was read (outcome.end), not when loadgen finished decoding.
func TestDriveLatencyEndsAtTheLastByte(t *testing.T) {
	t.Parallel()
	p := plan{rate: 100, duration: 30 * time.Millisecond, maxInflight: 10}
	r := drive(t.Context(), decodingSystem{}, p)
	if len(r.window) != 3 {
		t.Fatalf("window of %d requests", len(r.window))
	}
	for i, s := range r.window {
		if s.outcome.kind != kindOK || s.latency >= time.Second {
			t.Errorf("request %d: %v after %s, want a latency without the second of decoding", i, s.outcome.kind, s.latency)
		}
	}
}
