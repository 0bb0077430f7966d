package analyze_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/analyze"
)

// FuzzAnalyze feeds arbitrary source to the analyzer: it must not panic,
// every diagnostic must point inside the source, ok must agree with the
// diagnostics and derived schemas must be valid JSON. Time is bounded by
// the code-size limit and the schema work budget. The committed corpus is
// testdata/fuzz/FuzzAnalyze plus every testdata/*.go tool.
func FuzzAnalyze(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.go"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		code, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(code))
	}
	f.Add(okTool)
	// One analyzer for the whole run, without a cache: every input is
	// analysed for real.
	a := analyze.New(prometheus.NewRegistry(), analyze.Options{CacheEntries: -1})
	f.Fuzz(func(t *testing.T, code string) {
		res := a.Analyze(context.Background(), proto.AnalyzeRequest{Code: code, Compile: true})
		resp := res.Response
		lines := strings.Split(code, "\n")
		errs := 0
		for _, d := range resp.Diagnostics {
			if d.Severity == proto.SeverityError {
				errs++
			}
			if d.Type == "" || d.Message == "" {
				t.Fatalf("empty diagnostic %+v", d)
			}
			if d.Line == 0 {
				if d.Column != 0 {
					t.Fatalf("column without a line: %+v", d)
				}
				continue
			}
			if d.Line < 0 || d.Line > len(lines) || d.Column < 1 || d.Column > len(lines[d.Line-1])+1 {
				t.Fatalf("diagnostic outside the source (%d lines): %+v", len(lines), d)
			}
		}
		if resp.OK != (errs == 0) {
			t.Fatalf("ok=%t with %d errors", resp.OK, errs)
		}
		if (res.Compile != nil) != (resp.OK && resp.Main != nil) {
			t.Fatalf("compile job %v for ok=%t main=%v", res.Compile, resp.OK, resp.Main)
		}
		for _, raw := range []json.RawMessage{resp.InputSchema, resp.OutputSchema} {
			if !json.Valid(raw) {
				t.Fatalf("invalid schema JSON %q", raw)
			}
		}
		if _, err := json.Marshal(resp); err != nil {
			t.Fatalf("response does not encode: %v", err)
		}
	})
}
