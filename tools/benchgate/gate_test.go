package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// GW-99 (second half): the gate of make bench, fed recorded benchmark output (six runs of each benchmark of
// gateway.md §15 among other packages' results), passes at a ratio of 1.4 and fails at 1.6. No timing is measured.
func TestGW99_RatioGateOnRecordedOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		wantCode int
		wantLine string
	}{
		{"ratio-1.4.txt", exitPass, "= ratio 1.40 ≤ 1.5: pass"},
		{"ratio-1.6.txt", exitFail, "= ratio 1.60 > 1.5: FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			in, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = in.Close() }()
			var stdout, stderr bytes.Buffer
			code := run(nil, in, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stdout %q, stderr %q", code, tt.wantCode, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantLine) || !strings.Contains(stdout.String(), "(6 runs)") {
				t.Errorf("stdout %q lacks %q and the run counts", stdout.String(), tt.wantLine)
			}
			if !strings.Contains(stdout.String(), "BenchmarkGatewayCallStubSandbox median") ||
				!strings.Contains(stdout.String(), "BenchmarkBareSDKCall median 500000 ns/op") {
				t.Errorf("stdout %q does not name both medians", stdout.String())
			}
		})
	}
}

// -max moves the limit: the 1.6 recording passes at 1.7, the 1.4 one fails at 1.3.
func TestRatioGateLimitFlag(t *testing.T) {
	t.Parallel()
	for file, tc := range map[string]struct {
		max  string
		want int
	}{"ratio-1.6.txt": {"1.7", exitPass}, "ratio-1.4.txt": {"1.3", exitFail}} {
		in, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := run([]string{"-max", tc.max}, bytes.NewReader(in), &stdout, &stderr); code != tc.want {
			t.Errorf("%s with -max %s: exit %d, want %d (%s%s)", file, tc.max, code, tc.want, stdout.String(), stderr.String())
		}
	}
}

// Missing results and bad command lines exit 2 with a reason, never 0.
func TestRatioGateUsageErrors(t *testing.T) {
	t.Parallel()
	onlyBare := "BenchmarkBareSDKCall-2   100   500000 ns/op\n"
	tests := []struct {
		name, input string
		args        []string
		want        string
	}{
		{"empty input", "", nil, "no ns/op result of BenchmarkGatewayCallStubSandbox"},
		{"one benchmark missing", onlyBare, nil, "no ns/op result of BenchmarkGatewayCallStubSandbox"},
		{"same names", onlyBare, []string{"-num", "BenchmarkBareSDKCall"}, "two different benchmark names"},
		{"zero limit", onlyBare, []string{"-max", "0"}, "positive finite -max"},
		{"extra argument", onlyBare, []string{"file.txt"}, "no arguments"},
		{"unknown flag", onlyBare, []string{"-count", "6"}, "-count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, strings.NewReader(tt.input), &stdout, &stderr); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{9, 9, 1, 1, 5, 6}, 5.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %g, want %g", tt.in, got, tt.want)
		}
	}
}
