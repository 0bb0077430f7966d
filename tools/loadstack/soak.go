package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The soak's bounds: a service's reading at the end of the soak may exceed its reading at the start by at most
// these. The soak runs at a constant rate, so a service without a leak ends where it started, give or take:
//   - goroutines follow the requests and keep-alive connections in flight (one or two each), which wander by a
//     few at half the capacity; 20 % + 20 absorbs that, while a leak of one goroutine per call exceeds it within
//     seconds at the soak's rate;
//   - the heap in use is sampled anywhere in a GC cycle (GOGC=100 lets it grow to about twice the live heap
//     before a collection), so a sample may read 1.5× another without a leak; the 16 MiB absorbs caches that fill
//     once (plans, validators, connection buffers). A leak of 1 KiB per call at 50 calls/s exceeds it in 10 min;
//   - the resident set also holds freed pages the runtime returns to the OS lazily, hence 32 MiB.
const (
	goroutineFactor = 1.2
	goroutineSlack  = 20
	heapFactor      = 1.5
	heapSlack       = 16 << 20
	rssFactor       = 1.5
	rssSlack        = 32 << 20
)

// bound is one limit: end ≤ factor × start + slack.
type bound struct {
	Metric string  `json:"metric"`
	Factor float64 `json:"factor"`
	Slack  float64 `json:"slack"`
}

// soakBounds are the bounds the soak judges, in the order they are printed.
func soakBounds() []bound {
	return []bound{
		{metricGoroutines, goroutineFactor, goroutineSlack},
		{metricHeapInuse, heapFactor, heapSlack},
		{metricRSS, rssFactor, rssSlack},
	}
}

// limit is the highest end reading allowed after start.
func (b bound) limit(start float64) float64 { return b.Factor*start + b.Slack }

// value is the reading of b's metric in s.
func (b bound) value(s serviceSample) float64 {
	switch b.Metric {
	case metricGoroutines:
		return s.Goroutines
	case metricHeapInuse:
		return s.HeapInuseBytes
	default:
		return s.RSSBytes
	}
}

// String says the bound for people.
func (b bound) String() string {
	slack := strconv.FormatFloat(b.Slack, 'f', -1, 64)
	if b.Slack >= 1<<20 {
		slack = strconv.FormatFloat(b.Slack/(1<<20), 'f', -1, 64) + " MiB"
	}
	return fmt.Sprintf("end ≤ %g × start + %s", b.Factor, slack)
}

// judgeSoak lists every service and metric whose end reading exceeds its bound, and every service missing from
// either reading.
func judgeSoak(start, end map[string]serviceSample) []string {
	var out []string
	for _, svc := range slices.Sorted(mapsKeys(start, end)) {
		s, okS := start[svc]
		e, okE := end[svc]
		if !okS || !okE {
			out = append(out, fmt.Sprintf("%s: no reading at the start or at the end of the soak", svc))
			continue
		}
		for _, b := range soakBounds() {
			if v, lim := b.value(e), b.limit(b.value(s)); v > lim {
				out = append(out, fmt.Sprintf("%s %s grew from %s to %s, above the bound %s (%s)",
					svc, b.Metric, human(b.Metric, b.value(s)), human(b.Metric, v), human(b.Metric, lim), b))
			}
		}
	}
	return out
}

// mapsKeys is the union of the keys of a and b.
func mapsKeys(a, b map[string]serviceSample) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range a {
			if !yield(k) {
				return
			}
		}
		for k := range b {
			if _, dup := a[k]; !dup && !yield(k) {
				return
			}
		}
	}
}

// human formats a reading: goroutines as a count, bytes in MiB.
func human(metric string, v float64) string {
	if metric == metricGoroutines {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return strconv.FormatFloat(v/(1<<20), 'f', 1, 64) + " MiB"
}

// soakSample is one reading of every service, at T seconds after the soak's load started.
type soakSample struct {
	T        float64                  `json:"t_s"`
	Label    string                   `json:"label"` // start, end or ""
	Services map[string]serviceSample `json:"services"`
}

// soakReport is the soak's JSON report.
type soakReport struct {
	StartedAt  time.Time    `json:"started_at"`
	Capacity   float64      `json:"capacity_per_s,omitempty"` // from the probe; 0 when -soak-rate was given
	Rate       float64      `json:"rate"`
	DurationS  float64      `json:"duration_s"`
	IntervalS  float64      `json:"interval_s"`
	Bounds     []bound      `json:"bounds"`
	Samples    []soakSample `json:"samples"`
	Load       *report      `json:"load,omitempty"` // loadgen's report of the soak
	LoadReport string       `json:"load_report"`
	Problems   []string     `json:"problems"`
}

// soak measures the capacity unless -soak-rate is given, then runs the trivial tool through the edge open loop at
// half of it for -soak, sampling every service's metrics at the end of the warm-up, every -soak-interval and just
// before the load ends. It writes soak-<stamp>.json and prints each service's start, end and delta.
func (l *loadstack) soak(ctx context.Context, env benchEnv) ([]string, error) {
	rep := soakReport{StartedAt: time.Now().UTC(), Rate: l.opt.soakRate, DurationS: l.opt.soak.Seconds(), IntervalS: l.opt.soakInterval.Seconds(), Bounds: soakBounds()}
	if rep.Rate == 0 {
		probe := scenario{key: "soak-probe", name: "soak capacity probe: edge trivial call", via: viaEdge, method: "call", tool: addTool, args: addArgs}
		o := l.opt
		o.benchDuration = l.opt.soakProbe
		pl := *l
		pl.opt = o
		res, probeRep, err := pl.runScenario(ctx, env, probe)
		if err != nil {
			return nil, err
		}
		if p := res.problem(probeRep.Error); p != "" {
			return []string{p}, nil
		}
		rep.Capacity = res.CallsPerSec
		rep.Rate = math.Max(1, math.Round(res.CallsPerSec/2))
		l.say("capacity through the edge: %s calls/s at %d in flight; the soak runs at half, %s/s", num(res.CallsPerSec), l.opt.concurrency, num(rep.Rate))
		if err := l.pause(ctx); err != nil {
			return nil, err
		}
	}
	file := "soak-" + env.stamp + "-load.json"
	rep.LoadReport = file
	args := []string{
		"gateway", "-url", env.edgeMCP, "-era", l.opt.era, "-method", "call", "-tool", addTool, "-args", addArgs,
		"-rate", strconv.FormatFloat(rep.Rate, 'f', -1, 64), "-duration", l.opt.soak.String(), "-warmup", l.opt.benchWarmup.String(),
		"-workers", strconv.Itoa(max(l.opt.workers, len(env.tokens))), "-out", filepath.Join(l.opt.out, file),
	}
	for _, t := range env.tokens {
		args = append(args, "-worker-header", "Authorization: Bearer "+t)
	}
	l.say("soak: %s/s through the edge for %s after %s of warm-up; metrics every %s", num(rep.Rate), l.opt.soak, l.opt.benchWarmup, l.opt.soakInterval)
	var (
		load    report
		loadErr error
		wg      sync.WaitGroup
	)
	begin := time.Now()
	wg.Go(func() { load, _, loadErr = runLoadgen(ctx, l.opt.loadgen, args, io.Discard, l.stderr) })
	samples, sampleErr := l.sampleDuring(ctx, begin)
	wg.Wait()
	rep.Samples = samples
	if loadErr != nil {
		return nil, loadErr
	}
	rep.Load = &load
	if sampleErr != nil {
		rep.Problems = append(rep.Problems, sampleErr.Error())
	}
	if n := load.Errors + load.WarmupErrors; n > 0 || load.Error != "" {
		rep.Problems = append(rep.Problems, fmt.Sprintf("soak load: %d errors %s %s", n, strings.Join(load.ErrorTexts, "; "), load.Error))
	}
	if len(samples) >= 2 {
		rep.Problems = append(rep.Problems, judgeSoak(samples[0].Services, samples[len(samples)-1].Services)...)
		l.printSoak(samples[0], samples[len(samples)-1])
	}
	l.say("soak load: sent %d, ok %d, errors %d, achieved %s/s, p50 %s ms, p95 %s ms, p99 %s ms", load.Sent, load.OK,
		load.Errors+load.WarmupErrors, num(load.AchievedRate), num(load.LatencyMS.P50), num(load.LatencyMS.P95), num(load.LatencyMS.P99))
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the soak report: %w", err)
	}
	path := filepath.Join(l.opt.out, "soak-"+env.stamp+".json")
	if err := writeFile(path, append(b, '\n')); err != nil {
		return nil, err
	}
	l.say("soak report: %s", path)
	return rep.Problems, nil
}

// soakTimes are the offsets from the start of the load at which the soak samples: the end of the warm-up, every
// interval after it, and shortly before the load ends (while it still runs, so start and end see the same load).
func soakTimes(warmup, duration, interval time.Duration) []time.Duration {
	endAt := warmup + duration - min(2*time.Second, duration/10)
	out := []time.Duration{warmup}
	for t := warmup + interval; t < endAt; t += interval {
		out = append(out, t)
	}
	return append(out, endAt)
}

// sampleDuring reads every service's metrics at soakTimes after begin; the first is labelled start, the last end.
// A service that cannot be read makes the error, and its sample is left out.
func (l *loadstack) sampleDuring(ctx context.Context, begin time.Time) ([]soakSample, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	times := soakTimes(l.opt.benchWarmup, l.opt.soak, l.opt.soakInterval)
	var (
		out  []soakSample
		errs []string
	)
	for i, at := range times {
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("interrupted: %w", ctx.Err())
		case <-time.After(time.Until(begin.Add(at))):
		}
		s := soakSample{T: math.Round(time.Since(begin).Seconds()*10) / 10, Services: map[string]serviceSample{}}
		switch i {
		case 0:
			s.Label = "start"
		case len(times) - 1:
			s.Label = "end"
		}
		for _, ep := range metricsEndpoints(l.opt.portOffset) {
			v, _, err := scrape(ctx, hc, ep.url)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s at %gs: %v", ep.service, s.T, err))
				continue
			}
			s.Services[ep.service] = v
		}
		out = append(out, s)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("metrics could not be read: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

// printSoak prints each service's start, end and delta on stdout.
func (l *loadstack) printSoak(start, end soakSample) {
	_, _ = fmt.Fprintf(l.stdout, "\nSoak: every service at the start (%gs) and the end (%gs) of the load\n\n", start.T, end.T)
	_, _ = fmt.Fprintf(l.stdout, "| service | metric | start | end | delta | bound |\n|---|---|---:|---:|---:|---|\n")
	for _, svc := range slices.Sorted(mapsKeys(start.Services, end.Services)) {
		for _, b := range soakBounds() {
			s, e := b.value(start.Services[svc]), b.value(end.Services[svc])
			_, _ = fmt.Fprintf(l.stdout, "| %s | %s | %s | %s | %s | %s |\n", svc, b.Metric, human(b.Metric, s), human(b.Metric, e), signed(b.Metric, e-s), b)
		}
	}
	_, _ = fmt.Fprintln(l.stdout)
}

// signed formats a delta with its sign.
func signed(metric string, d float64) string {
	if d >= 0 {
		return "+" + human(metric, d)
	}
	return human(metric, d)
}
