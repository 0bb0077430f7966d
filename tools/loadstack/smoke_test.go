package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/tools/internal/repo"
)

// smokePortOffset keeps the smoke stack off the ports of the e2e stacks (offsets 10000 and 13000) and below
// tools/internal/testport's range (26000–32000), which other packages of the same make test draw from.
const smokePortOffset = 4000

// The real stack bench and soak, end to end with tiny settings, so that make bench and make soak cannot rot: the
// stack from bin/ (MCPBOX_BIN_DIR, else <repo>/bin: make build), a fresh database on the test server, every
// scenario through the edge, the local listener and the bare server, then a 3 s soak. It checks the tooling, not
// the figures: every scenario answered without errors, the reports, the chart and the soak's samples exist.
func TestStackBenchAndSoakSmoke(t *testing.T) {
	t.Parallel()
	root, err := repo.RootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	bin := os.Getenv("MCPBOX_BIN_DIR")
	if bin == "" {
		bin = filepath.Join(root, "bin")
	}
	for _, name := range []string{"devstack", "sandbox-e2e", "backend", "gateway", "edge", "devidp"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			t.Fatalf("%s missing in %s (make build, or set MCPBOX_BIN_DIR): %v", name, bin, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	loadgen := filepath.Join(t.TempDir(), "loadgen")
	build := exec.CommandContext(ctx, "go", "build", "-o", loadgen, "./loadgen")
	build.Dir = filepath.Join(root, "tools")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./loadgen: %v\n%s", err, out)
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{
		"-root", root, "-bin", bin, "-loadgen", loadgen, "-out", out, "-port-offset", strconv.Itoa(smokePortOffset),
		"-bench", "-bench-duration", "1s", "-bench-warmup", "300ms", "-concurrency", "4", "-users", "2", "-list-tools", "20", "-pause", "0s",
		"-soak", "3s", "-soak-interval", "1s", "-soak-probe", "1s",
	}, os.Environ(), &stdout, &stderr)
	if code != exitMet {
		t.Fatalf("loadstack exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}

	benches, _ := filepath.Glob(filepath.Join(out, "stack-*Z.json"))
	if len(benches) != 1 {
		t.Fatalf("bench reports %q, want one", benches)
	}
	raw, err := os.ReadFile(benches[0])
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("bench report: %v", err)
	}
	if len(rep.Scenarios) != len(benchScenarios(20)) || len(rep.Ratios) != 3 || len(rep.Problems) != 0 {
		t.Errorf("%d scenarios, %d ratios, problems %q", len(rep.Scenarios), len(rep.Ratios), rep.Problems)
	}
	for _, s := range rep.Scenarios {
		if s.OK == 0 || s.Errors != 0 || s.CallsPerSec <= 0 || s.P50 <= 0 || s.P95 < s.P50 || s.P99 < s.P95 {
			t.Errorf("scenario %s: %+v", s.Key, s)
		}
		if _, err := os.Stat(filepath.Join(out, s.Report)); err != nil {
			t.Errorf("scenario %s: loadgen report %v", s.Key, err)
		}
	}
	if rep.Machine.Revision == "" || rep.Machine.CPUs < 1 || rep.Machine.GoVersion == "" {
		t.Errorf("machine %+v", rep.Machine)
	}
	base := strings.TrimSuffix(benches[0], ".json")
	svg, err := os.ReadFile(base + ".svg")
	if err != nil || xml.Unmarshal(svg, new(struct{})) != nil || !bytes.Contains(svg, []byte("edge: tools/list, 20 tools")) {
		t.Errorf("chart: %v", err)
	}
	if md, err := os.ReadFile(base + ".md"); err != nil || !strings.Contains(string(md), "| edge: one brokered HTTP GET |") {
		t.Errorf("Markdown report: %v", err)
	}
	if !strings.Contains(stdout.String(), "| bare go-sdk server: trivial call |") || !strings.Contains(stdout.String(), "Soak: every service") {
		t.Errorf("stdout lacks the table or the soak:\n%s", stdout.String())
	}

	soaks, _ := filepath.Glob(filepath.Join(out, "soak-*Z.json"))
	if len(soaks) != 1 {
		t.Fatalf("soak reports %q, want one", soaks)
	}
	raw, err = os.ReadFile(soaks[0])
	if err != nil {
		t.Fatal(err)
	}
	var soak soakReport
	if err := json.Unmarshal(raw, &soak); err != nil {
		t.Fatalf("soak report: %v", err)
	}
	if soak.Capacity <= 0 || soak.Rate <= 0 || len(soak.Samples) < 2 || len(soak.Problems) != 0 || soak.Load == nil || soak.Load.OK == 0 {
		t.Errorf("soak: capacity %g, rate %g, %d samples, problems %q", soak.Capacity, soak.Rate, len(soak.Samples), soak.Problems)
	}
	for _, s := range soak.Samples {
		for _, ep := range metricsEndpoints(smokePortOffset) {
			if v, ok := s.Services[ep.service]; !ok || v.Goroutines <= 0 || v.HeapInuseBytes <= 0 || v.RSSBytes <= 0 {
				t.Errorf("sample at %gs: %s %+v", s.T, ep.service, v)
			}
		}
	}
	if soak.Samples[0].Label != "start" || soak.Samples[len(soak.Samples)-1].Label != "end" {
		t.Errorf("labels %q … %q", soak.Samples[0].Label, soak.Samples[len(soak.Samples)-1].Label)
	}
}
