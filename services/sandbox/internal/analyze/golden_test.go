package analyze_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/analyze"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func newAnalyzer(t *testing.T) *analyze.Analyzer {
	t.Helper()
	return analyze.New(prometheus.NewRegistry(), analyze.Options{BuildVersion: "test", CatalogueVersion: "cat-test"})
}

// SB-75: every testdata/*.go tool is analysed to exactly its .golden
// response: required/optional rules, enum, nested structs, time.Time,
// []byte, output schema only for a named struct result, description from
// the doc comment, the position of every diagnostic, the range-over-int
// warning.
func TestSB75_AnalyzeGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			code, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			res := newAnalyzer(t).Analyze(context.Background(), proto.AnalyzeRequest{Code: string(code)})
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res.Response); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := strings.TrimSuffix(path, ".go") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("response differs from %s (-want +got):\n%s", golden, cmp.Diff(string(want), string(got)))
			}
			checkPositions(t, string(code), res.Response.Diagnostics)
		})
	}
}

// checkPositions asserts every diagnostic points inside the source and
// carries the context of its line.
func checkPositions(t *testing.T, code string, diags []proto.Diagnostic) {
	t.Helper()
	lines := strings.Split(code, "\n")
	for _, d := range diags {
		if d.Line == 0 {
			if d.Column != 0 || d.Context != "" {
				t.Errorf("file-level diagnostic with a column or context: %+v", d)
			}
			continue
		}
		if d.Line < 0 || d.Line > len(lines) || d.Column < 1 || d.Column > len(lines[d.Line-1])+1 {
			t.Errorf("diagnostic outside the source: %+v", d)
			continue
		}
		if !strings.Contains(d.Context, ">>") || !strings.Contains(d.Context, lines[d.Line-1]) {
			t.Errorf("context %q does not mark line %d", d.Context, d.Line)
		}
	}
}
