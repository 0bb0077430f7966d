package main

import (
	"os"
	"strings"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	// Fields 3–13, then utime 7, stime 3, cutime 11, cstime 5, then more.
	const rest = " S 1 1234 1234 0 -1 4194560 100 200 0 0 7 3 11 5 20 0 8 0 172426 2998272 412"
	tests := []struct {
		name    string
		stat    string
		want    uint64
		wantErr string
	}{
		{"plain", "1234 (sandbox)" + rest + "\n", 26, ""},
		{"comm with spaces and parentheses", "1234 ((sand box))" + rest, 26, ""},
		{"comm that looks like fields", "1234 (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 (b)" + rest, 26, ""},
		{"empty comm", "1234 ()" + rest, 26, ""},
		{"large values", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 4294967296 1 0 0 20", 4294967297, ""},
		{"no command name", "1234 sandbox" + rest, 0, "no (command name)"},
		{"no opening parenthesis", "1234 sandbox)" + rest, 0, "no (command name)"},
		{"too short", "1234 (sandbox) S 1 2 3 4 5 6 7 8 9 10 11 12", 0, "fields after the command name"},
		{"not a number", "1234 (sandbox) S 1 1234 1234 0 -1 4194560 100 200 0 0 7 x 11 5", 0, "field 15"},
		{"negative", "1234 (sandbox) S 1 1234 1234 0 -1 4194560 100 200 0 0 7 3 -1 5", 0, "field 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseProcStat(tt.stat)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// The test's own process has a readable stat line; a process that does not exist is an error naming the file.
func TestProcessCPU(t *testing.T) {
	t.Parallel()
	if _, err := processCPU(os.Getpid(), defaultClockTicks); err != nil {
		t.Errorf("own process: %v", err)
	}
	if _, err := processCPU(1<<30, defaultClockTicks); err == nil || !strings.Contains(err.Error(), "/proc/1073741824/stat") {
		t.Errorf("missing process: %v", err)
	}
}
