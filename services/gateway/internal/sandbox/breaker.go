package sandbox

import (
	"sync"
	"time"
)

// State is the breaker's state; its value is that of
// mcpbox_gateway_sandbox_circuit_state.
type State int

// Breaker states (gateway.md §8.4, §13).
const (
	StateClosed   State = 0
	StateHalfOpen State = 1
	StateOpen     State = 2
)

// verdict is what one call tells the breaker.
type verdict int

const (
	// success: the sandbox answered as specified (a 200, tool errors
	// included).
	success verdict = iota
	// failure: transport error, timeout, 5xx.
	failure
	// neutral: neither (429, other 4xx, hash_mismatch, an unreadable 200,
	// the caller cancelling). It neither counts nor resets the count.
	neutral
)

// breaker is the circuit breaker of gateway.md §8.4, shared by both
// endpoints. Decisions where the spec is silent:
//   - the open period ends lazily: the first call after it becomes the
//     probe (the gauge reports half-open as soon as the period is over);
//   - while the probe is in flight other calls are refused as if open;
//   - a neutral probe (429, 4xx, cancelled) decides nothing: the slot is
//     released and the next call probes again;
//   - a success of a call sent before the breaker opened resets the count
//     but does not close an open breaker (only the probe does), and a
//     failure of such a call does not extend the open period;
//   - a refusal names the streak that opened the breaker, plus each failed
//     probe since: a late success resetting the live count must not make
//     it say "0 consecutive failures" (found by the e2e fault test, where
//     calls queued in a stopped sandbox finish after the breaker opened).
type breaker struct {
	threshold int
	openFor   time.Duration
	now       func() time.Time

	mu        sync.Mutex
	open      bool      // open or half-open
	openUntil time.Time // end of the open period
	probing   bool      // the probe is in flight
	failures  int       // consecutive failures
	tripped   int       // the failures that opened the breaker, failed probes added
}

func newBreaker(threshold int, openFor time.Duration, now func() time.Time) *breaker {
	return &breaker{threshold: threshold, openFor: openFor, now: now}
}

// ticket is one admitted call; probe marks the half-open probe.
type ticket struct{ probe bool }

// refusal describes a refused call.
type refusal struct {
	retryIn  time.Duration
	failures int
}

// allow admits a call, or refuses it while open or while the probe is in
// flight. retryIn is at least 1 s.
func (b *breaker) allow() (ticket, *refusal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return ticket{}, nil
	}
	now := b.now()
	if !b.probing && !now.Before(b.openUntil) {
		b.probing = true
		return ticket{probe: true}, nil
	}
	return ticket{}, &refusal{retryIn: max(b.openUntil.Sub(now), time.Second), failures: b.tripped}
}

// record applies a call's verdict.
func (b *breaker) record(t ticket, v verdict) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch v {
	case success:
		b.failures = 0
		if t.probe {
			b.open, b.probing = false, false
		}
	case failure:
		b.failures++
		switch {
		case t.probe:
			b.probing = false
			b.tripped++
			b.openUntil = b.now().Add(b.openFor)
		case !b.open && b.failures >= b.threshold:
			b.open = true
			b.tripped = b.failures
			b.openUntil = b.now().Add(b.openFor)
		}
	case neutral:
		if t.probe {
			b.probing = false
		}
	}
}

// state reports the current state: half-open once the open period is over
// (the next call probes) or while the probe is in flight.
func (b *breaker) state() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !b.open:
		return StateClosed
	case b.probing || !b.now().Before(b.openUntil):
		return StateHalfOpen
	}
	return StateOpen
}
