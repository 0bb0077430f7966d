package codeview

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/alecthomas/chroma/v2"
	"github.com/alecthomas/chroma/v2/styles"
)

// The chroma styles code.css is generated from (admin-ui.md §2, §5: the
// Rosé Pine Dawn and Moon palettes of the app).
const (
	LightStyle = "rose-pine-dawn"
	DarkStyle  = "rose-pine-moon"
)

// Contrast minimums (WCAG 2.1 AA): text, and non-text such as the focus
// outline.
const (
	minTextContrast    = 4.5
	minNonTextContrast = 3.0
)

// rgb is an sRGB colour.
type rgb struct{ r, g, b uint8 }

func fromChroma(c chroma.Colour) rgb { return rgb{c.Red(), c.Green(), c.Blue()} }

func (c rgb) String() string { return fmt.Sprintf("#%02x%02x%02x", c.r, c.g, c.b) }

// luminance is the WCAG relative luminance.
func (c rgb) luminance() float64 {
	return 0.2126*linear(c.r) + 0.7152*linear(c.g) + 0.0722*linear(c.b)
}

// contrast is the WCAG contrast ratio of two colours.
func contrast(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// mix returns a + t·(b − a).
func mix(a, b rgb, t float64) rgb {
	m := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + t*(float64(y)-float64(x)))) }
	return rgb{m(a.r, b.r), m(a.g, b.g), m(a.b, b.b)}
}

// linear converts an sRGB channel to linear light.
func linear(v uint8) float64 {
	x := float64(v) / 255
	if x <= 0.04045 {
		return x / 12.92
	}
	return math.Pow((x+0.055)/1.055, 2.4)
}

// encode converts linear light to an sRGB channel, clipped to the gamut.
func encode(x float64) uint8 {
	x = min(max(x, 0), 1)
	if x <= 0.0031308 {
		x *= 12.92
	} else {
		x = 1.055*math.Pow(x, 1/2.4) - 0.055
	}
	return uint8(math.Round(x * 255))
}

// oklab converts to Björn Ottosson's Oklab (L from 0 to 1).
func (c rgb) oklab() (l, a, b float64) {
	r, g, bl := linear(c.r), linear(c.g), linear(c.b)
	lm := math.Cbrt(0.4122214708*r + 0.5363325363*g + 0.0514459929*bl)
	m := math.Cbrt(0.2119034982*r + 0.6806995451*g + 0.1073969566*bl)
	s := math.Cbrt(0.0883024619*r + 0.2817188376*g + 0.6299787005*bl)
	return 0.2104542553*lm + 0.7936177850*m - 0.0040720468*s,
		1.9779984951*lm - 2.4285922050*m + 0.4505937099*s,
		0.0259040371*lm + 0.7827717662*m - 0.8086757660*s
}

// fromOklab converts back to sRGB.
func fromOklab(l, a, b float64) rgb {
	lm := l + 0.3963377774*a + 0.2158037573*b
	m := l - 0.1055613458*a - 0.0638541728*b
	s := l - 0.0894841775*a - 1.2914855480*b
	lm, m, s = lm*lm*lm, m*m*m, s*s*s
	return rgb{
		encode(4.0767416621*lm - 3.3077115913*m + 0.2309699292*s),
		encode(-1.2684380046*lm + 2.6097574011*m - 0.3413193965*s),
		encode(-0.0041960863*lm - 0.7034186147*m + 1.7076147010*s),
	}
}

// ensureContrast returns c, or c with its Oklab lightness moved away from
// the backgrounds (darker on light ones, lighter on dark ones) in small
// steps, keeping its hue and chroma, until it reaches minRatio against
// every one.
func ensureContrast(c rgb, minRatio float64, bgs ...rgb) rgb {
	ok := func(x rgb) bool {
		for _, bg := range bgs {
			if contrast(x, bg) < minRatio {
				return false
			}
		}
		return true
	}
	if ok(c) {
		return c
	}
	darken := bgs[0].luminance() > 0.18
	l, a, b := c.oklab()
	for l > 0 && l < 1 {
		if darken {
			l = max(l-0.0025, 0)
		} else {
			l = min(l+0.0025, 1)
		}
		c = fromOklab(l, a, b)
		if ok(c) {
			break
		}
	}
	return c
}

// check is one foreground/background pair code.css renders, with the
// contrast it must reach; css_test.go verifies every one.
type check struct {
	what   string
	fg, bg rgb
	min    float64
}

// tokenRule is the CSS of one chroma token class in one theme.
type tokenRule struct {
	class string // with ClassPrefix
	decls []string
}

// theme is one palette of code.css.
type theme struct {
	name, style string
	vars        [][2]string // custom property, value
	tokens      []tokenRule
	checks      []check
}

// buildTheme derives a palette from a chroma style: background and text
// from the style, diff colours from its GenericInserted and GenericDeleted
// colours blended into the background, and every text colour moved, if
// needed, to reach 4.5:1 against each background it is drawn on.
func buildTheme(name, styleName string) (theme, error) {
	style := styles.Registry[styleName]
	if style == nil {
		return theme{}, fmt.Errorf("codeview: chroma has no style %q", styleName)
	}
	t := theme{name: name, style: styleName}
	bgEntry := style.Get(chroma.Background)
	if !bgEntry.Background.IsSet() {
		return theme{}, fmt.Errorf("codeview: style %q has no background colour", styleName)
	}
	bg := fromChroma(bgEntry.Background)
	fg := rgb{0, 0, 0}
	if bg.luminance() <= 0.18 {
		fg = rgb{255, 255, 255}
	}
	if c := style.Get(chroma.Text).Colour; c.IsSet() {
		fg = fromChroma(c)
	}
	colourOr := func(tt chroma.TokenType, def rgb) rgb {
		if c := style.Get(tt).Colour; c.IsSet() {
			return fromChroma(c)
		}
		return def
	}
	ins := colourOr(chroma.GenericInserted, rgb{0x22, 0x86, 0x3a})
	del := colourOr(chroma.GenericDeleted, rgb{0xcb, 0x24, 0x31})
	addBg := mix(bg, ins, 0.16)
	delBg := mix(bg, del, 0.16)
	hunkBg := mix(bg, fg, 0.07)
	ctlBg := mix(bg, del, 0.22)
	rowBgs := []rgb{bg, addBg, delBg, hunkBg}

	fg = ensureContrast(fg, minTextContrast, rowBgs...)
	ln := ensureContrast(mix(fg, bg, 0.35), minTextContrast, rowBgs...)
	addMarker := ensureContrast(ins, minTextContrast, addBg)
	delMarker := ensureContrast(del, minTextContrast, delBg)
	ctlFg := ensureContrast(del, minTextContrast, ctlBg)
	focus := ensureContrast(colourOr(chroma.Keyword, fg), minNonTextContrast, bg)
	rule := mix(bg, fg, 0.25)

	for _, bgc := range rowBgs {
		t.checks = append(t.checks,
			check{"text on row background " + bgc.String(), fg, bgc, minTextContrast},
			check{"line numbers on row background " + bgc.String(), ln, bgc, minTextContrast})
	}
	t.checks = append(t.checks,
		check{"added marker", addMarker, addBg, minTextContrast},
		check{"removed marker", delMarker, delBg, minTextContrast},
		check{"control character label", ctlFg, ctlBg, minTextContrast},
		check{"focus outline", focus, bg, minNonTextContrast})
	t.vars = [][2]string{
		{"--code-bg", bg.String()},
		{"--code-fg", fg.String()},
		{"--code-ln", ln.String()},
		{"--code-rule", rule.String()},
		{"--code-focus", focus.String()},
		{"--code-ctl-bg", ctlBg.String()},
		{"--code-ctl-fg", ctlFg.String()},
		{"--diff-add-bg", addBg.String()},
		{"--diff-add-marker", addMarker.String()},
		{"--diff-del-bg", delBg.String()},
		{"--diff-del-marker", delMarker.String()},
		{"--diff-hunk-bg", hunkBg.String()},
		{"--diff-hunk-fg", ln.String()},
	}

	types := make([]chroma.TokenType, 0, len(chroma.StandardTypes))
	for tt, class := range chroma.StandardTypes {
		if tt >= 0 && class != "" { // negative types are the formatter's structure
			types = append(types, tt)
		}
	}
	slices.Sort(types)
	for _, tt := range types {
		e := style.Get(tt).Sub(bgEntry)
		tokBg := bg
		var decls []string
		if e.Background.IsSet() {
			tokBg = fromChroma(e.Background)
			decls = append(decls, "background-color: "+tokBg.String())
		}
		col := fg
		if e.Colour.IsSet() {
			col = fromChroma(e.Colour)
		}
		col = ensureContrast(col, minTextContrast, tokBg)
		if col != fg || e.Background.IsSet() {
			decls = append([]string{"color: " + col.String()}, decls...)
			t.checks = append(t.checks, check{"token " + tt.String(), col, tokBg, minTextContrast})
		}
		if e.Bold == chroma.Yes {
			decls = append(decls, "font-weight: bold")
		}
		if e.Italic == chroma.Yes {
			decls = append(decls, "font-style: italic")
		}
		if e.Underline == chroma.Yes {
			decls = append(decls, "text-decoration: underline")
		}
		if len(decls) > 0 {
			t.tokens = append(t.tokens, tokenRule{class: ClassPrefix + chroma.StandardTypes[tt], decls: decls})
		}
	}
	return t, nil
}

// themes returns the light and dark palettes.
func themes() (light, dark theme, err error) {
	if light, err = buildTheme("light", LightStyle); err != nil {
		return theme{}, theme{}, err
	}
	if dark, err = buildTheme("dark", DarkStyle); err != nil {
		return theme{}, theme{}, err
	}
	return light, dark, nil
}

// CSS returns static/code.css: the layout of code views and diffs, then
// the light palette under :root (the default, as in app.css),
// [data-theme="light"] and [data-theme="system"],
// the dark one under [data-theme="dark"] and, inside
// @media (prefers-color-scheme: dark), under [data-theme="system"].
// `go run ./internal/ui/codeview/gencss` writes it; a test keeps the
// committed file equal to it.
func CSS() ([]byte, error) {
	light, dark, err := themes()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "/* Code generated by `go run ./internal/ui/codeview/gencss` (services/backend); DO NOT EDIT. */\n")
	fmt.Fprintf(&b, "/* Code views and diffs (codeview). Token colours from the chroma styles %s (light) and %s\n", LightStyle, DarkStyle)
	fmt.Fprintf(&b, "   (dark), each moved where needed to a contrast of at least 4.5:1 against its background. */\n\n")
	b.WriteString(layoutCSS)
	writeTheme(&b, "", `:is(:root, [data-theme="light"], [data-theme="system"])`, light)
	writeTheme(&b, "", `[data-theme="dark"]`, dark)
	b.WriteString("\n@media (prefers-color-scheme: dark) {\n")
	writeTheme(&b, "  ", `[data-theme="system"]`, dark)
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// writeTheme writes a palette's custom properties and token rules under a
// scope selector.
func writeTheme(w *bytes.Buffer, indent, scope string, t theme) {
	fmt.Fprintf(w, "\n%s/* %s: %s */\n", indent, t.name, t.style)
	fmt.Fprintf(w, "%s%s {\n", indent, scope)
	for _, v := range t.vars {
		fmt.Fprintf(w, "%s  %s: %s;\n", indent, v[0], v[1])
	}
	fmt.Fprintf(w, "%s}\n", indent)
	for _, r := range t.tokens {
		fmt.Fprintf(w, "%s%s .%s { %s; }\n", indent, scope, r.class, strings.Join(r.decls, "; "))
	}
}

// layoutCSS is the theme-independent part of code.css. The visually-hidden
// class it relies on is app.css's.
const layoutCSS = `/* A focusable scroll region around a code view or diff (role="region", tabindex="0", aria-label). */
.code-scroll {
  position: relative; /* contains the visually hidden text of diff rows */
  max-width: 100%;
  overflow: auto;
  border: 1px solid var(--code-rule);
  border-radius: 6px;
  background-color: var(--code-bg);
}

.code-view,
table.diff {
  width: max-content;
  min-width: 100%;
  margin: 0;
  background-color: var(--code-bg);
  color: var(--code-fg);
  font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 0.875rem;
  line-height: 1.5;
  tab-size: 4;
}

/* Highlighted code: line numbers and code side by side. */
.code-view {
  display: flex;
  align-items: flex-start;
}
.code-view pre {
  margin: 0;
  padding: 0.5rem 0.75rem;
  border: 0;
  border-radius: 0;
  background: none;
  color: inherit;
  font: inherit;
  white-space: pre;
  overflow: visible;
  overflow-wrap: normal;
  max-width: none;
}
.code-view code {
  padding: 0;
  background: none;
  color: inherit;
  font: inherit;
}
.code-view .code {
  flex: 1 0 auto;
}
/* The line-number column: aria-hidden in the markup, never selected or copied. */
.code-ln {
  position: sticky;
  left: 0;
  flex: none;
  text-align: right;
  color: var(--code-ln);
  background-color: var(--code-bg);
  border-right: 1px solid var(--code-rule);
  -webkit-user-select: none;
  user-select: none;
}
.hl-line:target,
.hl-line:focus {
  outline: 2px solid var(--code-focus);
  outline-offset: 1px;
}
/* Control and bidirectional characters: the character stays in the text; its label is generated content. */
.code-ctl::before {
  content: "[" attr(data-cp) "]";
  padding: 0 0.2em;
  border-radius: 3px;
  background-color: var(--code-ctl-bg);
  color: var(--code-ctl-fg);
  font-size: 0.75em;
}
.code-ctl[data-cp="U+000D"]::before {
  content: "\240D";
}

/* Diffs: a unified table (Old, New, Change, Line). */
table.diff {
  border-collapse: collapse;
  border-spacing: 0;
}
.diff caption {
  caption-side: top;
  padding: 0.25rem 0.75rem;
  text-align: left;
  background-color: var(--diff-hunk-bg);
  color: var(--code-fg);
}
.diff th,
.diff td {
  box-sizing: content-box;
  padding: 0 0.5rem;
  border: 0;
  vertical-align: top;
}
.diff th {
  font-weight: normal;
  text-align: left;
  color: var(--code-ln);
  border-bottom: 1px solid var(--code-rule);
}
.diff .diff-ln {
  width: 5ch;
  min-width: 5ch;
  text-align: right;
  color: var(--code-ln);
  -webkit-user-select: none;
  user-select: none;
}
.diff .diff-marker {
  width: 1ch;
  padding: 0 0.25rem;
  text-align: center;
  font-weight: bold;
  -webkit-user-select: none;
  user-select: none;
}
.diff .diff-code {
  white-space: pre;
}
.diff-added {
  background-color: var(--diff-add-bg);
}
.diff-added .diff-marker {
  color: var(--diff-add-marker);
}
.diff-removed {
  background-color: var(--diff-del-bg);
}
.diff-removed .diff-marker {
  color: var(--diff-del-marker);
}
.diff-hunk-header > td {
  padding: 0.125rem 0.75rem;
  background-color: var(--diff-hunk-bg);
  color: var(--diff-hunk-fg);
}
.diff-gap > tr > td {
  padding: 0;
}
.diff-gap summary {
  padding: 0.125rem 0.75rem;
  background-color: var(--diff-hunk-bg);
  color: var(--diff-hunk-fg);
  cursor: pointer;
}
table.diff-nested {
  width: 100%;
  min-width: 100%;
}
.diff-nonl {
  margin-left: 1ch;
  font-size: 0.75em;
  color: var(--code-ln);
  -webkit-user-select: none;
  user-select: none;
}
`
