package toolcall

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/sandbox"
)

// Sizes of the error text (gateway.md §8.5, sandbox.md §4.2.6).
const (
	stdoutTailBytes  = 4 << 10
	previewChars     = 300
	sectionSeparator = "\n\n"
)

// ErrorText formats a failed execution as gateway.md §8.5 shows it:
// "<type>: <message>", then a "--- stdout ---" section with the last 4 KiB
// of stdout and a "--- detail ---" section with the position, the source
// context and the failed HTTP call; sections without content are left out.
// The sandbox sends this text as content_text (sandbox.md §4.2.6);
// MapExecute uses ErrorText only when that is missing.
func ErrorText(e *proto.ExecutionError, stdout string) string {
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
func detail(e *proto.ExecutionError) string {
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
func httpDetail(h *proto.HTTPFailure) []string {
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
		lines = append(lines, "Response preview: "+firstChars(h.BodyPreview, previewChars))
	}
	return lines
}

// firstChars is the first n characters (runes) of s.
func firstChars(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// NextStep is the hint of gateway.md §8.5 for the error's type, or "".
func NextStep(c Call, e *proto.ExecutionError) string {
	switch e.Type {
	case proto.ErrTypeEgressDenied:
		return fmt.Sprintf("Ask for access with mcpbox_request_network_access(tool_id=%q, host=%q); an admin must approve it.",
			c.ToolID, deniedHost(e))
	case proto.ErrTypeImportError:
		return fmt.Sprintf("Ask for the package with mcpbox_request_package(tool_id=%q, package=%q).", c.ToolID, importPath(e.Message))
	case proto.ErrTypeTimeout:
		return fmt.Sprintf("The tool hit its %s s limit. Make it faster, or raise timeout_ms with mcpbox_update_tool (the change needs approval).",
			sandbox.Seconds(time.Duration(c.Limits.TimeoutMS)*time.Millisecond))
	case proto.ErrTypeMemoryLimitExceeded:
		return fmt.Sprintf("Process less data per call (limit %d MiB).", c.Limits.MemoryMB)
	}
	return ""
}

// deniedHost is the host of the refused call (error.http.url, which the
// sandbox fills for EgressDenied), or a placeholder the LLM fills in.
func deniedHost(e *proto.ExecutionError) string {
	if e.HTTP != nil {
		if u, err := url.Parse(e.HTTP.URL); err == nil && u.Hostname() != "" {
			return u.Hostname()
		}
	}
	return "<host>"
}

// importPath is the first quoted path of an ImportError message (the
// sandbox writes `package "golang.org/x/..." is not approved ...`), or a
// placeholder.
func importPath(msg string) string {
	_, rest, ok := strings.Cut(msg, `"`)
	if !ok {
		return "<package>"
	}
	path, _, ok := strings.Cut(rest, `"`)
	if !ok || path == "" || strings.ContainsAny(path, " \t\n") {
		return "<package>"
	}
	return path
}
