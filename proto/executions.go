package proto

import (
	"encoding/json"
	"time"
)

// Via says how a user tool was called.
type Via string

// Via values (execution_records.via). The gateway sends direct and run_tool;
// test is written by the backend for test runs.
const (
	ViaDirect  Via = "direct"
	ViaRunTool Via = "run_tool"
	ViaTest    Via = "test"
)

// Outcome is the outcome of one user-tool call, shared by the gateway's
// metrics and execution records (contracts.md §7, gateway.md §9).
type Outcome string

// Tool-call outcomes.
const (
	OutcomeOK                 Outcome = "ok"
	OutcomeToolError          Outcome = "tool_error"
	OutcomeInvalidArguments   Outcome = "invalid_arguments"
	OutcomeUnavailable        Outcome = "unavailable"
	OutcomeDenied             Outcome = "denied"
	OutcomeSandboxUnavailable Outcome = "sandbox_unavailable"
	OutcomeSandboxError       Outcome = "sandbox_error"
	OutcomeIntegrityError     Outcome = "integrity_error"
	OutcomeCancelled          Outcome = "cancelled"
	OutcomeInternalError      Outcome = "internal_error"
)

// Outcomes returns every tool-call outcome, for metric pre-registration.
func Outcomes() []Outcome {
	return []Outcome{
		OutcomeOK, OutcomeToolError, OutcomeInvalidArguments, OutcomeUnavailable, OutcomeDenied,
		OutcomeSandboxUnavailable, OutcomeSandboxError, OutcomeIntegrityError, OutcomeCancelled,
		OutcomeInternalError,
	}
}

// Limits of POST /internal/v1/executions (backend.md §9.6).
const (
	MaxExecutionBatchRecords = 500
	MaxExecutionBatchBytes   = 4 << 20
	// MaxRecordFutureSkew is how far in the future started_at may be.
	MaxRecordFutureSkew = 5 * time.Minute
)

// ExecutionRecord is one user-tool call as the gateway reports it (backend.md
// §9.6, gateway.md §9). Records are idempotent by ID.
type ExecutionRecord struct {
	// ID is a UUIDv4 made by the gateway.
	ID string `json:"id"`
	// ToolID, ServerID, ToolVersion and ToolHash are those of the catalog or
	// withheld entry the name matched (soft references).
	ToolID      string `json:"tool_id,omitempty"`
	ServerID    string `json:"server_id,omitempty"`
	ToolVersion int    `json:"tool_version,omitempty"`
	ToolHash    string `json:"tool_hash,omitempty"`
	// ExposedName is the name as called.
	ExposedName string `json:"exposed_name"`
	Via         Via    `json:"via"`
	Caller      Caller `json:"caller"`
	// Success is outcome ok.
	Success bool `json:"success"`
	// ErrorCode is the outcome, or for tool_error the sandbox error type in
	// snake_case (SandboxErrorType.SnakeCase); ^[a-z_]{1,40}$.
	ErrorCode string `json:"error_code,omitempty"`
	// Error is the error message.
	Error string `json:"error,omitempty"`
	// InputArgs are the arguments, redacted and truncated.
	InputArgs json.RawMessage `json:"input_args,omitempty"`
	// Result is the result, redacted and truncated.
	Result json.RawMessage `json:"result,omitempty"`
	Stdout string          `json:"stdout,omitempty"`
	// DurationMS is measured at the gateway.
	DurationMS int64     `json:"duration_ms"`
	StartedAt  time.Time `json:"started_at"`
	RequestID  string    `json:"request_id,omitempty"`
}

// ExecutionBatch is the body of POST /internal/v1/executions: 1–500 records,
// at most 4 MiB.
type ExecutionBatch struct {
	Records []ExecutionRecord `json:"records"`
}

// ExecutionBatchResult is its 200 body; a bad record never rejects the
// others.
type ExecutionBatchResult struct {
	Accepted   int              `json:"accepted"`
	Duplicates int              `json:"duplicates"`
	Rejected   []RejectedRecord `json:"rejected"`
}

// RejectedRecord names a record of the batch that was not stored.
type RejectedRecord struct {
	// Index is the record's position in the batch.
	Index   int    `json:"index"`
	Code    string `json:"code"`
	Message string `json:"message"`
}
