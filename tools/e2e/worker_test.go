package e2e

import (
	"debug/buildinfo"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The built sandbox-worker has a fixed heap base
// (GOEXPERIMENT=norandomizedheapbase64): with the randomized base of Go 1.26+
// the runtime sometimes reserves twice an arena and a trivial job dies "out
// of memory" under its RLIMIT_AS (worker.MinAddressHeadroomMB). The
// Dockerfile builds it the same way.
func TestWorkerBinaryHasFixedHeapBase(t *testing.T) {
	t.Parallel()
	info, err := buildinfo.ReadFile(filepath.Join(binDir(t), "sandbox-worker"))
	if err != nil {
		t.Fatalf("read build info of bin/sandbox-worker (run `make build`): %v", err)
	}
	var experiment string
	for _, s := range info.Settings {
		if s.Key == "GOEXPERIMENT" {
			experiment = s.Value
		}
	}
	if !strings.Contains(experiment, "norandomizedheapbase64") {
		t.Errorf("bin/sandbox-worker built with GOEXPERIMENT=%q, want norandomizedheapbase64 (Makefile build target)", experiment)
	}
	dockerfile, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dockerfile), "GOEXPERIMENT=norandomizedheapbase64 go build") ||
		!strings.Contains(string(dockerfile), "./cmd/sandbox-worker") {
		t.Error("deploy/docker/Dockerfile does not build ./cmd/sandbox-worker with GOEXPERIMENT=norandomizedheapbase64")
	}
}
