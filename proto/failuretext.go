package proto

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto/redact"
)

// Sizes of the error text (gateway.md §8.5, sandbox.md §4.2.6).
const (
	stdoutTailBytes  = 4 << 10
	previewChars     = 300
	sectionSeparator = "\n\n"
)

// FailureText formats a failed execution as gateway.md §8.5 shows it:
// "<type>: <message>", then a "--- stdout ---" section with the last 4 KiB
// of stdout and a "--- detail ---" section with the position, the source
// context and the failed HTTP call; sections without content are left out.
// The sandbox sends this text as content_text (sandbox.md §4.2.6); the
// gateway formats it itself only when that is missing.
func FailureText(e *ExecutionError, stdout string) string {
	sections := []string{string(e.Type) + ": " + e.Message}
	if tail := stdoutTail(stdout); tail != "" {
		sections = append(sections, "--- stdout ---\n"+tail)
	}
	if d := detail(e); d != "" {
		sections = append(sections, "--- detail ---\n"+d)
	}
	return strings.Join(sections, sectionSeparator)
}

// stdoutTail is stdout without trailing whitespace, cut to its last 4 KiB
// at a rune boundary and preceded by the omission note when cut.
func stdoutTail(stdout string) string {
	s := strings.TrimRight(stdout, " \t\r\n")
	if len(s) <= stdoutTailBytes {
		return s
	}
	cut := len(s) - stdoutTailBytes
	for cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut++
	}
	return fmt.Sprintf("[… %d earlier bytes omitted]\n%s", cut, s[cut:])
}

// detail is the body of the detail section, "" when there is nothing.
func detail(e *ExecutionError) string {
	var lines []string
	if e.Line != nil {
		pos := fmt.Sprintf("Line: %d", *e.Line)
		if e.Column != nil {
			pos += fmt.Sprintf(", column %d", *e.Column)
		}
		lines = append(lines, pos)
	}
	if e.Context != nil && strings.TrimSpace(*e.Context) != "" {
		lines = append(lines, "Context:\n"+strings.TrimRight(*e.Context, "\n"))
	}
	if h := e.HTTP; h != nil {
		lines = append(lines, httpDetail(h)...)
	}
	return strings.Join(lines, "\n")
}

// httpDetail describes the failed HTTP call: the status line (or the
// transport error when no response arrived), the kept headers indented and
// sorted, and the first 300 characters of the response.
func httpDetail(h *HTTPFailure) []string {
	var lines []string
	if h.Status == 0 {
		line := fmt.Sprintf("HTTP %s %s failed", h.Method, h.URL)
		if h.Error != "" {
			line += ": " + h.Error
		}
		lines = append(lines, line)
	} else {
		lines = append(lines, fmt.Sprintf("HTTP %d from %s %s", h.Status, h.Method, h.URL))
	}
	names := make([]string, 0, len(h.Headers))
	for k := range h.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		lines = append(lines, "  "+k+": "+h.Headers[k])
	}
	if h.BodyPreview != "" {
		lines = append(lines, "Response preview: "+firstChars(h.BodyPreview))
	}
	return lines
}

// firstChars is the first previewChars characters of s.
func firstChars(s string) string {
	kept, _ := redact.CutChars(s, previewChars)
	return kept
}
