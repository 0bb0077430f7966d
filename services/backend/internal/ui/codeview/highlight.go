package codeview

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
)

// Display limits (admin-ui.md §2): past either, code is shown as plain
// escaped text and a diff is not computed.
const (
	// MaxBytes is the largest text highlighted or diffed, 1 MiB.
	MaxBytes = 1 << 20
	// MaxLines is the most lines highlighted or diffed.
	MaxLines = 10_000
)

// ClassPrefix prefixes every chroma class (token classes such as "hl-k",
// the line wrappers "hl-line" and "hl-cl"), so they never meet app.css.
const ClassPrefix = "hl-"

// Options change how Highlight renders.
type Options struct {
	// LineIDPrefix, when set, gives every line of highlighted code the id
	// LineIDPrefix+n (n from 1) and tabindex="-1", so a diagnostic can link
	// to "#<prefix><n>" and move focus there. It must be an ASCII letter
	// followed by at most 63 letters, digits, '-' or '_', and unique on the
	// page.
	LineIDPrefix string
}

// TooLarge reports whether s is past the display limits (over MaxBytes
// bytes or MaxLines lines). Highlight then shows s as plain text and Diff
// returns a View with TooLarge set; a page shows a notice and a download
// link.
func TooLarge(s string) bool {
	return len(s) > MaxBytes || lineCount(s) > MaxLines
}

// lineCount is the number of lines of s: its newlines, plus one for a last
// line without one.
func lineCount(s string) int {
	n := strings.Count(s, "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		n++
	}
	return n
}

// Highlight renders Go source as HTML: chroma's Go lexer and its HTML
// formatter with classes (never inline styles), line numbers in a separate
// column that is aria-hidden and not selectable, so selecting or copying the
// code column yields exactly Displayable(source). Every token is
// HTML-escaped. Source past the limits (TooLarge) is rendered as a plain
// escaped <pre> without highlighting or line numbers.
//
// The result is
//
//	<div class="code-view"><pre class="code-ln" aria-hidden="true">1…</pre><pre class="code"><code>…</code></pre></div>
//
// and the caller wraps it in a focusable scroll region (class code-scroll,
// role="region", tabindex="0", aria-label naming the code).
func Highlight(source string) (template.HTML, error) {
	return HighlightWith(source, Options{})
}

// HighlightWith is Highlight with options.
func HighlightWith(source string, o Options) (template.HTML, error) {
	if o.LineIDPrefix != "" && !validIDPrefix(o.LineIDPrefix) {
		return "", fmt.Errorf("codeview: invalid line id prefix %q", o.LineIDPrefix)
	}
	return highlight(lexers.Go, source, o.LineIDPrefix)
}

// HighlightJSON renders JSON the way Highlight renders Go: indented by two
// spaces when data is valid JSON (shown as it is otherwise), highlighted
// with chroma's JSON lexer, under the same rules and limits.
func HighlightJSON(data []byte) (template.HTML, error) {
	text := string(data)
	var pretty bytes.Buffer
	if json.Valid(data) && json.Indent(&pretty, data, "", "  ") == nil {
		text = pretty.String()
	}
	lexer := lexers.Get("json")
	if lexer == nil {
		return "", errors.New("codeview: chroma has no JSON lexer")
	}
	return highlight(lexer, text, "")
}

// validIDPrefix checks Options.LineIDPrefix.
func validIDPrefix(p string) bool {
	if len(p) > 64 {
		return false
	}
	for i := range len(p) {
		c := p[i]
		letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if i == 0 && !letter {
			return false
		}
		if !letter && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// highlight renders source with lexer; see Highlight.
func highlight(lexer chroma.Lexer, source, idPrefix string) (template.HTML, error) {
	var b strings.Builder
	if TooLarge(source) {
		b.Grow(len(source) + 128)
		b.WriteString(`<div class="code-view code-plain"><pre class="code"><code>`)
		writeText(&b, Displayable(source))
		b.WriteString(`</code></pre></div>`)
		return trusted(b.String()), nil
	}
	src := Displayable(source)
	tokens, err := tokenise(lexer, src)
	if err != nil {
		return "", err
	}
	b.Grow(2*len(src) + 256)
	b.WriteString(`<div class="code-view">`)
	writeLineNumbers(&b, lineCount(src))
	if tokens == nil {
		// The lexer did not give back the text it was given (never seen;
		// a guard so the code column always shows exactly the source).
		b.WriteString(`<pre class="code"><code>`)
		writeText(&b, src)
		b.WriteString(`</code></pre>`)
	} else {
		var out strings.Builder
		f := chromahtml.New(chromahtml.WithClasses(true), chromahtml.ClassPrefix(ClassPrefix),
			chromahtml.WithPreWrapper(codePre{}))
		if err := f.Format(&out, styles.Fallback, chroma.Literator(tokens...)); err != nil {
			return "", fmt.Errorf("codeview: format: %w", err)
		}
		labelSpecials(&b, out.String(), idPrefix)
	}
	b.WriteString(`</div>`)
	return trusted(b.String()), nil
}

// tokenise lexes src, coalescing runs of one token type. It returns nil
// tokens when their text is not exactly src (a lexer that adds a final
// newline has it removed first), so the caller falls back to plain text.
func tokenise(lexer chroma.Lexer, src string) ([]chroma.Token, error) {
	it, err := chroma.Coalesce(lexer).Tokenise(&chroma.TokeniseOptions{State: "root", EnsureLF: false}, src)
	if err != nil {
		return nil, fmt.Errorf("codeview: tokenise: %w", err)
	}
	tokens := it.Tokens()
	var text strings.Builder
	text.Grow(len(src) + 1)
	for _, t := range tokens {
		text.WriteString(t.Value)
	}
	got := text.String()
	if got == src+"\n" && len(tokens) > 0 { // the lexer's EnsureNL
		last := &tokens[len(tokens)-1]
		last.Value = strings.TrimSuffix(last.Value, "\n")
		if last.Value == "" {
			tokens = tokens[:len(tokens)-1]
		}
		got = src
	}
	if got != src {
		return nil, nil
	}
	return tokens, nil
}

// writeLineNumbers writes the line-number column: aria-hidden (screen
// readers read the code, not a column of numbers) and, through code.css,
// not selectable.
func writeLineNumbers(b *strings.Builder, n int) {
	b.WriteString(`<pre class="code-ln" aria-hidden="true">`)
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte('\n')
		}
		b.WriteString(strconv.Itoa(i))
	}
	b.WriteString(`</pre>`)
}

// lineOpen is how chroma's formatter opens a line (with ClassPrefix).
const lineOpen = `<span class="` + ClassPrefix + `line">`

// labelSpecials copies chroma's HTML to b, wrapping special runes
// (writeSpecial) and giving lines their ids when idPrefix is set. It is safe
// on the formatter's output: its markup is ASCII without control
// characters, so every special rune is in token text, which the formatter
// has already escaped, and lineOpen cannot occur in escaped text.
func labelSpecials(b *strings.Builder, s, idPrefix string) {
	line := 0
	for i := 0; i < len(s); {
		if idPrefix != "" && s[i] == '<' && strings.HasPrefix(s[i:], lineOpen) {
			line++
			fmt.Fprintf(b, `<span class="%sline" id="%s%d" tabindex="-1">`, ClassPrefix, idPrefix, line)
			i += len(lineOpen)
			continue
		}
		r, size := rune(s[i]), 1
		if r >= 0x80 {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if special(r) {
			writeSpecial(b, r)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}

// codePre is the formatter's pre wrapper: <pre class="code"><code>, without
// chroma's class (code.css styles .code-view).
type codePre struct{}

// Start implements chromahtml.PreWrapper.
func (codePre) Start(code bool, _ string) string {
	if code {
		return `<pre class="code"><code>`
	}
	return `<pre class="code">`
}

// End implements chromahtml.PreWrapper.
func (codePre) End(code bool) string {
	if code {
		return `</code></pre>`
	}
	return `</pre>`
}

// trusted marks HTML built by this package (every piece of text escaped
// by writeText, writeSpecial, chroma's formatter or html/template) as safe
// to insert. It is the package's only conversion to template.HTML; the
// fuzz tests check its output contains nothing but the package's own
// elements and attributes.
func trusted(s string) template.HTML {
	return template.HTML(s) //nolint:gosec // G203: all text in s is escaped by this package, fuzz-tested (U4)
}
