package analyze_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/analyze"
)

// tool200 is a realistic 200-line tool: nested input structs with tags,
// helpers, HTTP and secrets.
func tool200() string {
	var b strings.Builder
	b.WriteString("package tool\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\t\"strings\"\n\n\t\"mcpbox\"\n)\n\n")
	b.WriteString("type Filter struct {\n\tField string `json:\"field\" jsonschema:\"the field to filter on\"`\n\tValue string `json:\"value\"`\n}\n\n")
	b.WriteString("type Input struct {\n\tQuery   string   `json:\"query\" jsonschema:\"what to search for\"`\n\tLimit   int      `json:\"limit,omitempty\"`\n\tFilters []Filter `json:\"filters,omitempty\"`\n}\n\n")
	b.WriteString("type Item struct {\n\tName  string `json:\"name\"`\n\tScore int    `json:\"score\"`\n}\n\n")
	b.WriteString("type Output struct {\n\tItems []Item `json:\"items\"`\n\tTotal int    `json:\"total\"`\n}\n\n")
	for i := range 20 {
		fmt.Fprintf(&b, "func helper%d(s string, n int) string {\n\tout := strings.TrimSpace(s)\n\tfor i := 0; i < n; i++ {\n\t\tout += fmt.Sprint(i)\n\t}\n\treturn out\n}\n\n", i)
	}
	b.WriteString("// Main searches the catalogue and scores the results.\nfunc Main(ctx context.Context, in Input) (Output, error) {\n")
	b.WriteString("\tkey := mcpbox.Secret(\"API_KEY\")\n\tresp, err := mcpbox.HTTP.Get(ctx, \"https://api.example.com/search?q=\"+in.Query, mcpbox.Header{\"Authorization\": \"Bearer \" + key})\n")
	b.WriteString("\tif err != nil {\n\t\treturn Output{}, err\n\t}\n\tvar out Output\n\tif err := resp.JSON(&out); err != nil {\n\t\treturn Output{}, err\n\t}\n")
	b.WriteString("\tfor i := range out.Items {\n\t\tout.Items[i].Name = helper0(out.Items[i].Name, 1)\n\t}\n\treturn out, nil\n}\n")
	return b.String()
}

// BenchmarkAnalyze200: analysis of a 200-line tool without the cache
// (sandbox.md §16: ≤ 5 ms on one core).
func BenchmarkAnalyze200(b *testing.B) {
	code := tool200()
	if n := strings.Count(code, "\n"); n < 180 {
		b.Fatalf("tool has %d lines", n)
	}
	a := analyze.New(prometheus.NewRegistry(), analyze.Options{CacheEntries: -1})
	req := proto.AnalyzeRequest{Code: code}
	if res := a.Analyze(context.Background(), req); !res.Response.OK {
		b.Fatalf("benchmark tool does not analyse: %+v", res.Response.Diagnostics)
	}
	b.ReportAllocs()
	for b.Loop() {
		a.Analyze(context.Background(), req)
	}
}
