package manage

import (
	"slices"
	"testing"
)

// FuzzImportsOf feeds untrusted tool code to the import reader of
// mcpbox_validate_code: it never panics, lists each path once in order,
// and classify puts every path in exactly one class.
func FuzzImportsOf(f *testing.F) {
	for _, seed := range []string{
		"package tool\n\nimport (\n\t\"encoding/xml\"\n\t\"strings\"\n)\n\n// Main says hi.\nfunc Main() string { return \"\" }\n",
		"package tool\n\nimport \"os/exec\"\nimport x \"strings\"\nimport \"strings\"\n",
		"package tool\nimport (\"fmt\"; \"fmt\"\n", "package", "", "import \"\"", "package p; import `mcpbox`",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, code string) {
		got := importsOf(code)
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("imports %q not sorted and unique", got)
		}
		c := classify(got, nil, []string{"encoding/xml"})
		n := len(c.Default) + len(c.Approved) + len(c.Pending) + len(c.Forbidden)
		if n != len(got) {
			t.Fatalf("%d imports, %d classified: %+v", len(got), n, c)
		}
	})
}

func TestClassify(t *testing.T) {
	t.Parallel()
	c := classify(importsOf("package tool\n\nimport (\n\t\"strings\"\n\t\"os/exec\"\n\t\"encoding/xml\"\n\t\"image\"\n)\n"),
		[]string{"image"}, []string{"encoding/xml"})
	if !slices.Equal(c.Default, []string{"strings"}) || !slices.Equal(c.Approved, []string{"encoding/xml"}) ||
		!slices.Equal(c.Pending, []string{"image"}) || !slices.Equal(c.Forbidden, []string{"os/exec"}) {
		t.Fatalf("%+v", c)
	}
}
