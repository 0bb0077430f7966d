package sandboxapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/analyze"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/ipc"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/pool"
)

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// ruleErrors turns joined *proto.RuleError values into one 400 naming the
// first field and listing every failure in details.
func ruleErrors(err error) *apiError {
	details := proto.FieldErrors(err)
	if len(details) == 0 {
		return invalid("", "%v", err)
	}
	e := invalid(details[0].Field, "%s", details[0].Message)
	if len(details) > 1 {
		e.Err.Details = details
	}
	return e
}

// packagesHandler serves GET /v1/packages: the catalogue of sandbox.md §6.
func packagesHandler(version string) http.Handler {
	body := catalogue.Catalogue(version)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, body) })
}

// analyzeHandler serves POST /v1/analyze (sandbox.md §4.3). With
// compile: true and no static error, the tool and its harness are compiled
// in a worker without secrets or network, and the worker's diagnostics are
// merged in (SB-78).
func analyzeHandler(a *analyze.Analyzer, exec Executor) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, e := readBody(r, proto.MaxAnalyzeBodyBytes)
		var req proto.AnalyzeRequest
		if e == nil {
			e = decodeStrict(body, &req, 8, "code")
		}
		if e == nil {
			e = adoptRequestID(w, r, req.RequestID)
		}
		if e == nil {
			if err := catalogue.ValidateExtra(req.ExtraPackages); err != nil {
				var xe *catalogue.ExtraPackageError
				if errors.As(err, &xe) {
					e = invalid(xe.Field(), "%s", xe.Message)
				} else {
					e = invalid("extra_packages", "%v", err)
				}
			}
		}
		if e != nil {
			writeError(w, r, e)
			return
		}
		res := a.Analyze(r.Context(), req)
		if res.Compile != nil {
			if exec == nil {
				writeError(w, r, &apiError{Status: http.StatusNotImplemented, Err: proto.Error{
					Code: proto.CodeNotImplemented, Message: "compiling in a worker is not available in this sandbox; send compile: false",
				}})
				return
			}
			out, err := exec.Execute(r.Context(), pool.Job{
				Mode: ipc.ModeCompile, Code: res.Compile.Code, InputType: res.Compile.Main.InputType,
				Arguments: json.RawMessage("{}"), ExtraPackages: res.Compile.ExtraPackages,
				Timeout: res.Compile.Timeout, MemoryMB: compileMemoryMB,
			})
			if err != nil {
				if r.Context().Err() == nil {
					writeError(w, r, statusOf(err))
				}
				return
			}
			analyze.MergeCompile(&res.Response, compileDiagnostics(res.Compile.Code, out), &out.Worker)
		}
		writeJSON(w, res.Response)
	})
}

// fetchHandler serves POST /v1/fetch (sandbox.md §4.7) through the broker's
// SSRF policy: any upstream status is a 200, redirects are returned.
func fetchHandler(b *egress.Broker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, e := readBody(r, proto.MaxExecuteBodyBytes)
		var req proto.FetchRequest
		if e == nil {
			e = allowedHostsHint(decodeStrict(body, &req, 8, "method", "url", "allowed_hosts", "purpose"))
		}
		if e == nil {
			e = adoptRequestID(w, r, req.RequestID)
		}
		if e != nil {
			writeError(w, r, e)
			return
		}
		resp, err := b.Fetch(r.Context(), req)
		if err != nil {
			writeError(w, r, ruleErrors(err))
			return
		}
		writeJSON(w, resp)
	})
}

// compileMemoryMB is the memory of a compile-only job: enough for the
// interpreter, never the tool's own limit (nothing of the tool runs but its
// package initialisers).
const compileMemoryMB = 256

// compileDiagnostics turns a compile job's outcome into diagnostics.
func compileDiagnostics(code string, out pool.Outcome) []proto.Diagnostic {
	var e *proto.ExecutionError
	switch {
	case out.Result != nil && out.Result.OK:
		return nil
	case out.Result != nil && out.Result.Error != nil:
		e = workerError(code, out.Result.Error, nil)
	case out.Error != nil:
		e = out.Error
	default:
		e = &proto.ExecutionError{Type: proto.ErrTypeWorkerCrashed, Message: "the compile worker ended without a result"}
	}
	d := proto.Diagnostic{Severity: proto.SeverityError, Type: e.Type, Message: e.Message}
	if e.Line != nil {
		d.Line = *e.Line
	}
	if e.Column != nil {
		d.Column = *e.Column
	}
	if e.Context != nil {
		d.Context = *e.Context
	}
	return []proto.Diagnostic{d}
}
