package toolcall

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/sandbox"
)

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
