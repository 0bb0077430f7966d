package toolcall

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/sandbox"
)

// infrastructure is an isError result for a call that got no tool result
// (gateway.md §8.5, second table): one text item, the execution entry
// with the gateway's elapsed time and no stdout; the record's error code
// is the outcome and its message the text.
func infrastructure(c Call, outcome proto.Outcome, text string) Mapped {
	r := &mcp.CallToolResult{
		Meta:    mcp.Meta{MetaExecution: c.meta(c.Elapsed.Milliseconds(), "", false)},
		Content: []mcp.Content{&mcp.TextContent{Text: text}},
		IsError: true,
	}
	return Mapped{Result: r, Outcome: outcome, ErrorCode: string(outcome), Error: text}
}

// CircuitOpen is the result of a call the breaker refused after failures
// consecutive failures; retryIn is rounded up to whole seconds, at least 1.
func CircuitOpen(c Call, failures int, retryIn time.Duration) Mapped {
	secs := max(int64((retryIn+time.Second-1)/time.Second), 1)
	return infrastructure(c, proto.OutcomeSandboxUnavailable, fmt.Sprintf(
		"The MCPbox sandbox is unavailable (%d consecutive failures); the tool did not run. Retry in about %d s.", failures, secs))
}

// Saturated is the result of a 429 saturated answer.
func Saturated(c Call) Mapped {
	return infrastructure(c, proto.OutcomeSandboxUnavailable,
		"The MCPbox sandbox is at capacity; the tool did not run. Retry in a moment.")
}

// PlanUnavailable is the result of a call whose plan could not be obtained
// (backend unreachable, timeout, 5xx).
func PlanUnavailable(c Call) Mapped {
	return infrastructure(c, proto.OutcomeUnavailable, fmt.Sprintf(
		"MCPbox cannot reach its backend to prepare %s; the tool did not run. Retry shortly.", c.ExposedName))
}

// Unreachable is the result of a call that found no connection to the
// sandbox and sent nothing.
func Unreachable(c Call) Mapped {
	return infrastructure(c, proto.OutcomeSandboxUnavailable, "The MCPbox sandbox is unreachable; the tool did not run.")
}

// NoResult is the result of a request that was sent but brought no result
// back; cause is the sandbox client's ("timeout after 45 s", "connection
// lost", "HTTP 502", "invalid answer").
func NoResult(c Call, cause string) Mapped {
	if cause == "" {
		cause = "no answer"
	}
	return infrastructure(c, proto.OutcomeSandboxError, fmt.Sprintf(
		"The MCPbox sandbox did not return a result for %s (%s). The tool may have run; it was not retried. "+
			"Check its effects before calling it again.", c.ExposedName, cause))
}

// Integrity is the result of a 409 hash_mismatch, or of a plan whose hash
// differs from the catalog's. The caller logs it at error level; nothing
// is retried.
func Integrity(c Call) Mapped {
	return infrastructure(c, proto.OutcomeIntegrityError, fmt.Sprintf(
		"MCPbox refused to run %s: the code does not match its approved version. The admin has been alerted.", c.ExposedName))
}

// Internal is the result of anything unexpected; the details go to the log
// only.
func Internal(c Call) Mapped {
	return infrastructure(c, proto.OutcomeInternalError, fmt.Sprintf(
		"MCPbox failed internally while running %s (request id %s).", c.ExposedName, c.RequestID))
}

// Cancelled is the result of a call the client cancelled or disconnected
// from, or that the drain deadline ended. The spec gives no text (the client is usually
// gone); this one says what is known.
func Cancelled(c Call) Mapped {
	return infrastructure(c, proto.OutcomeCancelled, fmt.Sprintf(
		"The call of %s was cancelled before it returned a result. The tool may have run.", c.ExposedName))
}

// FromSandboxError maps an error of sandbox.Client.Execute or MCPCall to
// its infrastructure result. A Rejected answer (a 4xx the gateway's own
// request caused) and any error that is not a *sandbox.Error are internal
// errors.
func FromSandboxError(c Call, err error) Mapped {
	var e *sandbox.Error
	if errors.As(err, &e) {
		switch e.Kind {
		case sandbox.CircuitOpen:
			return CircuitOpen(c, e.Failures, e.RetryAfter)
		case sandbox.Saturated:
			return Saturated(c)
		case sandbox.HashMismatch:
			return Integrity(c)
		case sandbox.Unreachable:
			return Unreachable(c)
		case sandbox.NoResult:
			return NoResult(c, e.Cause)
		case sandbox.Cancelled:
			return Cancelled(c)
		case sandbox.Rejected: // a 4xx the gateway's own request caused
			return Internal(c)
		}
	}
	if errors.Is(err, context.Canceled) {
		return Cancelled(c)
	}
	return Internal(c)
}
