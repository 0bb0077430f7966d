package caller_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

// GW-28: a missing and a wrong service token get byte-identical 403
// "Authentication failed" bodies (never 401), and neither token is logged.
func TestGW28_MissingAndWrongTokenAreIndistinguishable(t *testing.T) {
	t.Parallel()
	rm := newRemote(t, nil)
	missing := serve(rm.handler, request("192.0.2.10"))
	wrong := serve(rm.handler, request("192.0.2.11", proto.HeaderServiceToken, "not-the-token-"+currentToken[:20]))
	for name, w := range map[string]int{"missing": missing.Code, "wrong": wrong.Code} {
		if w != http.StatusForbidden {
			t.Errorf("%s token: status %d, want 403", name, w)
		}
	}
	if missing.Body.String() != wrong.Body.String() {
		t.Errorf("bodies differ:\nmissing %s\nwrong   %s", missing.Body, wrong.Body)
	}
	if missing.Header().Get("Content-Type") != wrong.Header().Get("Content-Type") || missing.Header().Get("Content-Type") != "application/json" {
		t.Errorf("content types: %q %q", missing.Header().Get("Content-Type"), wrong.Header().Get("Content-Type"))
	}
	b := decode(t, missing)
	if b.Error.Code != -32083 || b.Error.Message != "Authentication failed" || b.Error.Data != nil {
		t.Errorf("error: %+v", b.Error)
	}
	if logs := rm.logs.String(); strings.Contains(logs, currentToken[:20]) {
		t.Errorf("a token reached the log: %s", logs)
	}
	if got := value(t, rm.reg, "mcpbox_gateway_auth_failures_total", "reason", "missing_token"); got != 1 {
		t.Errorf("missing_token failures = %v", got)
	}
	if got := value(t, rm.reg, "mcpbox_gateway_auth_failures_total", "reason", "wrong_token"); got != 1 {
		t.Errorf("wrong_token failures = %v", got)
	}
	if got := value(t, rm.reg, "mcpbox_gateway_service_token_checks_total", "result", "invalid"); got != 1 {
		t.Errorf("invalid checks = %v", got)
	}
}

// GW-29: MCPBOX_GATEWAY_TOKEN_PREVIOUS is accepted; a token differing in
// one byte from either is not.
func TestGW29_PreviousTokenAcceptedOneByteOffRefused(t *testing.T) {
	t.Parallel()
	rm := newRemote(t, nil)
	offByOne := func(s string) string { return s[:len(s)/2] + string(s[len(s)/2]^1) + s[len(s)/2+1:] }
	cases := []struct {
		token string
		want  int
	}{
		{currentToken, http.StatusOK},
		{previousToken, http.StatusOK},
		{offByOne(currentToken), http.StatusForbidden},
		{offByOne(previousToken), http.StatusForbidden},
		{currentToken[:len(currentToken)-1], http.StatusForbidden},
		{currentToken + "0", http.StatusForbidden},
	}
	for i, tc := range cases {
		w := serve(rm.handler, request("192.0.2.20", proto.HeaderServiceToken, tc.token))
		if w.Code != tc.want {
			t.Errorf("case %d: status %d, want %d (%s)", i, w.Code, tc.want, w.Body)
		}
		if w.Code == http.StatusOK && w.Header().Get("X-Token-Visible") != "no" {
			t.Errorf("case %d: the service token reached the next handler", i)
		}
	}
	for result, want := range map[string]float64{"current": 1, "previous": 1, "invalid": 4, "missing": 0} {
		if got := value(t, rm.reg, "mcpbox_gateway_service_token_checks_total", "result", result); got != want {
			t.Errorf("service_token_checks_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

// The header sent twice never authenticates, even when one copy is right.
func TestServiceTokenSentTwiceIsRefused(t *testing.T) {
	t.Parallel()
	rm := newRemote(t, nil)
	w := serve(rm.handler, request("192.0.2.21", proto.HeaderServiceToken, currentToken, proto.HeaderServiceToken, currentToken))
	if w.Code != http.StatusForbidden {
		t.Errorf("status %d", w.Code)
	}
}

// Authorization is not a carrier of the service token.
func TestAuthorizationIsNotAServiceToken(t *testing.T) {
	t.Parallel()
	rm := newRemote(t, nil)
	w := serve(rm.handler, request("192.0.2.22", "Authorization", "Bearer "+currentToken))
	if w.Code != http.StatusForbidden {
		t.Errorf("status %d", w.Code)
	}
}

// With MCPBOX_GATEWAY_REMOTE_ORIGINS unset any Origin passes (the edge owns
// CORS); once set, an absent or listed Origin passes and another gets 403.
func TestRemoteOriginCheckOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	open := newRemote(t, nil)
	if w := serve(open.handler, request("192.0.2.30", proto.HeaderServiceToken, currentToken, "Origin", "https://evil.example")); w.Code != http.StatusOK {
		t.Errorf("no list: status %d", w.Code)
	}
	listed := newRemote(t, []string{"https://claude.ai"})
	cases := []struct {
		origin []string
		want   int
	}{
		{nil, http.StatusOK},
		{[]string{"https://claude.ai"}, http.StatusOK},
		{[]string{"https://CLAUDE.ai:443"}, http.StatusOK},
		{[]string{"https://evil.example"}, http.StatusForbidden},
		{[]string{"http://claude.ai"}, http.StatusForbidden},
		{[]string{"null"}, http.StatusForbidden},
		{[]string{"https://claude.ai", "https://evil.example"}, http.StatusForbidden},
	}
	for _, tc := range cases {
		r := request("192.0.2.31", proto.HeaderServiceToken, currentToken)
		for _, o := range tc.origin {
			r.Header.Add("Origin", o)
		}
		w := serve(listed.handler, r)
		if w.Code != tc.want {
			t.Errorf("Origin %q: status %d, want %d", tc.origin, w.Code, tc.want)
		}
		if w.Code == http.StatusForbidden {
			if b := decode(t, w); b.Error.Code != -32080 || b.Error.Message != caller.MsgRemoteOriginRefused {
				t.Errorf("Origin %q: %+v", tc.origin, b.Error)
			}
		}
	}
	// An Origin refusal is not a failed authentication.
	if n := listed.throttle.Peers(); n != 0 {
		t.Errorf("origin refusals reached the throttle: %d peers", n)
	}
}
