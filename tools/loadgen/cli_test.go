package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The defaults are sandbox.md §16's run: 300/s for 60 s after 10 s, pinned to CPUs 0,1.
func TestParseArgsDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := parseArgs([]string{"sandbox"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{target: "sandbox", rates: []float64{300}, duration: 60 * time.Second, warmup: 10 * time.Second, cpus: "0,1", maxInflight: 2000}
	if diff := cmp.Diff(want, cfg, cmp.AllowUnexported(config{})); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	now := time.Date(2026, 11, 27, 9, 30, 5, 0, time.FixedZone("CET", 3600))
	if err := cfg.resolvePaths("/repo", now); err != nil {
		t.Fatal(err)
	}
	if cfg.bin != "/repo/bin/sandbox" || cfg.out != "/repo/.cache/load/sandbox-20261127T083005Z.json" {
		t.Errorf("bin %q, out %q", cfg.bin, cfg.out)
	}
}

func TestParseRates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []float64
		wantErr string
	}{
		{in: "300", want: []float64{300}},
		{in: "100, 200,300", want: []float64{100, 200, 300}},
		{in: "12.5", want: []float64{12.5}},
		{in: "0", wantErr: "not positive"},
		{in: "-5", wantErr: "not positive"},
		{in: "abc", wantErr: "not a number"},
		{in: "", wantErr: "not a number"},
		{in: "100,", wantErr: "not a number"},
		{in: "Inf", wantErr: "not a number"},
		{in: "NaN", wantErr: "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseRates(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "-rate") {
					t.Errorf("error %v, want one naming -rate with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// -env passes sandbox settings through, repeatable; anything else, or the
// token and listener loadgen sets itself, is a usage error naming -env.
func TestParseArgsEnv(t *testing.T) {
	t.Parallel()
	cfg, err := parseArgs([]string{"sandbox", "-env", "MCPBOX_SANDBOX_WARM_WORKERS=8", "-env", "MCPBOX_SANDBOX_SPAWN_CONCURRENCY=4"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"MCPBOX_SANDBOX_WARM_WORKERS=8", "MCPBOX_SANDBOX_SPAWN_CONCURRENCY=4"}, cfg.env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"PATH=/x", "MCPBOX_SANDBOX_WARM_WORKERS", "MCPBOX_SANDBOX_TOKEN=x", "MCPBOX_SANDBOX_LISTEN=0.0.0.0:1"} {
		if _, err := parseArgs([]string{"sandbox", "-env", bad}, io.Discard); err == nil || !strings.Contains(err.Error(), "-env") {
			t.Errorf("-env %q: error %v, want a usage error naming -env", bad, err)
		}
	}
}
