package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// defaultClockTicks is USER_HZ on Linux wherever getconf cannot say otherwise.
const defaultClockTicks = 100

// machine describes where the run happened.
type machine struct {
	CPUs       int    `json:"cpus"`        // runtime.NumCPU of loadgen
	CPUModel   string `json:"cpu_model"`   // "model name" of /proc/cpuinfo
	Kernel     string `json:"kernel"`      // /proc/sys/kernel/osrelease
	GoVersion  string `json:"go_version"`  // of loadgen
	PinnedCPUs string `json:"pinned_cpus"` // taskset -c list the target ran on, "" when unpinned
	ClockTicks int    `json:"clock_ticks"` // per second, the unit of /proc/<pid>/stat CPU times
}

// describeMachine reads the machine description; pinned is the CPU list actually applied.
func describeMachine(ctx context.Context, pinned string) machine {
	m := machine{
		CPUs: runtime.NumCPU(), CPUModel: "unknown (" + runtime.GOARCH + ")", Kernel: "unknown",
		GoVersion: runtime.Version(), PinnedCPUs: pinned, ClockTicks: clockTicks(ctx),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if model := cpuModel(string(b)); model != "" {
			m.CPUModel = model
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		if k := strings.TrimSpace(string(b)); k != "" {
			m.Kernel = k
		}
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo text, "" when there is none (as on some ARM kernels).
func cpuModel(cpuinfo string) string {
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(val)
		}
	}
	return ""
}

// clockTicks asks `getconf CLK_TCK` for the clock ticks per second, else assumes 100.
func clockTicks(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "getconf", "CLK_TCK").Output()
	if err != nil {
		return defaultClockTicks
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || n <= 0 {
		return defaultClockTicks
	}
	return n
}
