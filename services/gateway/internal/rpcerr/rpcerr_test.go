package rpcerr_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

func write(ref *rpcerr.Refusal, id string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	var raw json.RawMessage
	if id != "" {
		raw = json.RawMessage(id)
	}
	ref.Write(w, raw)
	return w
}

// Each refusal writes its status, its exact body and, for 429 and 503, a
// Retry-After equal to data.retry_after_s.
func TestRefusalBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		ref        *rpcerr.Refusal
		id         string
		status     int
		retryAfter string
		body       string
	}{
		{
			"auth failed", rpcerr.AuthFailed(), "", 403, "",
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32083,"message":"Authentication failed"}}`,
		},
		{
			"throttled", rpcerr.AuthThrottled(49*time.Second + time.Millisecond), "", 429, "50",
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32081,"message":"Too many authentication failures from this address; retry after 50 s","data":{"retry_after_s":50}}}`,
		},
		{
			"rate limited", rpcerr.RateLimited(60, 300*time.Millisecond), "42", 429, "1",
			`{"jsonrpc":"2.0","id":42,"error":{"code":-32081,"message":"Rate limit exceeded: 60 requests per minute per user. Retry after 1 s.","data":{"retry_after_s":1,"limit_rpm":60}}}`,
		},
		{
			"policy", rpcerr.PolicyUnavailable(), `"a-1"`, 503, "5",
			`{"jsonrpc":"2.0","id":"a-1","error":{"code":-32082,"message":"MCPbox cannot load its remote-access policy from the backend; retry shortly","data":{"retry_after_s":5}}}`,
		},
		{
			"draining", rpcerr.ShuttingDown(), "", 503, "1",
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32082,"message":"MCPbox is shutting down; retry shortly","data":{"retry_after_s":1}}}`,
		},
		{
			"access denied in band", rpcerr.AccessDenied(200, "Access denied: a&b<c>@x.com"), "7", 200, "",
			`{"jsonrpc":"2.0","id":7,"error":{"code":-32080,"message":"Access denied: a&b<c>@x.com"}}`,
		},
		{
			"invalid request", rpcerr.InvalidRequest(413, "Request body exceeds 1048576 bytes"), "", 413, "",
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Request body exceeds 1048576 bytes"}}`,
		},
		{
			"parse error", rpcerr.ParseError(), "", 400, "",
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`,
		},
		{
			"malformed id", rpcerr.ParseError(), "{", 400, "",
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := write(tc.ref, tc.id)
			if w.Code != tc.status || w.Header().Get("Retry-After") != tc.retryAfter || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("status %d, Retry-After %q, Content-Type %q", w.Code, w.Header().Get("Retry-After"), w.Header().Get("Content-Type"))
			}
			if got := w.Body.String(); got != tc.body+"\n" {
				t.Errorf("body\n got %s\nwant %s", got, tc.body)
			}
		})
	}
}

// Equal refusals give byte-identical bodies (GW-28 relies on it).
func TestBodiesAreDeterministic(t *testing.T) {
	t.Parallel()
	a, b := write(rpcerr.AuthFailed(), ""), write(rpcerr.AuthFailed(), "null")
	if a.Body.String() != b.Body.String() {
		t.Errorf("%s != %s", a.Body, b.Body)
	}
}

func TestSeconds(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]int{
		0: 1, -time.Second: 1, time.Nanosecond: 1, time.Second: 1, time.Second + 1: 2, 59500 * time.Millisecond: 60,
	} {
		if got := rpcerr.Seconds(d); got != want {
			t.Errorf("Seconds(%v) = %d, want %d", d, got, want)
		}
	}
}

// The exported Body decodes what Write sends.
func TestBodyRoundTrip(t *testing.T) {
	t.Parallel()
	w := write(rpcerr.RateLimited(120, 2*time.Second), `"x"`)
	var b rpcerr.Body
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	var data rpcerr.RateLimitData
	if err := json.Unmarshal(b.Error.Data, &data); err != nil || data != (rpcerr.RateLimitData{RetryAfterS: 2, LimitRPM: 120}) {
		t.Errorf("data %s: %v", b.Error.Data, err)
	}
	if string(b.ID) != `"x"` || b.Error.Code != rpcerr.CodeRateLimited || w.Code != http.StatusTooManyRequests {
		t.Errorf("%+v", b)
	}
}
