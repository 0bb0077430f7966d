package codeview

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The committed code.css is what gencss writes (admin-ui.md §13).
func TestCodeCSSFresh(t *testing.T) {
	t.Parallel()
	want, err := CSS()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../static/code.css")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("static/code.css is stale: run `go run ./internal/ui/codeview/gencss` in services/backend")
	}
}

// Every colour pair code.css draws text with reaches 4.5:1 (3:1 for the
// focus outline), in both palettes.
func TestCodeCSSContrast(t *testing.T) {
	t.Parallel()
	light, dark, err := themes()
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range []theme{light, dark} {
		if len(th.checks) < 20 || len(th.tokens) < 20 {
			t.Fatalf("%s: only %d checks, %d token rules", th.name, len(th.checks), len(th.tokens))
		}
		for _, c := range th.checks {
			if r := contrast(c.fg, c.bg); r < c.min {
				t.Errorf("%s: %s %s on %s is %.2f:1, below %.1f:1", th.name, c.what, c.fg, c.bg, r, c.min)
			}
		}
	}
	// Known values: black on white is 21:1; Dawn's gold on its background is 2.05:1.
	if r := contrast(rgb{0, 0, 0}, rgb{255, 255, 255}); r < 20.99 || r > 21.01 {
		t.Fatalf("contrast(black, white) = %v", r)
	}
	if r := contrast(rgb{0xea, 0x9d, 0x34}, rgb{0xfa, 0xf4, 0xed}); r < 2.0 || r > 2.1 {
		t.Fatalf("contrast(gold, dawn) = %v", r)
	}
}

func TestCodeCSSScopesAndRules(t *testing.T) {
	t.Parallel()
	b, err := CSS()
	if err != nil {
		t.Fatal(err)
	}
	css := string(b)
	for _, s := range []string{
		`:is(:root, [data-theme="light"], [data-theme="system"]) {`,
		`[data-theme="dark"] {`,
		"@media (prefers-color-scheme: dark) {\n",
		`  [data-theme="system"] .hl-k {`,
		".code-ln {", "user-select: none;", ".diff-added {", ".diff-removed {", ".code-ctl::before {",
	} {
		if !strings.Contains(css, s) {
			t.Errorf("code.css lacks %q", s)
		}
	}
	// No external request of any kind, and .visually-hidden is app.css's.
	for _, s := range []string{"url(", "@import", ".visually-hidden"} {
		if strings.Contains(css, s) {
			t.Errorf("code.css contains %q", s)
		}
	}
	if strings.Count(css, "{") != strings.Count(css, "}") {
		t.Error("unbalanced braces")
	}
}

func TestEnsureContrastKeepsPassingColours(t *testing.T) {
	t.Parallel()
	c := rgb{0x28, 0x69, 0x83}
	if got := ensureContrast(c, minTextContrast, rgb{0xfa, 0xf4, 0xed}); got != c {
		t.Fatalf("a passing colour changed: %s", got)
	}
	for _, bg := range []rgb{{0xfa, 0xf4, 0xed}, {0x23, 0x21, 0x36}} {
		got := ensureContrast(rgb{0x90, 0x8c, 0xaa}, 7, bg)
		if contrast(got, bg) < 7 {
			t.Fatalf("on %s: %s reaches only %.2f", bg, got, contrast(got, bg))
		}
	}
}
