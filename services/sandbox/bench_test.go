package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// The execute benchmarks of sandbox.md §16: the real handler on a loopback
// listener, real locked-down workers (bin/sandbox-worker under make test),
// the trivial tool of testdata/bench/echo.go and a keep-alive client. They
// report p50/p99 latency; the parallel one also the CPU of this process and
// its reaped workers per execution (the benchmark's own client included),
// which bounds throughput: 2 cores / cpu-ms per op. docs/PERFORMANCE.md
// has the figures; tools/loadgen measures the open-loop throughput.

// benchSandbox starts the sandbox with warm workers and returns the execute
// URL and a request body for the trivial tool.
func benchSandbox(b *testing.B, warm, concurrent int) (string, []byte) {
	b.Helper()
	code, err := os.ReadFile("internal/worker/testdata/bench/echo.go")
	if err != nil {
		b.Fatal(err)
	}
	m := proto.Manifest{Hosts: []string{}, Packages: []string{}, Secrets: []string{}, TimeoutMS: 5000, MemoryMB: 64}
	hash, err := canon.HashGo(string(code), m)
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"code": string(code), "manifest": m, "pinned_hash": hash, "arguments": map[string]any{"name": "gopher"},
		"allowed_hosts": []string{}, "limits": map[string]any{"timeout_ms": 5000, "memory_mb": 64},
	})
	if err != nil {
		b.Fatal(err)
	}
	svc := lifecycletest.Start(b, run, nil, map[string]string{
		"MCPBOX_SANDBOX_TOKEN": token, "MCPBOX_SANDBOX_LISTEN": "127.0.0.1:0",
		"MCPBOX_SANDBOX_WARM_WORKERS": strconv.Itoa(warm), "MCPBOX_SANDBOX_MAX_CONCURRENT": strconv.Itoa(concurrent),
	})
	base := "http://" + svc.Logs.WaitListening(b, "main")
	waitReady(b, base)
	return base + proto.PathSandboxExecute, body
}

// executeOnce posts one execution and fails the benchmark unless it is OK.
func executeOnce(b *testing.B, client *http.Client, url string, body []byte) time.Duration {
	start := time.Now()
	req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		b.Error(err)
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(proto.HeaderServiceToken, token)
	resp, err := client.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	var out proto.ExecuteResponse
	err = json.NewDecoder(resp.Body).Decode(&out)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !out.OK {
		b.Errorf("status %d, decode %v, error %+v, worker %+v", resp.StatusCode, err, out.Error, out.Worker)
	}
	return time.Since(start)
}

// reportLatency adds p50 and p99 in milliseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// cpuTime is the user+system CPU of this process and its reaped children.
func cpuTime(b *testing.B) time.Duration {
	var self, children syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children); err != nil {
		b.Fatal(err)
	}
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(children.Utime) + tv(children.Stime)
}

// BenchmarkExecuteTrivial is one execution at a time on a warm pool: the
// latency a caller sees when the sandbox is not saturated.
func BenchmarkExecuteTrivial(b *testing.B) {
	url, body := benchSandbox(b, 4, 4)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		lat = append(lat, executeOnce(b, client, url, body))
		// An idle gap as at 100 requests/s offered, so the pool refills
		// between executions as it does below saturation.
		b.StopTimer()
		time.Sleep(5 * time.Millisecond)
		b.StartTimer()
	}
	reportLatency(b, lat)
}

// BenchmarkExecuteParallel keeps 2 × GOMAXPROCS executions in flight: the
// saturated throughput and the CPU each execution costs.
func BenchmarkExecuteParallel(b *testing.B) {
	url, body := benchSandbox(b, 8, 8)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	lats := make(chan []time.Duration, 64)
	var ops atomic.Int64
	b.SetParallelism(2)
	cpu0, start := cpuTime(b), time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var lat []time.Duration
		for pb.Next() {
			lat = append(lat, executeOnce(b, client, url, body))
			ops.Add(1)
		}
		lats <- lat
	})
	cpu, elapsed := cpuTime(b)-cpu0, time.Since(start)
	close(lats)
	var all []time.Duration
	for l := range lats {
		all = append(all, l...)
	}
	reportLatency(b, all)
	if n := ops.Load(); n > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/op")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "execs/s")
	}
}
