package ratelimit_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mcpbox/mcpbox/services/edge/internal/ratelimit"
)

// EDGE-79 at the limiter level: the 9th concurrent stream of one subject is
// refused; closing one allows another; a double release changes nothing.
func TestEDGE79_StreamsPerSubject(t *testing.T) {
	t.Parallel()
	s := ratelimit.NewStreams(8)
	const sub, other = "iss\x00alice", "iss\x00bob"
	releases := make([]func(), 0, 8)
	for i := range 8 {
		release, ok := s.Acquire(sub)
		if !ok {
			t.Fatalf("stream %d refused", i+1)
		}
		releases = append(releases, release)
	}
	if _, ok := s.Acquire(sub); ok {
		t.Fatal("9th stream allowed")
	}
	if release, ok := s.Acquire(other); !ok {
		t.Fatal("another subject refused")
	} else {
		release()
	}
	releases[0]()
	releases[0]() // double release: no effect
	if got := s.Open(sub); got != 7 {
		t.Fatalf("Open = %d after one (double) release, want 7", got)
	}
	release, ok := s.Acquire(sub)
	if !ok {
		t.Fatal("stream refused after one was closed")
	}
	if _, ok := s.Acquire(sub); ok {
		t.Fatal("a double release freed a second slot")
	}
	release()
	for _, r := range releases[1:] {
		r()
	}
	if got, keys := s.Open(sub), s.Keys(); got != 0 || keys != 0 {
		t.Fatalf("after closing all: Open = %d, keys = %d, want 0 and 0", got, keys)
	}
}

func TestInflightCap(t *testing.T) {
	t.Parallel()
	in := ratelimit.NewInflight(2)
	r1, ok1 := in.Acquire()
	_, ok2 := in.Acquire()
	if !ok1 || !ok2 {
		t.Fatal("slots below the cap refused")
	}
	if _, ok := in.Acquire(); ok {
		t.Fatal("slot above the cap taken")
	}
	r1()
	r1()
	if got := in.InUse(); got != 1 {
		t.Fatalf("InUse = %d after a double release, want 1", got)
	}
	if _, ok := in.Acquire(); !ok {
		t.Fatal("released slot not reusable")
	}
	if _, ok := in.Acquire(); ok {
		t.Fatal("double release freed a second slot")
	}
}

func TestConcurrencyLimitsUnderRace(t *testing.T) {
	t.Parallel()
	const limit = 4
	in := ratelimit.NewInflight(limit)
	s := ratelimit.NewStreams(limit)
	var inNow, sNow, inPeak, sPeak atomic.Int64
	peak := func(p *atomic.Int64, v int64) {
		for {
			old := p.Load()
			if v <= old || p.CompareAndSwap(old, v) {
				return
			}
		}
	}
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 300 {
				if release, ok := in.Acquire(); ok {
					peak(&inPeak, inNow.Add(1))
					inNow.Add(-1)
					release()
					release()
				}
				if release, ok := s.Acquire("k"); ok {
					peak(&sPeak, sNow.Add(1))
					sNow.Add(-1)
					release()
					release()
				}
			}
		})
	}
	wg.Wait()
	if inPeak.Load() > limit || sPeak.Load() > limit {
		t.Fatalf("peaks inflight %d, streams %d; limit %d", inPeak.Load(), sPeak.Load(), limit)
	}
	if in.InUse() != 0 || s.Open("k") != 0 || s.Keys() != 0 {
		t.Fatalf("left over: inflight %d, streams %d, keys %d", in.InUse(), s.Open("k"), s.Keys())
	}
}
