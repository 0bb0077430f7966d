package toolcall

import (
	"errors"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
)

// LoadingText is the answer to a user-tool call before the first catalog
// load (gateway.md §7.2).
const LoadingText = "MCPbox is still loading its tool catalog; retry in a few seconds."

// StaleText is the answer to a user-tool call while the catalog is older
// than the staleness limit (gateway.md §7.2); age counts in whole minutes,
// at least 1.
func StaleText(name string, age time.Duration) string {
	return fmt.Sprintf("MCPbox cannot confirm that %s is still approved: the gateway has not reached the backend "+
		"for %d min. Try again later.", name, max(int64(age/time.Minute), 1))
}

// UnknownToolText is the answer to a well-formed name the catalog does not
// know (gateway.md §8.7).
func UnknownToolText(name string) string {
	return fmt.Sprintf("Tool %q does not exist. Call mcpbox_find_tools to see the tools you can run.", name)
}

// NotManagementText is the answer to an mcpbox_* name that is none of the
// 30 management tools (gateway.md §8.7).
func NotManagementText(name string) string {
	return fmt.Sprintf("%q is not an MCPbox management tool. The management tools are listed by tools/list.", name)
}

// WithheldText is the answer to a tool the catalog lists as withheld, by
// its reason (gateway.md §8.7). A reason this gateway does not know (a
// newer backend) gets a generic sentence that names it.
func WithheldText(w proto.WithheldTool) string {
	name := w.Name
	switch w.Reason {
	case proto.WithheldDraft:
		return fmt.Sprintf("Tool %q is a draft. Submit it with mcpbox_request_publish(tool_id=%q); an admin must approve it.",
			name, w.ToolID)
	case proto.WithheldPendingReview:
		return fmt.Sprintf("Tool %q (version %d) is waiting for admin review and cannot run until it is approved. "+
			"mcpbox_get_tool_status(tool_id=%q) shows progress.", name, w.Version, w.ToolID)
	case proto.WithheldRejected:
		return fmt.Sprintf("Tool %q was rejected by an admin. mcpbox_get_tool_status(tool_id=%q) shows the reason.", name, w.ToolID)
	case proto.WithheldDisabled:
		return fmt.Sprintf("Tool %q is disabled by an admin.", name)
	case proto.WithheldServerStopped:
		server, _, _ := proto.SplitExposedName(name)
		return fmt.Sprintf("Tool %q belongs to server %q, which is not running. Start it with mcpbox_start_server(server_id=%q).",
			name, server, w.ServerID)
	case proto.WithheldSourceUnusable:
		return fmt.Sprintf("Tool %q comes from an external source that is disabled or awaiting admin approval. "+
			"mcpbox_list_external_sources(server_id=%q) shows its status.", name, w.ServerID)
	}
	return fmt.Sprintf("Tool %q cannot run now (%s).", name, sanitize(string(w.Reason), maxPreviewChars))
}

// CatalogRefusalText is the answer to a user-tool call that the catalog's
// state refuses (gateway.md §7.2): still loading (catalog.ErrCatalogNotLoaded)
// or stale (*catalog.StaleError). ok is false for any other error.
func CatalogRefusalText(name string, err error) (text string, ok bool) {
	var stale *catalog.StaleError
	switch {
	case errors.Is(err, catalog.ErrCatalogNotLoaded):
		return LoadingText, true
	case errors.As(err, &stale):
		return StaleText(name, stale.Age), true
	}
	return "", false
}

// NotCallable is the result of a call that names no runnable tool: the
// texts above, outcome unavailable, no execution entry (no tool ran or was
// identified).
func NotCallable(text string) Mapped {
	r := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, IsError: true}
	return Mapped{Result: r, Outcome: proto.OutcomeUnavailable, ErrorCode: string(proto.OutcomeUnavailable), Error: text}
}

// Unavailable is the result of a call of an identified tool that cannot
// run now (withheld, stale catalog, plan 404): the text, outcome
// unavailable, the execution entry.
func Unavailable(c Call, text string) Mapped {
	return infrastructure(c, proto.OutcomeUnavailable, text)
}

// PlanRefused is the result of a plan request the backend answered 409
// (not_executable, secret_missing, source_auth_failed): its message, which
// says why and what to do, with outcome unavailable (gateway.md §8.3). An
// empty message gets a sentence naming the code.
func PlanRefused(c Call, code, message string) Mapped {
	if message == "" {
		message = fmt.Sprintf("MCPbox cannot run %s now (%s); the tool did not run.", c.ExposedName,
			sanitize(code, maxPreviewChars))
	}
	return infrastructure(c, proto.OutcomeUnavailable, message)
}

// InvalidArguments is the result of arguments refused before anything ran
// (gateway.md §8.2): the text of ValidateArguments, outcome
// invalid_arguments.
func InvalidArguments(c Call, text string) Mapped {
	return infrastructure(c, proto.OutcomeInvalidArguments, text)
}
