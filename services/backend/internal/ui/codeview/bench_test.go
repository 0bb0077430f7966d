package codeview

import (
	"fmt"
	"strings"
	"testing"
)

// goFile returns a gofmt-style Go file of about n lines.
func goFile(n int) string {
	var b strings.Builder
	b.WriteString("package tool\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\t\"strings\"\n)\n\n")
	for i := 0; strings.Count(b.String(), "\n") < n-8; i++ {
		fmt.Fprintf(&b, "// step%d handles part %d of the input.\n", i, i)
		fmt.Fprintf(&b, "func step%d(ctx context.Context, in map[string]any) (string, error) {\n", i)
		fmt.Fprintf(&b, "\tif err := ctx.Err(); err != nil {\n\t\treturn \"\", fmt.Errorf(\"step %d: %%w\", err)\n\t}\n", i)
		fmt.Fprintf(&b, "\ts, _ := in[\"name\"].(string)\n\treturn strings.ToUpper(s) + `-%d`, nil\n}\n\n", i)
	}
	return b.String()
}

func BenchmarkHighlight(b *testing.B) {
	src := goFile(300)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Highlight(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiff(b *testing.B) {
	old := goFile(300)
	lines := strings.SplitAfter(old, "\n")
	for i := 10; i < len(lines); i += 40 {
		lines[i] = "\t// changed\n" + lines[i]
	}
	new := strings.Join(lines, "")
	b.SetBytes(int64(len(old) + len(new)))
	for b.Loop() {
		v, err := Diff("version 1", "version 2", old, new)
		if err != nil {
			b.Fatal(err)
		}
		_ = RenderDiff(v)
	}
}
