package caller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// GW-31: 10 failed tokens from one IP within 60 s make its 11th request,
// valid token included, get 429 with Retry-After (seconds until the oldest
// failure leaves the window); another IP is unaffected; after the window
// requests pass.
func TestGW31_FailedAuthThrottle(t *testing.T) {
	t.Parallel()
	rm := newRemote(t, nil)
	const attacker, bystander = "198.51.100.7", "198.51.100.8"
	for i := range 10 {
		token := []string{proto.HeaderServiceToken, "wrong"}
		if i%2 == 0 {
			token = nil // missing and wrong both count
		}
		if w := serve(rm.handler, request(attacker, token...)); w.Code != http.StatusForbidden {
			t.Fatalf("failure %d: status %d", i+1, w.Code)
		}
		rm.clock.Advance(time.Second)
	}
	// The oldest failure was 10 s ago: it leaves the window in 50 s.
	w := serve(rm.handler, request(attacker, proto.HeaderServiceToken, currentToken))
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("11th request with a valid token: status %d, want 429", w.Code)
	}
	if got := w.Header().Get("Retry-After"); got != "50" {
		t.Errorf("Retry-After = %q, want 50", got)
	}
	b := decode(t, w)
	var data rpcerr.RetryData
	if err := json.Unmarshal(b.Error.Data, &data); err != nil || data.RetryAfterS != 50 {
		t.Errorf("data %s: %v", b.Error.Data, err)
	}
	if b.Error.Code != -32081 || b.Error.Message != "Too many authentication failures from this address; retry after 50 s" {
		t.Errorf("error: %+v", b.Error)
	}
	if got := value(t, rm.reg, "mcpbox_gateway_auth_failures_total", "reason", "throttled"); got != 1 {
		t.Errorf("throttled = %v", got)
	}
	// A throttled request never reaches the token check.
	if got := value(t, rm.reg, "mcpbox_gateway_service_token_checks_total", "result", "current"); got != 0 {
		t.Errorf("token checked while throttled: %v", got)
	}

	if c := decodeCaller(t, serve(rm.handler, request(bystander, proto.HeaderServiceToken, currentToken))); c.Listener != caller.ListenerRemote {
		t.Errorf("bystander: %+v", c)
	}

	rm.clock.Advance(49 * time.Second)
	if w := serve(rm.handler, request(attacker, proto.HeaderServiceToken, currentToken)); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Errorf("1 s before the window: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	rm.clock.Advance(time.Second)
	decodeCaller(t, serve(rm.handler, request(attacker, proto.HeaderServiceToken, currentToken)))
	// The window slides: nine failures remain in it, so one more blocks
	// again until the next oldest (1 s later than the first) leaves.
	serve(rm.handler, request(attacker))
	if w := serve(rm.handler, request(attacker, proto.HeaderServiceToken, currentToken)); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Errorf("after an 11th failure: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	rm.clock.Advance(2 * time.Minute)
	decodeCaller(t, serve(rm.handler, request(attacker, proto.HeaderServiceToken, currentToken)))
}

// Valid requests do not clear earlier failures.
func TestThrottleValidRequestsDoNotClearFailures(t *testing.T) {
	t.Parallel()
	rm := newRemote(t, nil)
	for range 9 {
		serve(rm.handler, request("203.0.113.5"))
	}
	decodeCaller(t, serve(rm.handler, request("203.0.113.5", proto.HeaderServiceToken, currentToken)))
	serve(rm.handler, request("203.0.113.5"))
	if w := serve(rm.handler, request("203.0.113.5", proto.HeaderServiceToken, currentToken)); w.Code != http.StatusTooManyRequests {
		t.Errorf("status %d, want 429", w.Code)
	}
}

// The client IP is the TCP peer, never X-Forwarded-For: over a real
// loopback connection, failures sent with varying X-Forwarded-For values
// all count against 127.0.0.1.
func TestThrottleKeysOnTheTCPPeer(t *testing.T) {
	t.Parallel()
	rm := newRemote(t, nil)
	srv := httptest.NewServer(rm.handler)
	t.Cleanup(srv.Close)
	post := func(kv ...string) (int, http.Header) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/mcp", nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	for i := range 10 {
		post("X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i), "X-Real-Ip", fmt.Sprintf("192.0.2.%d", i))
	}
	code, header := post(proto.HeaderServiceToken, currentToken, "X-Forwarded-For", "192.0.2.200")
	if code != http.StatusTooManyRequests {
		t.Errorf("status %d, want 429", code)
	}
	if s, err := strconv.Atoi(header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After %q", header.Get("Retry-After"))
	}
}

// At most MaxThrottledPeers addresses are kept; the least recently seen
// goes first. Addresses whose failures all left the window are dropped.
func TestThrottleBoundsAndExpiry(t *testing.T) {
	t.Parallel()
	clk := newClock()
	th := caller.NewThrottle(2, clk.Now)
	first := netip.MustParseAddr("10.0.0.1")
	th.Fail(first)
	th.Fail(first)
	if _, blocked := th.Blocked(first); !blocked {
		t.Fatal("not blocked after the limit")
	}
	for i := range caller.MaxThrottledPeers {
		th.Fail(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}))
	}
	if n := th.Peers(); n != caller.MaxThrottledPeers {
		t.Errorf("peers = %d", n)
	}
	if _, blocked := th.Blocked(first); blocked {
		t.Error("the least recently seen address was not evicted")
	}
	clk.Advance(caller.ThrottleWindow)
	if _, blocked := th.Blocked(netip.AddrFrom4([4]byte{10, 1, 0, 1})); blocked {
		t.Error("blocked after the window")
	}
	if n := th.Peers(); n != caller.MaxThrottledPeers-1 {
		t.Errorf("expired address kept: %d peers", n)
	}
}

func TestPeerIP(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"127.0.0.1:5000":          "127.0.0.1",
		"[::1]:5000":              "::1",
		"[::ffff:192.0.2.1]:5000": "192.0.2.1",
		"[fe80::1%eth0]:5000":     "fe80::1",
		"192.0.2.9":               "192.0.2.9",
		"not an address":          "invalid IP",
	}
	for remoteAddr, want := range cases {
		r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/mcp", nil)
		r.RemoteAddr = remoteAddr
		r.Header.Set("X-Forwarded-For", "203.0.113.1")
		if got := caller.PeerIP(r).String(); got != want {
			t.Errorf("PeerIP(%q) = %q, want %q", remoteAddr, got, want)
		}
	}
}
