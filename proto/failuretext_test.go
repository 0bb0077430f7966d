package proto_test

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// The sections of content_text on failure (gateway.md §8.5, sandbox.md
// §4.2.6): blank lines between them, empty ones left out, stdout cut to its
// last 4 KiB at a rune boundary, headers sorted, no "HTTP 0" or "column 0".
func TestFailureTextSections(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 5000) + "é" + strings.Repeat("y", 4095) + "\n\n"
	line := 3
	cases := []struct {
		name   string
		e      proto.ExecutionError
		stdout string
		want   string
	}{
		{"message only", proto.ExecutionError{Type: "Panic", Message: "nil map"}, " \n", "Panic: nil map"},
		{"line without column", proto.ExecutionError{Type: "SyntaxError", Message: "m", Line: &line}, "", "SyntaxError: m\n\n--- detail ---\nLine: 3"},
		{
			"transport failure",
			proto.ExecutionError{Type: "ToolError", Message: "m", HTTP: &proto.HTTPFailure{Method: "POST", URL: "https://h/x", Error: "connection refused"}},
			"", "ToolError: m\n\n--- detail ---\nHTTP POST https://h/x failed: connection refused",
		},
		{
			"long preview",
			proto.ExecutionError{Type: "ToolError", Message: "m", HTTP: &proto.HTTPFailure{Method: "GET", URL: "u", Status: 500, BodyPreview: strings.Repeat("é", 400)}},
			"", "ToolError: m\n\n--- detail ---\nHTTP 500 from GET u\nResponse preview: " + strings.Repeat("é", 300),
		},
		{
			// 5000 + 2 + 4095 bytes: the last 4096 start inside "é", so
			// the cut moves one byte on.
			"long stdout",
			proto.ExecutionError{Type: "Timeout", Message: "m"},
			long,
			"Timeout: m\n\n--- stdout ---\n[… 5002 earlier bytes omitted]\n" + strings.Repeat("y", 4095),
		},
	}
	for _, tc := range cases {
		if got := proto.FailureText(&tc.e, tc.stdout); got != tc.want {
			t.Errorf("%s: FailureText =\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
}
