package worker

import (
	"encoding/json"
	"io"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/hostpkg"
)

// Mode says what a job does with the tool.
type Mode string

// Job modes (the job frame's mode, sandbox.md §11).
const (
	// ModeRun compiles the tool and calls Main.
	ModeRun Mode = "run"
	// ModeCompile compiles tool plus harness and runs package initialisers,
	// without calling Main (/v1/analyze with compile: true).
	ModeCompile Mode = "compile"
)

// Caps of a worker's output (sandbox.md §4.2.4, §7).
const (
	// StdoutCap is the stdout limit of a response (1 MiB).
	StdoutCap = proto.MaxStdoutBytes
	// StdoutKeep is what a worker keeps and forwards: the cap plus 64 KiB, so
	// the parent can redact a secret straddling the cap before cutting.
	StdoutKeep = StdoutCap + 64<<10
	// ResultCap is the result limit of a response (1 MiB of JSON).
	ResultCap = 1 << 20
	// WorkerResultCap is the most JSON a worker sends: a longer string
	// result is pre-cut to it, any other longer result is
	// OutputLimitExceeded.
	WorkerResultCap = ResultCap + ResultCap/4
	// stderrCap bounds the interpreter's stderr buffer (panic positions).
	stderrCap = 64 << 10
)

// Markers appended to cut output (sandbox.md §4.2.4).
const (
	StdoutMarker = "\n... [stdout truncated: exceeded 1 MiB]"
	ResultMarker = "\n... [result truncated: exceeded 1 MiB]"
)

// Job is one execution as the worker receives it (the job frame, §11) plus
// the two connections the lead wires to IPC.
type Job struct {
	Mode Mode
	// Code is the tool source, one file of package tool.
	Code string
	// InputType is the name of Main's input struct from analysis ("Input"),
	// or "" when Main takes no input.
	InputType string
	// Arguments is the raw JSON object of the call ({} or empty when none).
	Arguments json.RawMessage
	// Secrets maps declared names to values; nil is declared but not set.
	Secrets map[string]*string
	// WithheldSecrets are declared names whose values were withheld.
	WithheldSecrets []string
	// ExtraPackages are the opt-in packages approved for this tool.
	ExtraPackages []string
	// Timeout bounds compilation, initialisers and Main; 0 means none (the
	// caller's context still applies).
	Timeout time.Duration
	// MaxHTTPRequests is the request budget; 0 means 100.
	MaxHTTPRequests int

	// HTTP sends tool HTTP requests to the parent's broker; nil means no
	// network.
	HTTP hostpkg.Doer
	// Stdout, when set, receives the captured output as it is written (the
	// IPC stdout stream), up to StdoutKeep bytes.
	Stdout io.Writer
}

// Result is the outcome of one job: the result frame of §11 plus the output
// kept in memory.
type Result struct {
	// OK is true iff Main returned a nil error and the result was accepted
	// (in compile mode: the tool compiled and its initialisers ran).
	OK bool
	// JSON is the encoded result, without HTML escaping, at most
	// WorkerResultCap bytes; nil unless OK (and in compile mode).
	JSON []byte
	// Error is nil iff OK.
	Error *Error
	// Stdout is the captured output, at most StdoutKeep bytes; use CapStdout
	// for the response form.
	Stdout []byte
	// StdoutDropped counts bytes written beyond StdoutKeep.
	StdoutDropped int64
}

// Error is a failure the worker reports.
type Error struct {
	// Type is one of ToolError, Panic, InvalidArguments, CompileError,
	// UnsupportedFeature, InvalidResult, OutputLimitExceeded (and Timeout
	// when the context ended first, which the parent decides on its own).
	Type    proto.SandboxErrorType
	Message string
	// Line and Column are 1-based positions in the tool file, 0 if unknown.
	Line, Column int
	// Context is up to 5 source lines around Line, the error line marked
	// with >> (SourceContext).
	Context string
	// HTTPID is the IPC id of the HTTP call behind a ToolError, 0 if none.
	HTTPID int
}
