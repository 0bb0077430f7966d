package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// report is the JSON file of one run, whatever the target.
type report struct {
	Target         string    `json:"target"` // "sandbox"
	StartedAt      time.Time `json:"started_at"`
	FinishedAt     time.Time `json:"finished_at"`
	Machine        machine   `json:"machine"`
	Binary         string    `json:"binary"`
	Pinned         bool      `json:"pinned"` // started through taskset -c machine.pinned_cpus
	Log            string    `json:"log"`    // the target's stdout and stderr
	Tool           toolInfo  `json:"tool"`
	Settings       settings  `json:"settings"`
	Steps          []step    `json:"steps"`
	MaxPassingRate float64   `json:"max_passing_rate"` // highest offered rate whose step passed, 0 if none
	Passed         bool      `json:"passed"`           // every step passed
	Error          string    `json:"error,omitempty"`  // why the run could not be made
	TargetExit     string    `json:"target_exit,omitempty"`
}

// toolInfo says what each request executed.
type toolInfo struct {
	Path       string          `json:"path"` // relative to the repository root
	PinnedHash string          `json:"pinned_hash"`
	Arguments  json.RawMessage `json:"arguments"`
}

// settings are the flags that shaped the run.
type settings struct {
	Rates       []float64 `json:"rates"`
	WarmupS     float64   `json:"warmup_s"`
	DurationS   float64   `json:"duration_s"`
	MaxInflight int       `json:"max_inflight"`
	CPUs        string    `json:"cpus"` // as asked; machine.pinned_cpus says what was applied
	Env         []string  `json:"env"`  // extra sandbox settings (-env)
}

// newReport starts the report of a run of cfg.
func newReport(cfg config, m machine, started time.Time) report {
	return report{
		Target: cfg.target, StartedAt: started.UTC(), Machine: m, Binary: cfg.bin, Pinned: m.PinnedCPUs != "",
		Log: logPath(cfg.out), Steps: []step{},
		Settings: settings{
			Rates: cfg.rates, WarmupS: cfg.warmup.Seconds(), DurationS: cfg.duration.Seconds(),
			MaxInflight: cfg.maxInflight, CPUs: cfg.cpus, Env: append([]string{}, cfg.env...),
		},
	}
}

// logPath is where the target's log goes: next to the report.
func logPath(out string) string { return out + ".log" }

// finish sets the verdict fields from the steps.
func (r *report) finish(now time.Time) {
	r.FinishedAt = now.UTC()
	r.Passed = r.Error == "" && len(r.Steps) > 0
	for _, st := range r.Steps {
		if st.Pass {
			r.MaxPassingRate = max(r.MaxPassingRate, st.OfferedRate)
		} else {
			r.Passed = false
		}
	}
}

// write stores the report as indented JSON at path, creating its directory.
func (r *report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the report: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// printStep prints the one-line summary of st, then its error texts.
func printStep(w io.Writer, st step) {
	verdict := "pass"
	if !st.Pass {
		verdict = "FAIL: " + st.FailReason
	}
	_, _ = fmt.Fprintf(w, "rate %s/s: ok %d, 429 %d, errors %d, dropped %d, p50 %.1f ms p99 %.1f ms, cold starts %.1f %%, cpu %.1f ms/exec — %s\n",
		formatRate(st.OfferedRate), st.OK, st.Saturated, st.Errors, st.Dropped, st.LatencyMS.P50, st.LatencyMS.P99,
		100*st.ColdStartRatio, st.CPUMSPerExecution, verdict)
	for _, e := range st.ErrorTexts {
		_, _ = fmt.Fprintf(w, "    error: %s\n", e)
	}
}

// formatRate prints a rate without trailing zeros: 300, 12.5.
func formatRate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }
