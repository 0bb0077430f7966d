package codeview

import (
	"bytes"
	"encoding/json"
	"html/template"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// checkHighlight asserts the invariants of a Highlight result for source
// (want is the text its code column must hold): only allowed markup, the
// code column's text equal to want, and the line-number column, aria-hidden,
// numbering want's lines, unless the text was too large.
func checkHighlight(t *testing.T, source, want string, out template.HTML) []*html.Node {
	t.Helper()
	nodes, err := highlightAllowlist().check(string(out))
	if err != nil {
		t.Fatalf("output is not on the allowlist: %v\n%s", err, out)
	}
	codes := find(nodes, func(n *html.Node) bool {
		return element("code", "")(n) && n.Parent != nil && hasClass(n.Parent, "code")
	})
	if len(codes) != 1 {
		t.Fatalf("want one <pre class=code><code>, got %d\n%s", len(codes), out)
	}
	if got := text(codes[0], nil); got != want {
		t.Fatalf("code column text differs from the source:\n got %q\nwant %q", got, want)
	}
	lns := find(nodes, element("pre", "code-ln"))
	plain := len(find(nodes, element("div", "code-plain"))) == 1
	if plain != TooLarge(source) {
		t.Fatalf("plain rendering = %v, TooLarge = %v", plain, TooLarge(source))
	}
	if plain {
		if len(lns) != 0 || len(find(nodes, element("span", ClassPrefix+"line"))) != 0 {
			t.Fatal("plain rendering has line numbers or highlighting")
		}
		return nodes
	}
	if len(lns) != 1 || attr(lns[0], "aria-hidden") != "true" {
		t.Fatalf("want one aria-hidden line-number column, got %d", len(lns))
	}
	var nums []string
	for i := 1; i <= lineCount(want); i++ {
		nums = append(nums, strconv.Itoa(i))
	}
	if got := text(lns[0], nil); got != strings.Join(nums, "\n") {
		t.Fatalf("line numbers %q, want 1..%d", got, lineCount(want))
	}
	return nodes
}

const sampleGo = `package main

import (
	"context"
	"fmt"
)

// Input is the tool's input.
type Input struct {
	Name string ` + "`json:\"name\"`" + `
}

func Run(ctx context.Context, in Input) (string, error) {
	if in.Name == "" {
		return "", fmt.Errorf("name is required: %d < 1 && x > 2", 0)
	}
	return "Hello, " + in.Name + "!", nil
}
`

func TestHighlightGo(t *testing.T) {
	t.Parallel()
	out, err := Highlight(sampleGo)
	if err != nil {
		t.Fatal(err)
	}
	nodes := checkHighlight(t, sampleGo, sampleGo, out)
	// UI-26: the code has token classes (keyword, string, comment, function name).
	for _, class := range []string{"hl-kn", "hl-kd", "hl-s", "hl-c1", "hl-nf"} {
		if len(find(nodes, element("span", class))) == 0 {
			t.Errorf("no token with class %s in\n%s", class, out)
		}
	}
	if got := len(find(nodes, element("span", "hl-line"))); got != lineCount(sampleGo) {
		t.Errorf("%d line spans, want %d", got, lineCount(sampleGo))
	}
	if strings.Contains(string(out), "style=") {
		t.Error("inline style in the output")
	}
}

// UI-26: code and descriptions that look like markup show as text.
func TestHighlightEscapesMarkup(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"// </script><script>alert(1)</script>\nvar s = \"<img src=x onerror=alert(1)>\"\n",
		"</pre></code><img src=x onerror=alert(1)>",
		"x := `<!-- -->` + \"&amp;\" + '<'",
		"\"]]><svg onload=alert(1)>\"",
	} {
		out, err := Highlight(src)
		if err != nil {
			t.Fatal(err)
		}
		nodes := checkHighlight(t, src, src, out)
		if len(find(nodes, element("img", ""))) != 0 || len(find(nodes, element("script", ""))) != 0 {
			t.Fatalf("markup from the source became elements:\n%s", out)
		}
	}
}

func TestHighlightKeepsLineEndingsAndLabelsControls(t *testing.T) {
	t.Parallel()
	const trojan = "s := \"\u202e } \u2066if admin {\u2069 \u2066\" // ok\n"
	for _, tc := range []struct {
		name, src, want string
		labels          []string // data-cp of the labelled characters, in order
	}{
		{"CRLF", "package a\r\nvar x = 1\r\n", "package a\r\nvar x = 1\r\n", []string{"U+000D", "U+000D"}},
		{"lone CR", "a\rb", "a\rb", []string{"U+000D"}},
		{"no final newline", "package a\nvar x", "package a\nvar x", nil},
		{"empty", "", "", nil},
		{"only newlines", "\n\n", "\n\n", nil},
		{"NUL", "a\x00b", "a\uFFFDb", nil},
		{"invalid UTF-8", "s := \"\xff\xfe\"\n", "s := \"\uFFFD\"\n", nil},
		{"escape and DEL", "\x1b[31m\x7f", "\x1b[31m\x7f", []string{"U+001B", "U+007F"}},
		{"C1 control", "a\u0085b", "a\u0085b", []string{"U+0085"}},
		{"trojan source", trojan, trojan, []string{"U+202E", "U+2066", "U+2069", "U+2066"}},
		{"separators and BOM", "\ufeffa\u2028b\u2029", "\ufeffa\u2028b\u2029", []string{"U+FEFF", "U+2028", "U+2029"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := Highlight(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			nodes := checkHighlight(t, tc.src, tc.want, out)
			var got []string
			for _, n := range find(nodes, element("bdi", "code-ctl")) {
				got = append(got, attr(n, "data-cp"))
			}
			if strings.Join(got, ",") != strings.Join(tc.labels, ",") {
				t.Fatalf("labelled %v, want %v\n%s", got, tc.labels, out)
			}
		})
	}
}

func TestHighlightTooLargeIsPlain(t *testing.T) {
	t.Parallel()
	lines := strings.Repeat("x := 1 // <b>\n", MaxLines+1)
	bigLine := "// " + strings.Repeat("<", MaxBytes) + "\n"
	atLimit := strings.Repeat("x\n", MaxLines)
	for _, tc := range []struct {
		name  string
		src   string
		large bool
	}{
		{"lines", lines, true},
		{"bytes", bigLine, true},
		{"at the line limit", atLimit, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if TooLarge(tc.src) != tc.large {
				t.Fatalf("TooLarge = %v, want %v", !tc.large, tc.large)
			}
			out, err := Highlight(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			checkHighlight(t, tc.src, tc.src, out)
		})
	}
}

func TestHighlightLineIDs(t *testing.T) {
	t.Parallel()
	src := "package a\n\nvar x = 1\n"
	out, err := HighlightWith(src, Options{LineIDPrefix: "L-"})
	if err != nil {
		t.Fatal(err)
	}
	nodes := checkHighlight(t, src, src, out)
	lines := find(nodes, element("span", "hl-line"))
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	for i, n := range lines {
		if attr(n, "id") != "L-"+strconv.Itoa(i+1) || attr(n, "tabindex") != "-1" {
			t.Errorf("line %d: id %q tabindex %q", i+1, attr(n, "id"), attr(n, "tabindex"))
		}
	}
	for _, bad := range []string{"1L", "a b", `a"`, "a<", strings.Repeat("a", 65), "é"} {
		if _, err := HighlightWith(src, Options{LineIDPrefix: bad}); err == nil {
			t.Errorf("prefix %q accepted", bad)
		}
	}
}

func TestHighlightJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"indented", `{"b":[1,2],"a":"<script>alert(1)</script>"}`, "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": \"<script>alert(1)</script>\"\n}"},
		{"invalid shown as is", `{"a": <img src=x onerror=alert(1)>`, `{"a": <img src=x onerror=alert(1)>`},
		{"scalar", `"x"`, `"x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := HighlightJSON([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			nodes := checkHighlight(t, tc.want, tc.want, out)
			if tc.name == "indented" && len(find(nodes, element("span", "hl-nt"))) == 0 {
				t.Errorf("no property-name token in\n%s", out)
			}
		})
	}
}

func TestDisplayable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain":        "plain",
		"a\x00b":       "a\uFFFDb",
		"\xff\xfe":     "\uFFFD",
		"\r\n\t\u202e": "\r\n\t\u202e",
	} {
		if got := Displayable(in); got != want {
			t.Errorf("Displayable(%q) = %q, want %q", in, got, want)
		}
	}
}

// prettyJSON mirrors HighlightJSON's indentation for the fuzz test.
func prettyJSON(data []byte) string {
	var b bytes.Buffer
	if json.Valid(data) && json.Indent(&b, data, "", "  ") == nil {
		return b.String()
	}
	return string(data)
}
