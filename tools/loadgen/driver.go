package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// system is what the driver loads, one implementation per target: the sandbox now, the gateway later.
type system interface {
	// call sends one request, reads the whole response and classifies it.
	call(ctx context.Context) outcome
	// counters reads the target's cumulative counters; the driver reads them around the measured window.
	counters(ctx context.Context) (counters, error)
}

// counters are cumulative readings of the target, compared before and after the measured window.
type counters struct {
	coldStarts float64       // executions that found no idle worker
	cpu        time.Duration // CPU time of the target and its reaped children
}

// outcomeKind is how a scheduled request ended.
type outcomeKind uint8

const (
	kindNotSent   outcomeKind = iota // never sent: the run was interrupted first
	kindDropped                      // not sent: -max-inflight requests were already in flight
	kindOK                           // the execution succeeded
	kindSaturated                    // the target answered 429
	kindError                        // anything else
)

// outcome is the classified result of one request.
type outcome struct {
	kind    outcomeKind
	class   string // the gateway's error kind (errors_by_kind) of a kindError; the sandbox leaves it empty
	errText string // what went wrong, for kindError
	// end is when the answer's last byte was read, before loadgen decoded it; zero means when call returned.
	end time.Time
}

// sample is one scheduled request.
type sample struct {
	outcome outcome
	latency time.Duration // from the due time to the end of the response body
}

// plan is one step: an offered rate held for warmup + duration.
type plan struct {
	rate        float64
	warmup      time.Duration
	duration    time.Duration
	maxInflight int
}

// due is when request i is due, counted from the start of the step.
func (p plan) due(i int) time.Duration {
	return time.Duration(float64(i) * float64(time.Second) / p.rate)
}

// firstDue is the lowest i whose due time is at or after d.
func (p plan) firstDue(d time.Duration) int {
	i := max(int(math.Floor(d.Seconds()*p.rate))-1, 0)
	for p.due(i) < d {
		i++
	}
	return i
}

// total is the number of requests due before warmup + duration.
func (p plan) total() int { return p.firstDue(p.warmup + p.duration) }

// counted is the index of the first request of the measured window.
func (p plan) counted() int { return p.firstDue(p.warmup) }

// driveResult is what one step measured, before it is summarised.
type driveResult struct {
	warmup       []sample // the requests due before the measured window
	window       []sample // the requests due in the measured window
	before       counters // read when the window opened
	after        counters // read once every request had ended
	countersErr  error    // why before or after could not be read
	peakInflight int
	interrupted  bool // ctx ended before the last request was due
	truncated    bool // closed loop: the step stopped at maxRequestsPerStep samples
}

// drive runs one step open loop: request i is sent at start + i/rate by a goroutine of its own, unless
// -max-inflight requests are in flight, and its latency runs from that due time however late it is sent.
func drive(ctx context.Context, sys system, p plan) driveResult {
	samples := make([]sample, p.total())
	var (
		inflight atomic.Int64
		wg       sync.WaitGroup
		res      driveResult
	)
	start := time.Now()
	beforeCh := make(chan reading, 1)
	go func() { // off the send path, so reading the counters delays no request
		if !sleepUntil(ctx, start.Add(p.warmup), nil) {
			beforeCh <- reading{err: ctx.Err()}
			return
		}
		c, err := sys.counters(ctx)
		beforeCh <- reading{c: c, err: err}
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for i := range samples {
		due := start.Add(p.due(i))
		if !sleepUntil(ctx, due, timer) {
			res.interrupted = true
			break
		}
		n := inflight.Load()
		if n >= int64(p.maxInflight) {
			samples[i].outcome.kind = kindDropped
			continue
		}
		res.peakInflight = max(res.peakInflight, int(n)+1)
		inflight.Add(1)
		wg.Go(func() {
			defer inflight.Add(-1)
			o := sys.call(ctx)
			end := o.end
			if end.IsZero() {
				end = time.Now()
			}
			samples[i] = sample{outcome: o, latency: end.Sub(due)}
		})
	}
	wg.Wait()
	before := <-beforeCh
	res.before = before.c
	// Read even after an interrupt, so the report shows what was done.
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	after, afterErr := sys.counters(readCtx)
	res.after = after
	switch {
	case before.err != nil:
		res.countersErr = fmt.Errorf("when the window opened: %w", before.err)
	case afterErr != nil:
		res.countersErr = fmt.Errorf("after the window: %w", afterErr)
	}
	counted := min(p.counted(), len(samples))
	res.warmup, res.window = samples[:counted], samples[counted:]
	return res
}

// reading is one read of the counters.
type reading struct {
	c   counters
	err error
}

// sleepUntil waits until t and reports whether ctx is still live; timer (nil: a new one) is reused between calls.
func sleepUntil(ctx context.Context, t time.Time, timer *time.Timer) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	if timer == nil {
		timer = time.NewTimer(d)
	} else {
		timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		timer.Stop()
		return false
	case <-timer.C:
		return true
	}
}

// runSteps runs one step per rate, in order, printing a summary line after each, and stops after the first step
// that fails.
func runSteps(ctx context.Context, sys system, cfg config, crit criteria, stdout io.Writer) []step {
	var steps []step
	for _, rate := range cfg.rates {
		p := plan{rate: rate, warmup: cfg.warmup, duration: cfg.duration, maxInflight: cfg.maxInflight}
		_, _ = fmt.Fprintf(stdout, "rate %s/s: %s warm-up, then %s measured...\n", formatRate(rate), cfg.warmup, cfg.duration)
		st := summarize(p, drive(ctx, sys, p), crit)
		steps = append(steps, st)
		printStep(stdout, st)
		if !st.Pass {
			break
		}
	}
	return steps
}

// maxConcurrency bounds -concurrency: each request in flight is a goroutine and a connection.
const maxConcurrency = 1024

// closedPlan is one closed-loop step: concurrency requests in flight for warmup + duration.
type closedPlan struct {
	concurrency int
	warmup      time.Duration
	duration    time.Duration
}

// driveClosed runs one step closed loop: each of the concurrency loops sends a request, waits for its answer and
// sends the next, until warmup + duration has passed. A request belongs to the window its send time falls in, and
// its latency runs from that send to the end of its answer: closed loop measures capacity (calls per second at
// that concurrency) and the latency that goes with it, not latency at a chosen rate. At most maxRequestsPerStep
// samples are kept; a step that reaches the cap stops early and says so (truncated).
func driveClosed(ctx context.Context, sys system, p closedPlan) driveResult {
	var (
		res     driveResult
		wg      sync.WaitGroup
		taken   atomic.Int64
		capHit  atomic.Bool
		interr  atomic.Bool
		warmups = make([][]sample, p.concurrency)
		windows = make([][]sample, p.concurrency)
	)
	start := time.Now()
	open, end := start.Add(p.warmup), start.Add(p.warmup+p.duration)
	for i := range p.concurrency {
		wg.Go(func() {
			for {
				sent := time.Now()
				if !sent.Before(end) {
					return
				}
				if ctx.Err() != nil {
					interr.Store(true)
					return
				}
				if taken.Add(1) > maxRequestsPerStep {
					capHit.Store(true)
					return
				}
				o := sys.call(ctx)
				done := o.end
				if done.IsZero() {
					done = time.Now()
				}
				if o.kind == kindError && ctx.Err() != nil {
					interr.Store(true) // cut off by the interrupt, not failed by the target
					return
				}
				s := sample{outcome: o, latency: done.Sub(sent)}
				if sent.Before(open) {
					warmups[i] = append(warmups[i], s)
				} else {
					windows[i] = append(windows[i], s)
				}
			}
		})
	}
	wg.Wait()
	for i := range p.concurrency {
		res.warmup = append(res.warmup, warmups[i]...)
		res.window = append(res.window, windows[i]...)
	}
	res.peakInflight = p.concurrency
	res.interrupted = interr.Load()
	res.truncated = capHit.Load()
	return res
}
