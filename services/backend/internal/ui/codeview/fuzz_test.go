package codeview

import (
	"strings"
	"testing"
)

// seeds are the hostile inputs of admin-ui.md §13 and the display rules.
func seeds() []string {
	return []string{
		"",
		"package main\n\nfunc main() {}\n",
		"</script><script>alert(1)</script>",
		"<img src=x onerror=alert(1)>",
		"a\r\nb\r\n",
		"a\rb\r",
		"nul\x00byte",
		"bad \xff\xfe utf-8 \xc3",
		"// " + strings.Repeat("x", 70_000) + "\n",
		strings.Repeat("<>&\"'", 2000),
		"s := \"\u202e } \u2066if admin {\u2069 \u2066\"\n",
		"<!-- --> <![CDATA[ ]]> <!DOCTYPE html> &lt; &#0; &#x80;",
		"`raw\nstring`\n/* unclosed comment",
		"\ufeff\u2028\u2029\x1b[0m\x7f\u0085",
		"{\"a\": [1, 2, {\"b\": \"<x>\"}]}",
	}
}

// FuzzHighlight: whatever the source, the output holds only the renderer's
// own elements and attributes (no on* or style attribute), and the code
// column's text is exactly Displayable(source).
func FuzzHighlight(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, source string) {
		out, err := Highlight(source)
		if err != nil {
			t.Fatal(err)
		}
		checkHighlight(t, source, Displayable(source), out)
	})
}

// FuzzHighlightJSON is FuzzHighlight for JSON: the text is the indented
// JSON, or the input when it is not valid JSON.
func FuzzHighlightJSON(f *testing.F) {
	for _, s := range seeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := HighlightJSON(data)
		if err != nil {
			t.Fatal(err)
		}
		text := prettyJSON(data)
		checkHighlight(t, text, Displayable(text), out)
	})
}

// FuzzDiff: the rendered diff holds only the renderer's own elements and
// attributes, and its rows rebuild both texts exactly (Displayable), with
// consecutive line numbers and a marker on every changed row.
func FuzzDiff(f *testing.F) {
	ss := seeds()
	for i, s := range ss {
		f.Add(s, ss[(i+1)%len(ss)], "version 1")
		f.Add(s, s+"\nextra\n", "<script>alert(1)</script>")
	}
	f.Add("a\nb\nc\n", "a\r\nb\nc", "v\x00")
	f.Fuzz(func(t *testing.T, old, new, name string) {
		v, err := Diff(name, "version 2", old, new)
		if err != nil {
			t.Fatal(err)
		}
		if !v.TooLarge && (v.Equal() != (old == new)) {
			t.Fatalf("Equal() = %v for %q, %q", v.Equal(), old, new)
		}
		checkDiffHTML(t, v, old, new)
		checkHeaders(t, v)
	})
}
