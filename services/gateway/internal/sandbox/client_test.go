package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// asError fails the test unless err is an *Error of kind k.
func asError(t *testing.T, err error, k Kind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *sandbox.Error", err, err)
	}
	if e.Kind != k {
		t.Fatalf("kind = %s, want %s (error: %v)", e.Kind, k, err)
	}
	return e
}

func TestExecuteSendsTheRequestOnceWithTokenAndRequestID(t *testing.T) {
	t.Parallel()
	f := newFakeSandbox(t, okAnswer())
	c, _ := newTestClient(t, f.srv.URL+"/", Options{})
	ctx := obs.WithRequestID(t.Context(), "edge-req.42")
	req := executeRequest()

	resp, err := c.Execute(ctx, req)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if !resp.OK || string(resp.Result) != `{"n":1}` || !resp.Structured || resp.DurationMS != 3 {
		t.Errorf("answer = %+v", resp)
	}
	r, body := f.lastRequest()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/execute" {
		t.Errorf("request = %s %s, want POST /v1/execute", r.Method, r.URL.Path)
	}
	if got := r.Header.Get(proto.HeaderServiceToken); got != testToken {
		t.Errorf("service token = %q", got)
	}
	if got := r.Header.Get(proto.HeaderRequestID); got != "edge-req.42" {
		t.Errorf("X-Request-Id = %q, want the context's id", got)
	}
	if got := r.Header.Get("Idempotency-Key"); got != "" {
		t.Errorf("Idempotency-Key = %q, want none (nothing may replay an execution)", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	// Arguments travel verbatim: big integers and <, & unescaped.
	if !strings.Contains(string(body), `"arguments":{"city":"<Paris & Co>","n":9007199254740993}`) {
		t.Errorf("body does not carry the arguments verbatim: %s", body)
	}
	var sent proto.ExecuteRequest
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatalf("decode the sent body: %v", err)
	}
	if sent.PinnedHash != req.PinnedHash || sent.ToolID != req.ToolID || sent.Limits != req.Limits {
		t.Errorf("sent %+v, want %+v", sent, req)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("the sandbox saw %d requests, want 1", n)
	}
	if got := count(c, EndpointExecute, resultOK); got != 1 {
		t.Errorf("sandbox_requests_total{execute,ok} = %v, want 1", got)
	}
}

func TestMCPCallPostsToTheMCPRoute(t *testing.T) {
	t.Parallel()
	upstream := `{"content":[{"type":"text","text":"hi"}],"isError":true}`
	f := newFakeSandbox(t, answer(http.StatusOK, proto.MCPCallResponse{
		OK: true, Result: json.RawMessage(upstream), DurationMS: 7, Session: proto.SessionNew,
	}))
	c, _ := newTestClient(t, f.srv.URL, Options{})
	req := proto.MCPCallRequest{
		RequestID: "req-2", URL: "https://mcp.example.com/mcp", Tool: "search",
		Arguments: json.RawMessage(`{}`), AllowedHosts: proto.OnlyHosts("mcp.example.com"), PinnedHash: "sha256:ff",
	}
	resp, err := c.MCPCall(t.Context(), req)
	if err != nil {
		t.Fatalf("MCPCall: %v", err)
	}
	if !resp.OK || string(resp.Result) != upstream || resp.Session != proto.SessionNew {
		t.Errorf("answer = %+v", resp)
	}
	r, body := f.lastRequest()
	if r.URL.Path != "/v1/mcp/call" {
		t.Errorf("path = %s, want /v1/mcp/call", r.URL.Path)
	}
	if got := r.Header.Get(proto.HeaderRequestID); got != "req-2" {
		t.Errorf("X-Request-Id = %q, want the body's request_id when the context has none", got)
	}
	var sent proto.MCPCallRequest
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatalf("decode the sent body: %v", err)
	}
	if sent.Tool != "search" || sent.URL != req.URL {
		t.Errorf("sent %+v", sent)
	}
	if got := count(c, EndpointMCPCall, resultOK); got != 1 {
		t.Errorf("sandbox_requests_total{mcp_call,ok} = %v, want 1", got)
	}
}

func TestGW67_A500AnswerIsSentOnceAndMayHaveRun(t *testing.T) {
	t.Parallel()
	f := newFakeSandbox(t, errorAnswer(http.StatusInternalServerError, proto.CodeInternal, "internal error in the sandbox"))
	c, _ := newTestClient(t, f.srv.URL, Options{})

	_, err := c.Execute(t.Context(), executeRequest())
	e := asError(t, err, NoResult)
	if e.Cause != "HTTP 500" || e.Status != http.StatusInternalServerError {
		t.Errorf("cause = %q, status = %d; want HTTP 500", e.Cause, e.Status)
	}
	if e.Remote == nil || e.Remote.Code != proto.CodeInternal {
		t.Errorf("remote = %+v, want the sandbox's error body", e.Remote)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("the sandbox saw %d requests, want exactly 1", n)
	}
	if got := count(c, EndpointExecute, resultHTTPError); got != 1 {
		t.Errorf("sandbox_requests_total{execute,http_error} = %v, want 1", got)
	}
}

func TestGW67_AConnectionClosedAfterTheRequestIsNotResent(t *testing.T) {
	t.Parallel()
	for _, ep := range endpoints() {
		t.Run(string(ep), func(t *testing.T) {
			t.Parallel()
			f := newFakeSandbox(t, okAnswer())
			c, _ := newTestClient(t, f.srv.URL, Options{})
			// Warm the pool first, so the failing request goes out on a
			// reused keep-alive connection, where net/http would replay a
			// replayable request.
			if _, err := c.Execute(t.Context(), executeRequest()); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
			f.set(closeAfterRead(t))
			before := f.requests.Load()

			var err error
			if ep == EndpointExecute {
				_, err = c.Execute(t.Context(), executeRequest())
			} else {
				_, err = c.MCPCall(t.Context(), proto.MCPCallRequest{Tool: "t", Arguments: json.RawMessage(`{}`), TimeoutMS: 1000})
			}
			e := asError(t, err, NoResult)
			if e.Cause != CauseConnectionLost || e.Endpoint != ep {
				t.Errorf("cause = %q, endpoint = %s; want %q, %s", e.Cause, e.Endpoint, CauseConnectionLost, ep)
			}
			if n := f.requests.Load() - before; n != 1 {
				t.Errorf("the sandbox saw %d requests, want exactly 1", n)
			}
			if got := count(c, ep, resultTransport); got != 1 {
				t.Errorf("sandbox_requests_total{%s,transport} = %v, want 1", ep, got)
			}
		})
	}
}

func TestGW68_ASandboxThatNeverAnswersTimesOutAfterToolTimeoutPlusMargin(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	f := newFakeSandbox(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	c, _ := newTestClient(t, f.srv.URL, Options{ExecMargin: 200 * time.Millisecond})
	req := executeRequest() // timeout_ms 1000

	start := time.Now()
	_, err := c.Execute(t.Context(), req)
	elapsed := time.Since(start)
	e := asError(t, err, NoResult)
	if e.Cause != "timeout after 1.2 s" {
		t.Errorf("cause = %q, want %q", e.Cause, "timeout after 1.2 s")
	}
	if elapsed < 1200*time.Millisecond {
		t.Errorf("returned after %s, before the tool timeout plus margin", elapsed)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("the sandbox saw %d requests, want 1", n)
	}
	if got := count(c, EndpointExecute, resultTimeout); got != 1 {
		t.Errorf("sandbox_requests_total{execute,timeout} = %v, want 1", got)
	}
}

func TestGW66_HashMismatchIsTypedSentOnceAndNotABreakerFailure(t *testing.T) {
	t.Parallel()
	f := newFakeSandbox(t, errorAnswer(http.StatusConflict, proto.CodeHashMismatch,
		"pinned_hash sha256:aa does not match sha256:bb recomputed from code and manifest"))
	c, _ := newTestClient(t, f.srv.URL, Options{BreakerFailures: 1})

	_, err := c.Execute(t.Context(), executeRequest())
	e := asError(t, err, HashMismatch)
	if e.Remote == nil || e.Remote.Code != proto.CodeHashMismatch || e.Status != http.StatusConflict {
		t.Errorf("error = %+v, want the 409 hash_mismatch body", e)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("the sandbox saw %d requests, want 1", n)
	}
	if c.State() != StateClosed {
		t.Errorf("breaker = %d after a hash mismatch, want closed", c.State())
	}
	if got := count(c, EndpointExecute, resultHashMismatch); got != 1 {
		t.Errorf("sandbox_requests_total{execute,hash_mismatch} = %v, want 1", got)
	}
}

func TestConnectionRefusedIsUnreachableAndABreakerFailure(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, closedURL(t), Options{BreakerFailures: 1})

	_, err := c.Execute(t.Context(), executeRequest())
	_ = asError(t, err, Unreachable)
	if got := count(c, EndpointExecute, resultTransport); got != 1 {
		t.Errorf("sandbox_requests_total{execute,transport} = %v, want 1", got)
	}
	if c.State() != StateOpen {
		t.Errorf("breaker = %d after a refused connection with threshold 1, want open", c.State())
	}
}

func TestOther4xxIsRejectedAndNeutral(t *testing.T) {
	t.Parallel()
	f := newFakeSandbox(t, errorAnswer(http.StatusBadRequest, proto.CodeInvalidRequest, "allowed_hosts: send null for any public host or [] for no network"))
	c, _ := newTestClient(t, f.srv.URL, Options{BreakerFailures: 1})

	_, err := c.Execute(t.Context(), executeRequest())
	e := asError(t, err, Rejected)
	if e.Status != http.StatusBadRequest || e.Remote == nil || e.Remote.Code != proto.CodeInvalidRequest {
		t.Errorf("error = %+v", e)
	}
	if c.State() != StateClosed {
		t.Errorf("breaker = %d after a 400, want closed", c.State())
	}
	if got := count(c, EndpointExecute, resultHTTPError); got != 1 {
		t.Errorf("sandbox_requests_total{execute,http_error} = %v, want 1", got)
	}
}

func TestABrokenAnswerIsNoResultWithoutTrippingTheBreaker(t *testing.T) {
	t.Parallel()
	cases := map[string]http.HandlerFunc{
		"not json":              func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>oops")) },
		"ok without result":     answer(http.StatusOK, map[string]any{"ok": true}),
		"failure without error": answer(http.StatusOK, map[string]any{"ok": false, "result": nil}),
		"ok with error": answer(http.StatusOK, map[string]any{
			"ok": true, "result": 1, "error": map[string]any{"type": "ToolError", "message": "x"},
		}),
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSandbox(t, h)
			c, _ := newTestClient(t, f.srv.URL, Options{BreakerFailures: 1})
			_, err := c.Execute(t.Context(), executeRequest())
			e := asError(t, err, NoResult)
			if e.Cause != CauseInvalidAnswer && !strings.HasPrefix(e.Cause, "HTTP 3") {
				t.Errorf("cause = %q", e.Cause)
			}
			if c.State() != StateClosed {
				t.Errorf("breaker = %d, want closed", c.State())
			}
			if n := f.requests.Load(); n != 1 {
				t.Errorf("the sandbox saw %d requests, want 1", n)
			}
		})
	}
}

func TestMCPCallAnswerMustCarryAnObjectResult(t *testing.T) {
	t.Parallel()
	f := newFakeSandbox(t, answer(http.StatusOK, map[string]any{"ok": true, "result": []int{1}}))
	c, _ := newTestClient(t, f.srv.URL, Options{})
	_, err := c.MCPCall(t.Context(), proto.MCPCallRequest{Tool: "t", Arguments: json.RawMessage(`{}`)})
	if e := asError(t, err, NoResult); e.Cause != CauseInvalidAnswer {
		t.Errorf("cause = %q, want %q", e.Cause, CauseInvalidAnswer)
	}
}

func TestACancelledCallIsCancelledUncountedAndNeutral(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	f := newFakeSandbox(t, func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	c, _ := newTestClient(t, f.srv.URL, Options{BreakerFailures: 1})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()

	_, err := c.Execute(ctx, executeRequest())
	_ = asError(t, err, Cancelled)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) = false for %v", err)
	}
	if c.State() != StateClosed {
		t.Errorf("breaker = %d after a cancelled call, want closed", c.State())
	}
	for _, r := range results() {
		if got := count(c, EndpointExecute, r); got != 0 {
			t.Errorf("sandbox_requests_total{execute,%s} = %v, want 0 (cancelled calls are not counted)", r, got)
		}
	}
}

func TestAnUnencodableRequestIsAPlainErrorAndSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFakeSandbox(t, okAnswer())
	c, _ := newTestClient(t, f.srv.URL, Options{})
	req := executeRequest()
	req.Arguments = json.RawMessage(`{"broken"`)
	_, err := c.Execute(t.Context(), req)
	var e *Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("err = %v, want a plain encoding error", err)
	}
	if n := f.requests.Load(); n != 0 {
		t.Errorf("the sandbox saw %d requests, want 0", n)
	}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "ftp://x", "http://", "http://u:p@host", "http://host/?q=1", "http://host/#f", "127.0.0.1:8001"} {
		if _, err := New(u, testToken, Options{}, nil); err == nil || !strings.Contains(err.Error(), "MCPBOX_SANDBOX_URL") {
			t.Errorf("New(%q) error = %v, want one naming MCPBOX_SANDBOX_URL", u, err)
		}
	}
	if _, err := New("http://127.0.0.1:8001", "", Options{}, nil); err == nil || !strings.Contains(err.Error(), "MCPBOX_SANDBOX_TOKEN") {
		t.Errorf("New without a token: error = %v, want one naming MCPBOX_SANDBOX_TOKEN", err)
	}
}

func TestSecondsFormat(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		45 * time.Second:        "45",
		1200 * time.Millisecond: "1.2",
		100 * time.Millisecond:  "0.1",
		1249 * time.Millisecond: "1.2",
		1250 * time.Millisecond: "1.3",
		315 * time.Second:       "315",
	} {
		if got := Seconds(d); got != want {
			t.Errorf("Seconds(%s) = %q, want %q", d, got, want)
		}
	}
}
