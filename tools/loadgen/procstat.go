package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// processCPU is the CPU time of pid and of its reaped children (the sandbox's workers) from /proc/<pid>/stat.
func processCPU(pid, ticksPerSecond int) (time.Duration, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s (has the process exited?): %w", path, err)
	}
	ticks, err := parseProcStat(string(b))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return time.Duration(ticks) * time.Second / time.Duration(ticksPerSecond), nil
}

// parseProcStat sums utime, stime, cutime and cstime (fields 14–17, in clock ticks) of a /proc/<pid>/stat line.
// Field 2, the command name in parentheses, may itself hold spaces and parentheses, so the fields are counted
// from its last ')'.
func parseProcStat(stat string) (uint64, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 || !strings.Contains(stat[:end], "(") {
		return 0, fmt.Errorf("no (command name) in %q", truncate(stat, 80))
	}
	fields := strings.Fields(stat[end+1:]) // fields[0] is field 3, the state
	const first, last = 14, 17
	if len(fields) < last-2 {
		return 0, fmt.Errorf("%d fields after the command name, want at least %d", len(fields), last-2)
	}
	var sum uint64
	for f := first; f <= last; f++ {
		v, err := strconv.ParseInt(fields[f-3], 10, 64) // cutime and cstime are signed in proc(5)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("field %d = %q: want a count of clock ticks", f, fields[f-3])
		}
		sum += uint64(v)
	}
	return sum, nil
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
