package canon_test

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

// BenchmarkHashGo100KiB hashes a tool at the code size limit (100 KiB), the
// work the sandbox repeats before every execution.
func BenchmarkHashGo100KiB(b *testing.B) {
	const header = "package tool\n\n"
	line := "\tresult = append(result, fmt.Sprintf(\"<%d> & %s\", i, name)) // é\n"
	body := strings.Repeat(line, (proto.MaxCodeBytes-len(header))/len(line))
	code := header + body + strings.Repeat("/", proto.MaxCodeBytes-len(header)-len(body))
	m := proto.Manifest{
		Hosts:     []string{"api.example.com:443", "api.weather.example"},
		Packages:  []string{"encoding/xml"},
		Secrets:   []string{"API_KEY"},
		TimeoutMS: 30000, MemoryMB: 128,
	}
	b.SetBytes(int64(len(code)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := canon.HashGo(code, m); err != nil {
			b.Fatal(err)
		}
	}
}
