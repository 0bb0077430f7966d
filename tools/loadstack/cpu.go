package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// procTimes is what /proc/<pid>/stat says about one process.
type procTimes struct {
	comm  string
	ppid  int
	ticks int64 // utime + stime + cutime + cstime: its own CPU and that of its reaped children (sandbox workers)
}

// parseProcStat reads a /proc/<pid>/stat line. comm is in parentheses and may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseProcStat(line string) (procTimes, error) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return procTimes{}, fmt.Errorf("stat line without (comm): %q", truncate(line, 80))
	}
	f := strings.Fields(line[end+1:])
	// f[0] is field 3 (state); ppid is field 4, utime…cstime are fields 14–17.
	if len(f) < 15 {
		return procTimes{}, fmt.Errorf("stat line with %d fields after comm", len(f))
	}
	p := procTimes{comm: line[open+1 : end]}
	var err error
	if p.ppid, err = strconv.Atoi(f[1]); err != nil {
		return procTimes{}, fmt.Errorf("stat ppid %q: %w", f[1], err)
	}
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return procTimes{}, fmt.Errorf("stat time %q: %w", s, err)
		}
		p.ticks += n
	}
	return p, nil
}

// cpuTotals is the first line of /proc/stat: CPU time of the whole machine, in ticks.
type cpuTotals struct {
	busy, idle, steal int64
}

// parseCPULine reads the "cpu " line of /proc/stat: user nice system idle iowait irq softirq steal …
// (guest time is already inside user and nice).
func parseCPULine(line string) (cpuTotals, error) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTotals{}, fmt.Errorf("not the cpu line of /proc/stat: %q", truncate(line, 80))
	}
	var v [8]int64
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return cpuTotals{}, fmt.Errorf("/proc/stat cpu field %d: %w", i+1, err)
		}
		v[i] = n
	}
	return cpuTotals{busy: v[0] + v[1] + v[2] + v[5] + v[6], idle: v[3] + v[4], steal: v[7]}, nil
}

// cpuSnapshot is the CPU spent so far by each part of the stack, by name, and by the machine.
type cpuSnapshot struct {
	at      time.Time
	byName  map[string]int64 // ticks
	machine cpuTotals
}

// cpuWatch measures the CPU of the stack's parts: devstack's children by command name (the sandbox with its reaped
// workers), and the PostgreSQL backends serving the run's database (the server itself is shared and not counted).
type cpuWatch struct {
	devstackPID int
	dbName      string
	ticksPerSec int64
}

// newCPUWatch reads the clock tick rate (getconf CLK_TCK; 100 when it cannot say).
func newCPUWatch(ctx context.Context, devstackPID int, dbName string) *cpuWatch {
	w := &cpuWatch{devstackPID: devstackPID, dbName: dbName, ticksPerSec: 100}
	if out, err := exec.CommandContext(ctx, "getconf", "CLK_TCK").Output(); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			w.ticksPerSec = n
		}
	}
	return w
}

// snapshot reads /proc once.
func (w *cpuWatch) snapshot() cpuSnapshot {
	s := cpuSnapshot{at: time.Now(), byName: map[string]int64{}}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		s.machine, _ = parseCPULine(line)
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		p, err := parseProcStat(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		switch {
		case p.ppid == w.devstackPID:
			s.byName[p.comm] += p.ticks
		case pidOf(dir) == w.devstackPID:
			s.byName[devstackPart] += p.ticks
		case strings.HasPrefix(p.comm, "postgres") && w.servesDB(dir):
			s.byName[postgresPart] += p.ticks
		}
	}
	return s
}

// Names of the parts that are not a service process in a snapshot.
const (
	postgresPart = "postgres" // the PostgreSQL backends of the run's database
	devstackPart = "devstack" // devstack itself, which copies every service's log lines to the stack's log
)

// pidOf is the process id of a /proc/<pid> directory, or -1.
func pidOf(dir string) int {
	n, err := strconv.Atoi(filepath.Base(dir))
	if err != nil {
		return -1
	}
	return n
}

// servesDB reports whether the PostgreSQL process in dir is a backend connected to the run's database: its title
// is "postgres: <user> <database> <client> <state>".
func (w *cpuWatch) servesDB(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return false
	}
	return slices.Contains(strings.Fields(strings.ReplaceAll(string(b), "\x00", " ")), w.dbName)
}

// cpuUse is the CPU of one run, per request, by part.
type cpuUse struct {
	parts        []partUse
	machineBusy  float64 // share of all CPUs busy during the run, 0–1
	machineSteal float64 // share stolen by the hypervisor
}

// partUse is one part's CPU milliseconds per request.
type partUse struct {
	name     string
	msPerReq float64
}

// cpuBetween computes the CPU of each part between two snapshots, per request of requests, with loadgen's own
// CPU (from its rusage) added.
func cpuBetween(a, b cpuSnapshot, ticksPerSec int64, requests int, loadgen time.Duration) cpuUse {
	var u cpuUse
	wall := b.at.Sub(a.at).Seconds()
	if requests < 1 || wall <= 0 || ticksPerSec <= 0 {
		return u
	}
	add := func(name string, cpuSec float64) {
		u.parts = append(u.parts, partUse{name: name, msPerReq: 1000 * cpuSec / float64(requests)})
	}
	for _, n := range slices.Sorted(maps.Keys(b.byName)) {
		if d := b.byName[n] - a.byName[n]; d > 0 {
			add(n, float64(d)/float64(ticksPerSec))
		}
	}
	if loadgen > 0 {
		add("loadgen", loadgen.Seconds())
	}
	busy, idle, steal := b.machine.busy-a.machine.busy, b.machine.idle-a.machine.idle, b.machine.steal-a.machine.steal
	if total := busy + idle + steal; total > 0 {
		u.machineBusy = float64(busy) / float64(total)
		u.machineSteal = float64(steal) / float64(total)
	}
	return u
}

// String is one line: each part's CPU per request and the machine's load.
func (u cpuUse) String() string {
	if len(u.parts) == 0 {
		return "no CPU figures"
	}
	var parts []string
	total := 0.0
	for _, p := range u.parts {
		parts = append(parts, fmt.Sprintf("%s %.2f", p.name, p.msPerReq))
		total += p.msPerReq
	}
	return fmt.Sprintf("CPU ms per request: %s (total %.2f); machine %.0f %% busy, %.0f %% stolen",
		strings.Join(parts, ", "), total, 100*u.machineBusy, 100*u.machineSteal)
}

// idleRates is the CPU each part spent per second of wall time between two snapshots taken while no load ran:
// the background that every per-request figure of a run also carries.
func idleRates(a, b cpuSnapshot, ticksPerSec int64) string {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 || ticksPerSec <= 0 {
		return "no CPU figures"
	}
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(b.byName)) {
		if d := b.byName[n] - a.byName[n]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f", n, 1000*float64(d)/float64(ticksPerSec)/wall))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "none")
	}
	return "idle CPU ms per second: " + strings.Join(parts, ", ")
}

// loadavg is /proc/loadavg's first three fields.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
