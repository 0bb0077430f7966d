package sandboxclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

func TestNewRejectsBadConfiguration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, token, want string }{
		{"", testToken, "MCPBOX_SANDBOX_URL"},
		{"127.0.0.1:8001", testToken, "MCPBOX_SANDBOX_URL"},
		{"ftp://sandbox:8001", testToken, "MCPBOX_SANDBOX_URL"},
		{"http://", testToken, "MCPBOX_SANDBOX_URL"},
		{"http://sandbox:8001/?x=1", testToken, "MCPBOX_SANDBOX_URL"},
		{"http://sandbox:8001/#f", testToken, "MCPBOX_SANDBOX_URL"},
		{"http://admin:hunter2@sandbox:8001", testToken, "MCPBOX_SANDBOX_URL"},
		{"http://sandbox:8001", "", "MCPBOX_SANDBOX_TOKEN"},
	} {
		t.Run(tc.url+"|"+tc.token, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.url, tc.token, prometheus.NewRegistry())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%q) = %v, want an error naming %s", tc.url, err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error shows the URL's password: %v", err)
			}
		})
	}
	t.Run("second client on one registry", func(t *testing.T) {
		t.Parallel()
		reg := prometheus.NewRegistry()
		if _, err := New("http://127.0.0.1:8001", testToken, reg); err != nil {
			t.Fatal(err)
		}
		if _, err := New("http://127.0.0.1:8001", testToken, reg); err == nil {
			t.Fatal("a second client registered the same metrics without an error")
		}
	})
}

// Every op succeeds against the fake, sends the service token (not to
// /readyz), propagates the request id and decodes the answer.
func TestCallsSucceedWithHeaders(t *testing.T) {
	t.Parallel()
	for _, tc := range opCases() {
		t.Run(string(tc.op), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, map[string]http.HandlerFunc{tc.path: answer(http.StatusOK, tc.answer)})
			c, reg := newTestClient(t, f.srv.URL+"/")
			ctx := obs.WithRequestID(t.Context(), testRequestID)
			got, err := tc.call(ctx, c)
			if err != nil {
				t.Fatalf("%s: %v", tc.op, err)
			}
			if !reflect.DeepEqual(roundTrip(t, got), roundTrip(t, tc.answer)) {
				t.Fatalf("%s answer = %+v, want %+v", tc.op, got, tc.answer)
			}
			req := f.lastOf(t, tc.path)
			if id := req.header.Get(proto.HeaderRequestID); id != testRequestID {
				t.Errorf("X-Request-Id = %q, want %q", id, testRequestID)
			}
			token := req.header.Get(proto.HeaderServiceToken)
			switch {
			case tc.op == OpReadyz && token != "":
				t.Errorf("/readyz got the service token; it must be sent only to /v1")
			case tc.op != OpReadyz && token != testToken:
				t.Errorf("%s = %q, want the configured token", proto.HeaderServiceToken, token)
			}
			if req.header.Get("Authorization") != "" {
				t.Errorf("Authorization was sent; the token's only carrier is %s", proto.HeaderServiceToken)
			}
			if len(req.body) > 0 && req.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", req.header.Get("Content-Type"))
			}
			if f.hitsOf(tc.path) != 1 {
				t.Errorf("%d requests, want 1", f.hitsOf(tc.path))
			}
			if v := counterValue(t, reg, tc.op, resultOK); v != 1 {
				t.Errorf("requests_total{op=%s,result=ok} = %v, want 1", tc.op, v)
			}
			if n := histogramCount(t, reg, tc.op); n != 1 {
				t.Errorf("duration count{op=%s} = %d, want 1", tc.op, n)
			}
		})
	}
}

// roundTrip normalises a value through JSON, so answers compare by content.
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The request bodies carry the caller's values as proto types, unchanged.
func TestRequestBodies(t *testing.T) {
	t.Parallel()
	routes := map[string]http.HandlerFunc{}
	for _, tc := range opCases() {
		routes[tc.path] = answer(http.StatusOK, tc.answer)
	}
	f := newFake(t, routes)
	c, _ := newTestClient(t, f.srv.URL)
	for _, tc := range opCases() {
		if _, err := tc.call(t.Context(), c); err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
	}
	var an proto.AnalyzeRequest
	mustDecode(t, f.lastOf(t, proto.PathSandboxAnalyze).body, &an)
	if an.Code != testCode || !an.Compile {
		t.Errorf("analyze body = %+v, want the code with compile: true", an)
	}
	var ex proto.ExecuteRequest
	mustDecode(t, f.lastOf(t, proto.PathSandboxExecute).body, &ex)
	if ex.Limits.TimeoutMS != 1000 || ex.Secrets["API_KEY"] == nil || *ex.Secrets["API_KEY"] != testSecret ||
		!ex.AllowedHosts.Set || len(ex.AllowedHosts.Hosts) != 1 {
		t.Errorf("execute body = %+v", ex)
	}
	var fe proto.FetchRequest
	mustDecode(t, f.lastOf(t, proto.PathSandboxFetch).body, &fe)
	if fe.Purpose != proto.FetchOAuth || fe.Method != http.MethodPost {
		t.Errorf("fetch body = %+v", fe)
	}
	for _, p := range []string{proto.PathSandboxPackages, proto.PathReadyz} {
		if b := f.lastOf(t, p).body; len(b) != 0 {
			t.Errorf("GET %s sent a body: %q", p, b)
		}
	}
}

func mustDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
}

// wantKind asserts that err is an *Error of kind k for op.
func wantKind(t *testing.T, err error, op Op, k Kind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want a *sandboxclient.Error", err, err)
	}
	if e.Kind != k || e.Op != op {
		t.Fatalf("error = %v: kind %v op %s, want kind %v op %s", err, e.Kind, e.Op, k, op)
	}
	return e
}

// A 5xx is Unavailable at once: 5xx answers are never retried, not even
// for the ops retried on connect errors.
func TestServerErrorIsUnavailable(t *testing.T) {
	t.Parallel()
	for _, tc := range opCases() {
		for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
			t.Run(fmt.Sprintf("%s/%d", tc.op, status), func(t *testing.T) {
				t.Parallel()
				body := proto.ErrorBody{Error: proto.Error{Code: proto.CodeNotReady, Message: "the sandbox is starting"}}
				f := newFake(t, map[string]http.HandlerFunc{tc.path: answer(status, body)})
				c, reg := newTestClient(t, f.srv.URL)
				_, err := tc.call(t.Context(), c)
				e := wantKind(t, err, tc.op, Unavailable)
				if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrMalformed) {
					t.Errorf("errors.Is does not match the kind: %v", err)
				}
				if e.HTTPStatus != status || e.Status() != http.StatusServiceUnavailable || e.Code() != proto.CodeSandboxUnavailable {
					t.Errorf("status %d → (%d, %d, %s)", status, e.HTTPStatus, e.Status(), e.Code())
				}
				if e.RetryAfterSeconds() < 1 {
					t.Errorf("RetryAfterSeconds = %d; a 503 always carries Retry-After", e.RetryAfterSeconds())
				}
				if e.Remote == nil || e.Remote.Code != proto.CodeNotReady {
					t.Errorf("Remote = %+v, want the decoded not_ready body", e.Remote)
				}
				if n := f.hitsOf(tc.path); n != 1 {
					t.Errorf("%d attempts, want 1 (5xx is not retried)", n)
				}
				if v := counterValue(t, reg, tc.op, resultUnavailable); v != 1 {
					t.Errorf("requests_total{result=unavailable} = %v, want 1", v)
				}
			})
		}
	}
}

// A closed listener (connection refused) is Unavailable after exactly 3
// connection attempts for analyze, discover and packages and 1 for
// execute, fetch and readyz; the metrics count one logical call.
func TestConnectErrorRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range opCases() {
		t.Run(string(tc.op), func(t *testing.T) {
			t.Parallel()
			var dials atomic.Int32
			c, reg := newTestClient(t, deadAddress(t), WithHTTPClient(countingClient(&dials)))
			_, err := tc.call(t.Context(), c)
			e := wantKind(t, err, tc.op, Unavailable)
			want := 1
			if tc.retried {
				want = 3
			}
			if got := int(dials.Load()); got != want || e.Attempts != want {
				t.Fatalf("%d connection attempts (Attempts %d), want %d", got, e.Attempts, want)
			}
			if e.Timeout || e.HTTPStatus != 0 {
				t.Errorf("a refused connection reported Timeout %v, HTTPStatus %d", e.Timeout, e.HTTPStatus)
			}
			if v := counterValue(t, reg, tc.op, resultUnavailable); v != 1 {
				t.Errorf("requests_total{result=unavailable} = %v, want 1 (one per logical call)", v)
			}
			if n := histogramCount(t, reg, tc.op); n != 1 {
				t.Errorf("duration count = %d, want 1 (one per logical call)", n)
			}
		})
	}
}

// A connection refused twice and then accepted succeeds on the third
// attempt.
func TestConnectErrorThenSuccess(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string]http.HandlerFunc{proto.PathSandboxAnalyze: answer(http.StatusOK, opCases()[0].answer)})
	dead := strings.TrimPrefix(deadAddress(t), "http://")
	live := strings.TrimPrefix(f.srv.URL, "http://")
	var dials atomic.Int32
	hc := countingClient(&dials)
	inner := hc.Transport.(*http.Transport).DialContext
	hc.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		if dials.Load() < 2 {
			return inner(ctx, network, dead)
		}
		return inner(ctx, network, live)
	}
	c, reg := newTestClient(t, f.srv.URL, WithHTTPClient(hc))
	if _, err := c.Analyze(t.Context(), proto.AnalyzeRequest{Code: testCode, Compile: true}); err != nil {
		t.Fatalf("analyze after two refused connections: %v", err)
	}
	if dials.Load() != 3 || f.hitsOf(proto.PathSandboxAnalyze) != 1 {
		t.Fatalf("%d dials, %d requests; want 3 and 1", dials.Load(), f.hitsOf(proto.PathSandboxAnalyze))
	}
	if v := counterValue(t, reg, OpAnalyze, resultOK); v != 1 {
		t.Errorf("requests_total{result=ok} = %v, want 1", v)
	}
}

// A 429 saturated is Busy with the sandbox's Retry-After (1 s without one).
func TestBusy(t *testing.T) {
	t.Parallel()
	body := proto.ErrorBody{Error: proto.Error{Code: proto.CodeSaturated, Message: "4 executions running, 16 queued; retry shortly"}}
	for _, tc := range []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"absent", "", time.Second},
		{"garbage", "soon", time.Second},
		{"capped", "86400", time.Minute},
		{"date", time.Now().Add(90 * time.Minute).UTC().Format(http.TimeFormat), time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := func(w http.ResponseWriter, _ *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				writeJSON(w, http.StatusTooManyRequests, body)
			}
			f := newFake(t, map[string]http.HandlerFunc{proto.PathSandboxExecute: h})
			c, reg := newTestClient(t, f.srv.URL)
			_, err := opCases()[1].call(t.Context(), c)
			e := wantKind(t, err, OpExecute, Busy)
			if !errors.Is(err, ErrBusy) {
				t.Errorf("errors.Is(err, ErrBusy) = false")
			}
			if e.RetryAfter != tc.want {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tc.want)
			}
			if e.Status() != http.StatusServiceUnavailable || e.Code() != proto.CodeBusy ||
				e.RetryAfterSeconds() != int(tc.want/time.Second) {
				t.Errorf("maps to (%d, %s, Retry-After %d)", e.Status(), e.Code(), e.RetryAfterSeconds())
			}
			if e.Remote == nil || e.Remote.Code != proto.CodeSaturated {
				t.Errorf("Remote = %+v", e.Remote)
			}
			if v := counterValue(t, reg, OpExecute, resultUnavailable); v != 1 {
				t.Errorf("requests_total{result=unavailable} = %v, want 1", v)
			}
		})
	}
}

// Answers that do not decode or break the contract are Malformed (502
// sandbox_error).
func TestMalformed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		path    string
		op      Op
		handler http.HandlerFunc
	}{
		{"garbage", proto.PathSandboxAnalyze, OpAnalyze, raw(http.StatusOK, "<html>proxy error</html>")},
		{"truncated", proto.PathSandboxAnalyze, OpAnalyze, raw(http.StatusOK, `{"ok":true,"code_sha256":"sha256:`)},
		{"trailing data", proto.PathSandboxPackages, OpPackages, raw(http.StatusOK, `{"catalogue_version":"cat-1","packages":[]} {}`)},
		{"wrong type", proto.PathSandboxExecute, OpExecute, raw(http.StatusOK, `{"ok":"yes"}`)},
		{"null", proto.PathSandboxAnalyze, OpAnalyze, raw(http.StatusOK, `null`)},
		{"analyze ok with an error diagnostic", proto.PathSandboxAnalyze, OpAnalyze, answer(http.StatusOK, proto.AnalyzeResponse{
			OK: true, CodeSHA256: "sha256:00", AnalyzerVersion: "v",
			Diagnostics: []proto.Diagnostic{{Severity: proto.SeverityError, Type: proto.ErrTypeSyntaxError, Message: "x"}},
		})},
		{"execute ok with error", proto.PathSandboxExecute, OpExecute, answer(http.StatusOK, proto.ExecuteResponse{
			OK: true, Error: &proto.ExecutionError{Type: proto.ErrTypeToolError, Message: "x"},
		})},
		{"execute failure without error", proto.PathSandboxExecute, OpExecute, answer(http.StatusOK, proto.ExecuteResponse{})},
		{"discover failure without error", proto.PathSandboxDiscover, OpDiscover, answer(http.StatusOK, proto.DiscoverResponse{})},
		{"fetch ok without status", proto.PathSandboxFetch, OpFetch, answer(http.StatusOK, proto.FetchResponse{OK: true})},
		{"catalogue without version", proto.PathSandboxPackages, OpPackages, answer(http.StatusOK, proto.PackageCatalogue{})},
		{"catalogue with unknown tier", proto.PathSandboxPackages, OpPackages, answer(http.StatusOK, proto.PackageCatalogue{
			CatalogueVersion: "c", Packages: []proto.Package{{Path: "os", Tier: "maybe"}},
		})},
		{"readyz 200 but starting", proto.PathReadyz, OpReadyz, answer(http.StatusOK, proto.SandboxReadiness{
			Status: proto.ReadinessStarting, Isolation: proto.IsolationFull,
		})},
		{"readyz unknown status", proto.PathReadyz, OpReadyz, answer(http.StatusOK, map[string]any{"status": "fine", "isolation": "full"})},
		{"4xx without envelope", proto.PathSandboxFetch, OpFetch, raw(http.StatusBadRequest, "bad request")},
		{"redirect", proto.PathSandboxAnalyze, OpAnalyze, raw(http.StatusFound, "", "Location", "/elsewhere")},
		{"no content", proto.PathSandboxExecute, OpExecute, raw(http.StatusNoContent, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, map[string]http.HandlerFunc{tc.path: tc.handler, "/elsewhere": answer(http.StatusOK, map[string]any{})})
			c, reg := newTestClient(t, f.srv.URL)
			var call func(context.Context, *Client) (any, error)
			for _, oc := range opCases() {
				if oc.op == tc.op {
					call = oc.call
				}
			}
			_, err := call(t.Context(), c)
			e := wantKind(t, err, tc.op, Malformed)
			if !errors.Is(err, ErrMalformed) || e.Status() != http.StatusBadGateway || e.Code() != proto.CodeSandboxError {
				t.Errorf("maps to (%d, %s)", e.Status(), e.Code())
			}
			if e.RetryAfterSeconds() != 0 {
				t.Errorf("a 502 carries no Retry-After, got %d", e.RetryAfterSeconds())
			}
			if f.hitsOf("/elsewhere") != 0 {
				t.Errorf("the client followed a redirect")
			}
			if v := counterValue(t, reg, tc.op, resultError); v != 1 {
				t.Errorf("requests_total{result=error} = %v, want 1", v)
			}
		})
	}
}

// A 4xx with the error envelope is Refused and carries it, so the caller can
// map a 409 hash_mismatch or a 400 naming a field.
func TestRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		body   proto.Error
	}{
		{http.StatusConflict, proto.Error{Code: proto.CodeHashMismatch, Message: "pinned_hash does not match code and manifest"}},
		{http.StatusBadRequest, proto.Error{Code: proto.CodeInvalidRequest, Message: "limits.timeout_ms: at least 100", Field: "limits.timeout_ms"}},
		{http.StatusUnauthorized, proto.Error{Code: proto.CodeUnauthenticated, Message: "service token missing or wrong"}},
		{http.StatusRequestEntityTooLarge, proto.Error{Code: proto.CodeRequestTooLarge, Message: "body over 2 MiB"}},
	} {
		t.Run(tc.body.Code, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, map[string]http.HandlerFunc{proto.PathSandboxExecute: answer(tc.status, proto.ErrorBody{Error: tc.body})})
			c, reg := newTestClient(t, f.srv.URL)
			_, err := opCases()[1].call(t.Context(), c)
			e := wantKind(t, err, OpExecute, Refused)
			if !errors.Is(err, ErrRefused) || errors.Is(err, ErrUnavailable) {
				t.Errorf("errors.Is does not match Refused")
			}
			if e.HTTPStatus != tc.status || e.Remote == nil || !reflect.DeepEqual(*e.Remote, tc.body) {
				t.Errorf("HTTPStatus %d Remote %+v, want %d %+v", e.HTTPStatus, e.Remote, tc.status, tc.body)
			}
			if e.Status() != http.StatusBadGateway || e.Code() != proto.CodeSandboxError {
				t.Errorf("default mapping (%d, %s), want 502 sandbox_error", e.Status(), e.Code())
			}
			if v := counterValue(t, reg, OpExecute, resultError); v != 1 {
				t.Errorf("requests_total{result=error} = %v, want 1", v)
			}
		})
	}
}

// Each op gives up at its deadline (shortened here) with Unavailable and
// Timeout set, and the stalled sandbox request is cancelled.
func TestDeadlineEnforced(t *testing.T) {
	t.Parallel()
	for _, tc := range opCases() {
		t.Run(string(tc.op), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, map[string]http.HandlerFunc{tc.path: stall})
			c, reg := newTestClient(t, f.srv.URL, withDeadline(tc.op, 50*time.Millisecond))
			_, err := tc.call(t.Context(), c)
			e := wantKind(t, err, tc.op, Unavailable)
			if !e.Timeout || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Timeout %v, errors.Is(DeadlineExceeded) %v: %v", e.Timeout, errors.Is(err, context.DeadlineExceeded), err)
			}
			if n := f.hitsOf(tc.path); n != 1 {
				t.Errorf("%d attempts, want 1 (a timeout is not a connect error)", n)
			}
			if v := counterValue(t, reg, tc.op, resultUnavailable); v != 1 {
				t.Errorf("requests_total{result=unavailable} = %v, want 1", v)
			}
		})
	}
}

// The deadlines of the table of backend.md §11.1.
func TestDeadlinesOfTheTable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		got, want time.Duration
	}{
		{"execute 1 s", executeDeadline(proto.ExecuteRequest{Limits: proto.Limits{TimeoutMS: 1000}}), 16 * time.Second},
		{"execute 300 s", executeDeadline(proto.ExecuteRequest{Limits: proto.Limits{TimeoutMS: 300_000}}), 315 * time.Second},
		{"discover 30 s", discoverDeadline(proto.DiscoverRequest{TimeoutMS: 30_000}), 35 * time.Second},
		{"discover default", discoverDeadline(proto.DiscoverRequest{}), 35 * time.Second},
		{"discover 60 s", discoverDeadline(proto.DiscoverRequest{TimeoutMS: 60_000}), 65 * time.Second},
		{"fetch oauth", fetchDeadline(proto.FetchRequest{TimeoutMS: 15_000}), 20 * time.Second},
		{"fetch selfcheck", fetchDeadline(proto.FetchRequest{TimeoutMS: 10_000}), 15 * time.Second},
		{"fetch default", fetchDeadline(proto.FetchRequest{}), 20 * time.Second},
		{"analyze", analyzeDeadline, 20 * time.Second},
		{"packages", packagesDeadline, 5 * time.Second},
		{"readyz", readyzDeadline, 2 * time.Second},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: deadline %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if clientTimeout < executeDeadline(proto.ExecuteRequest{Limits: proto.Limits{TimeoutMS: proto.MaxExecTimeoutMS}}) {
		t.Errorf("the http.Client timeout %v cuts the longest execution", clientTimeout)
	}
}

// A caller that cancels gets an error at once; the metric counts it as
// error, not as the sandbox being unavailable.
func TestCallerCancellation(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string]http.HandlerFunc{proto.PathSandboxDiscover: stall})
	c, reg := newTestClient(t, f.srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for f.hitsOf(proto.PathSandboxDiscover) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := opCases()[2].call(ctx, c)
	e := wantKind(t, err, OpDiscover, Unavailable)
	if !errors.Is(err, context.Canceled) || e.Timeout {
		t.Errorf("cancelled call: %v (Timeout %v)", err, e.Timeout)
	}
	if v := counterValue(t, reg, OpDiscover, resultError); v != 1 {
		t.Errorf("requests_total{result=error} = %v, want 1", v)
	}
	if v := counterValue(t, reg, OpDiscover, resultUnavailable); v != 0 {
		t.Errorf("requests_total{result=unavailable} = %v, want 0", v)
	}
}

// A 503 with a readiness body is an answer; a 503 without one is
// Unavailable.
func TestReadyNotReady(t *testing.T) {
	t.Parallel()
	starting := proto.SandboxReadiness{Status: proto.ReadinessStarting, Warm: 0, Starting: 2, Isolation: proto.IsolationFull}
	f := newFake(t, map[string]http.HandlerFunc{proto.PathReadyz: answer(http.StatusServiceUnavailable, starting)})
	c, reg := newTestClient(t, f.srv.URL)
	got, err := c.Ready(t.Context())
	if err != nil || got != starting {
		t.Fatalf("Ready = %+v, %v; want %+v and no error", got, err, starting)
	}
	if v := counterValue(t, reg, OpReadyz, resultOK); v != 1 {
		t.Errorf("requests_total{op=readyz,result=ok} = %v, want 1", v)
	}

	g := newFake(t, map[string]http.HandlerFunc{proto.PathReadyz: raw(http.StatusServiceUnavailable, "upstream connect error", "Retry-After", "3")})
	c2, _ := newTestClient(t, g.srv.URL)
	_, err = c2.Ready(t.Context())
	e := wantKind(t, err, OpReadyz, Unavailable)
	if e.HTTPStatus != http.StatusServiceUnavailable || e.RetryAfter != 3*time.Second || e.RetryAfterSeconds() != 3 {
		t.Errorf("HTTPStatus %d RetryAfter %v", e.HTTPStatus, e.RetryAfter)
	}
}

// Every op × result series exists from the start, at zero.
func TestMetricsStartAtZero(t *testing.T) {
	t.Parallel()
	c, reg := newTestClient(t, "http://127.0.0.1:8001")
	if n := testutil.CollectAndCount(reg, "mcpbox_backend_sandbox_requests_total"); n != len(ops())*3 {
		t.Fatalf("%d request series, want %d", n, len(ops())*3)
	}
	if n := testutil.CollectAndCount(reg, "mcpbox_backend_sandbox_request_duration_seconds"); n != len(ops()) {
		t.Fatalf("%d duration series, want %d", n, len(ops()))
	}
	if v := testutil.ToFloat64(c.metrics.requests.WithLabelValues(string(OpExecute), resultOK)); v != 0 {
		t.Fatalf("execute ok = %v before any call", v)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("promlint: %v %v", problems, err)
	}
}

// Error and Message never show the token, the code or secret values, for
// every kind of failure.
func TestMessagesHoldNoSecrets(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]http.HandlerFunc{
		"unavailable": answer(http.StatusInternalServerError, proto.ErrorBody{Error: proto.Error{Code: proto.CodeInternal, Message: "internal error"}}),
		"busy":        answer(http.StatusTooManyRequests, proto.ErrorBody{Error: proto.Error{Code: proto.CodeSaturated, Message: "retry"}}),
		"malformed":   raw(http.StatusOK, `{"ok":true,"error":{"type":"ToolError","message":"x"}}`),
		"refused":     answer(http.StatusConflict, proto.ErrorBody{Error: proto.Error{Code: proto.CodeHashMismatch, Message: "pinned_hash differs"}}),
		"timeout":     stall,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, map[string]http.HandlerFunc{proto.PathSandboxExecute: h})
			c, _ := newTestClient(t, f.srv.URL, withDeadline(OpExecute, 50*time.Millisecond))
			_, err := opCases()[1].call(t.Context(), c)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			for _, text := range []string{err.Error(), e.Message(), fmt.Sprintf("%+v", err)} {
				for _, secret := range []string{testToken, testSecret, "hello-from-tool-code"} {
					if strings.Contains(text, secret) {
						t.Fatalf("%q contains %q", text, secret)
					}
				}
			}
			if e.Message() == "" || !strings.Contains(e.Message(), "execute") && e.Kind != Busy {
				t.Errorf("Message = %q; it should name the call", e.Message())
			}
		})
	}
}

// errors.Is and errors.As see through wrapping.
func TestErrorWrapping(t *testing.T) {
	t.Parallel()
	inner := &Error{Op: OpAnalyze, Kind: Busy, HTTPStatus: 429, RetryAfter: 2 * time.Second}
	err := fmt.Errorf("create tool: %w", inner)
	if !errors.Is(err, ErrBusy) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRefused) || errors.Is(err, ErrMalformed) {
		t.Fatal("errors.Is does not follow Kind through wrapping")
	}
	var e *Error
	if !errors.As(err, &e) || e.RetryAfterSeconds() != 2 {
		t.Fatal("errors.As lost the *Error")
	}
	for k, want := range map[Kind]string{Unavailable: "unavailable", Busy: "busy", Malformed: "malformed", Refused: "refused", 0: "kind(0)"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), k.String(), want)
		}
	}
}
