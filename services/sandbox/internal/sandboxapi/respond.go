package sandboxapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/redact"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/analyze"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/ipc"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/pool"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/worker"
)

// previewChars bounds error.http.body_preview (sandbox.md §4.2.5).
const previewChars = 500

// respond builds the 200 body of /v1/execute from what the pool observed
// (sandbox.md §4.2.4–§4.2.6): redaction on whole texts first (§14), then the
// caps, then content_text.
func respond(req proto.ExecuteRequest, out pool.Outcome) proto.ExecuteResponse {
	red := redactor(req)
	resp := proto.ExecuteResponse{DurationMS: out.Duration.Milliseconds(), Worker: &out.Worker, Result: json.RawMessage("null")}
	stdout := strings.ToValidUTF8(red.String(string(out.Stdout)), "\uFFFD")
	var dropped int64
	if out.StdoutDropped {
		dropped = 1
	}
	resp.Stdout, resp.StdoutTruncated = worker.CapStdout([]byte(stdout), dropped)

	switch {
	case out.Result != nil && out.Result.OK:
		resp.OK = true
		doc, err := red.JSON(out.Result.JSON)
		if err != nil {
			resp.OK, resp.Error = false, &proto.ExecutionError{
				Type:    proto.ErrTypeInvalidResult,
				Message: "the tool's result is not valid JSON; return a value encoding/json can encode",
			}
			break
		}
		capped, _, ok := worker.CapResult(doc)
		if !ok {
			resp.OK, resp.Error = false, &proto.ExecutionError{
				Type:    proto.ErrTypeOutputLimitExceeded,
				Message: "the result is larger than 1 MiB; return less data, e.g. paginate or filter",
			}
			break
		}
		resp.Result = capped
	case out.Result != nil && out.Result.Error != nil:
		resp.Error = workerError(req.Code, out.Result.Error, out.Calls)
	case out.Error != nil:
		resp.Error = out.Error
	default:
		resp.Error = &proto.ExecutionError{
			Type:    proto.ErrTypeWorkerCrashed,
			Message: "the worker ended without a result; this is never a success. Retry once; if it repeats, simplify the tool",
		}
	}
	if resp.OK {
		resp.Structured = bytes.HasPrefix(bytes.TrimSpace(resp.Result), []byte("{"))
		resp.ContentText = successText(resp.Result)
	} else {
		redactError(red, resp.Error)
		resp.Result = json.RawMessage("null")
		resp.ContentText = proto.FailureText(resp.Error, resp.Stdout)
	}
	if req.Debug {
		resp.HTTPCalls = httpCalls(red, out.Calls)
	}
	return resp
}

func redactor(req proto.ExecuteRequest) *redact.Redactor {
	if !req.RedactOutput() {
		return redact.New(nil, redact.Sandbox)
	}
	secrets := make([]redact.Secret, 0, len(req.Secrets))
	for name, v := range req.Secrets {
		if v != nil {
			secrets = append(secrets, redact.Secret{Name: name, Value: *v})
		}
	}
	return redact.New(secrets, redact.Sandbox)
}

// workerError maps the worker's error, adding the source context and, for
// an error tied to an HTTP call, the parent's own record of that call. A
// tool error wrapping a broker refusal becomes EgressDenied only when the
// parent's record confirms the refusal (sandbox.md §11).
func workerError(code string, e *ipc.ResultError, calls []pool.Call) *proto.ExecutionError {
	out := &proto.ExecutionError{Type: e.Type, Message: e.Message}
	if e.Line > 0 {
		line, col := e.Line, e.Column
		ctx := analyze.SourceContext(code, line)
		out.Line, out.Context = &line, &ctx
		if col > 0 {
			out.Column = &col
		}
	}
	if e.HTTPID > 0 {
		for _, c := range calls {
			if c.ID != e.HTTPID {
				continue
			}
			out.HTTP = httpFailure(c)
			var blocked *egress.BlockedError
			if errors.As(c.Err, &blocked) {
				out.Type, out.Message = proto.ErrTypeEgressDenied, blocked.Error()
			}
		}
	}
	return out
}

func httpFailure(c pool.Call) *proto.HTTPFailure {
	f := &proto.HTTPFailure{Method: c.Method, URL: c.URL, Status: c.Status, BodyPreview: preview(c.Preview), Headers: map[string]string{}}
	for k, vs := range c.Header {
		lk := strings.ToLower(k)
		if len(vs) > 0 && (lk == "content-type" || lk == "retry-after" || lk == "www-authenticate" || strings.HasPrefix(lk, "x-ratelimit-")) {
			f.Headers[lk] = vs[0]
		}
	}
	if c.Err != nil {
		f.Error = c.Err.Error()
	}
	return f
}

func httpCalls(red *redact.Redactor, calls []pool.Call) []proto.HTTPCall {
	out := make([]proto.HTTPCall, 0, len(calls))
	for _, c := range calls {
		hc := proto.HTTPCall{
			Method: c.Method, URL: red.String(c.URL), Status: c.Status, DurationMS: c.Duration.Milliseconds(),
			ResponsePreview: red.String(preview(c.Preview)),
		}
		if c.Err != nil {
			hc.Error = red.String(c.Err.Error())
		}
		out = append(out, hc)
	}
	return out
}

func redactError(red *redact.Redactor, e *proto.ExecutionError) {
	e.Message = red.String(e.Message)
	if e.Context != nil {
		s := red.String(*e.Context)
		e.Context = &s
	}
	if h := e.HTTP; h != nil {
		h.URL, h.BodyPreview, h.Error = red.String(h.URL), red.String(h.BodyPreview), red.String(h.Error)
		for k, v := range h.Headers {
			h.Headers[k] = red.String(v)
		}
	}
}

func preview(s string) string {
	if utf8.RuneCountInString(s) <= previewChars {
		return s
	}
	return string([]rune(s)[:previewChars])
}

// successText is the string itself for a string result, else compact JSON.
func successText(result json.RawMessage) string {
	var s string
	if json.Unmarshal(result, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, result) == nil {
		return buf.String()
	}
	return string(result)
}

// statusOf maps pool refusals to HTTP errors.
func statusOf(err error) *apiError {
	switch {
	case errors.Is(err, pool.ErrSaturated):
		return &apiError{Status: http.StatusTooManyRequests, Err: proto.Error{
			Code:    proto.CodeSaturated,
			Message: "the sandbox is at capacity; retry shortly",
		}}
	case errors.Is(err, pool.ErrNotReady):
		return &apiError{Status: http.StatusServiceUnavailable, Err: proto.Error{
			Code:    proto.CodeNotReady,
			Message: "the sandbox is starting or draining; retry shortly",
		}}
	}
	return &apiError{Status: http.StatusInternalServerError, Err: proto.Error{
		Code:    proto.CodeInternal,
		Message: "internal error in the sandbox; retry, or report the request_id",
	}}
}
