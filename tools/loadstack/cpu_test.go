package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	// A comm with a space and a parenthesis; utime 120, stime 30, cutime 900, cstime 100.
	line := "4242 (sandbox (e2e)) S 4000 4242 4000 0 -1 4194560 1 2 3 4 120 30 900 100 20 0 12 0 500 1000 200"
	p, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if p.comm != "sandbox (e2e)" || p.ppid != 4000 || p.ticks != 1150 {
		t.Errorf("parsed %+v", p)
	}
	for _, bad := range []string{"", "1 no parens S 1", "1 (x) S 1 2 3"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseCPULine(t *testing.T) {
	t.Parallel()
	c, err := parseCPULine("cpu  100 5 50 800 20 3 2 10 0 0")
	if err != nil {
		t.Fatal(err)
	}
	if c.busy != 160 || c.idle != 820 || c.steal != 10 {
		t.Errorf("parsed %+v", c)
	}
	if _, err := parseCPULine("cpu0 1 2 3 4 5 6 7 8"); err == nil {
		t.Error("a per-CPU line: no error")
	}
}

func TestCPUBetween(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	a := cpuSnapshot{at: at, byName: map[string]int64{"gateway": 100, "sandbox-e2e": 1000}, machine: cpuTotals{busy: 0, idle: 0}}
	b := cpuSnapshot{
		at:      at.Add(10 * time.Second),
		byName:  map[string]int64{"gateway": 300, "sandbox-e2e": 2000, "postgres": 50, "edge": 0},
		machine: cpuTotals{busy: 1800, idle: 150, steal: 50},
	}
	u := cpuBetween(a, b, 100, 1000, 500*time.Millisecond)
	got := u.String()
	want := "CPU ms per request: gateway 2.00, postgres 0.50, sandbox-e2e 10.00, loadgen 0.50 (total 13.00); machine 90 % busy, 2 % stolen"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if s := cpuBetween(a, b, 100, 0, 0).String(); !strings.Contains(s, "no CPU figures") {
		t.Errorf("no requests: %s", s)
	}
}

func TestIdleRatesAndPIDOf(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	a := cpuSnapshot{at: at, byName: map[string]int64{"gateway": 100, "backend": 10}}
	b := cpuSnapshot{at: at.Add(5 * time.Second), byName: map[string]int64{"gateway": 105, "backend": 10, "devstack": 1}}
	if got, want := idleRates(a, b, 100), "idle CPU ms per second: devstack 2.0, gateway 10.0"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := idleRates(b, b, 100); got != "no CPU figures" {
		t.Errorf("no time: %q", got)
	}
	if pidOf("/proc/4242") != 4242 || pidOf("/proc/self") != -1 {
		t.Error("pidOf")
	}
}
