package mcpserve_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
)

// initSession initialises a hybrid session on listener and returns its id
// ("" when none was issued).
func initSession(t *testing.T, h *mcpservetest.Harness, listener string, hdr http.Header) string {
	t.Helper()
	resp := post(t, h, listener, mcpservetest.InitializeBody(1, "2025-11-25"), hdr)
	id := resp.Header.Get("Mcp-Session-Id")
	if m := resp.Response(t); m.Error != nil {
		t.Fatalf("initialize: %+v", m.Error)
	}
	return id
}

// sessionStatus sends a session request (a tools/list when method is
// POST; a GET stream is closed once its status arrived) and returns its
// status.
func sessionStatus(t *testing.T, h *mcpservetest.Harness, listener, method, id string, hdr http.Header) int {
	t.Helper()
	req := mcpservetest.Req{Method: method, Listener: listener, Header: merge(hdr, mcpservetest.Headers("Mcp-Protocol-Version", "2025-11-25"))}
	if id != "" {
		req.Header.Set("Mcp-Session-Id", id)
	}
	if method == http.MethodPost {
		req.Body = mcpservetest.Body(9, "tools/list", nil)
	}
	if method == http.MethodGet {
		resp := h.Stream(t, req)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	return h.Do(t, req).Status
}

// sessionEvents returns mcpbox_gateway_session_events_total{event}.
func sessionEvents(h *mcpservetest.Harness, event string) float64 {
	mfs, err := h.Reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != "mcpbox_gateway_session_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == event {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

// gaugeValue returns the value of gauge name{listener}, -1 when absent.
func gaugeValue(h *mcpservetest.Harness, name, listener string) float64 {
	mfs, err := h.Reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == listener {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// GW-9: hybrid: an unknown session id gets 404; an initialize carrying a
// stale id or a 2026 version header creates a new session.
func TestGW9_UnknownSessionAndCleanedInitialize(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid})
	if got := sessionStatus(t, h, caller.ListenerLocal, http.MethodPost, "NOSUCHSESSION", nil); got != http.StatusNotFound {
		t.Errorf("unknown session: status %d", got)
	}
	first := initSession(t, h, caller.ListenerLocal, nil)
	for _, hdr := range []http.Header{
		mcpservetest.Headers("Mcp-Session-Id", "STALE0000000000000000000000"),
		mcpservetest.Headers("Mcp-Session-Id", first),
		mcpservetest.Headers("Mcp-Protocol-Version", mcpservetest.Modern),
		mcpservetest.Headers("Mcp-Protocol-Version", "1999-01-01"),
	} {
		id := initSession(t, h, caller.ListenerLocal, hdr)
		if id == "" || id == first {
			t.Errorf("initialize with %v: session %q", hdr, id)
		}
		if got := sessionStatus(t, h, caller.ListenerLocal, http.MethodPost, id, nil); got != http.StatusOK {
			t.Errorf("new session %q: status %d", id, got)
		}
	}
}

// GW-10: stateless: GET /mcp and DELETE /mcp get 405 with Allow: POST (so
// does PUT).
func TestGW10_StatelessGetDelete405(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeStateless})
	for _, l := range []string{caller.ListenerLocal, caller.ListenerRemote} {
		for _, method := range []string{http.MethodGet, http.MethodDelete, http.MethodPut} {
			resp := h.Do(t, mcpservetest.Req{Method: method, Listener: l, Header: remoteUser("a@example.com")})
			if resp.Status != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
				t.Errorf("%s %s: status %d, Allow %q", l, method, resp.Status, resp.Header.Get("Allow"))
			}
		}
	}
}

// GW-11: hybrid: DELETE with a live session gets 204, then 404; without the
// header 400; PUT /mcp gets 405 with Allow: GET, POST, DELETE.
func TestGW11_DeleteSession(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid})
	id := initSession(t, h, caller.ListenerLocal, nil)
	if got := sessionStatus(t, h, caller.ListenerLocal, http.MethodDelete, id, nil); got != http.StatusNoContent {
		t.Errorf("DELETE: status %d", got)
	}
	if got := sessionStatus(t, h, caller.ListenerLocal, http.MethodDelete, id, nil); got != http.StatusNotFound {
		t.Errorf("second DELETE: status %d", got)
	}
	if got := sessionStatus(t, h, caller.ListenerLocal, http.MethodPost, id, nil); got != http.StatusNotFound {
		t.Errorf("POST after DELETE: status %d", got)
	}
	if got := sessionStatus(t, h, caller.ListenerLocal, http.MethodDelete, "", nil); got != http.StatusBadRequest {
		t.Errorf("DELETE without a session id: status %d", got)
	}
	resp := h.Do(t, mcpservetest.Req{Method: http.MethodPut, Body: "{}"})
	if resp.Status != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, POST, DELETE" {
		t.Errorf("PUT: status %d, Allow %q", resp.Status, resp.Header.Get("Allow"))
	}
	if got := sessionEvents(h, "closed"); got != 1 {
		t.Errorf("closed events = %v", got)
	}
}

// GW-12: hybrid: a session created by remote user A and used by user B
// gets 403; A can use it.
func TestGW12_ForeignSession(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid})
	alice, bob := remoteUser("alice@example.com"), remoteUser("bob@example.com")
	id := initSession(t, h, caller.ListenerRemote, alice)
	for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		if got := sessionStatus(t, h, caller.ListenerRemote, method, id, bob); got != http.StatusForbidden {
			t.Errorf("B %s: status %d", method, got)
		}
	}
	if got := sessionStatus(t, h, caller.ListenerRemote, http.MethodPost, id, alice); got != http.StatusOK {
		t.Errorf("A: status %d", got)
	}
}

// GW-13: hybrid: a session idle longer than the timeout gets 404; the
// session index drops it at its next check (closed event, gauge 0).
func TestGW13_IdleTimeout(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{
		Mode: mcpserve.ModeHybrid, SessionIdle: 200 * time.Millisecond, PruneInterval: 50 * time.Millisecond,
	})
	id := initSession(t, h, caller.ListenerLocal, nil)
	if got := sessionStatus(t, h, caller.ListenerLocal, http.MethodPost, id, nil); got != http.StatusOK {
		t.Fatalf("fresh session: status %d", got)
	}
	// Every request restarts the idle timer: look only after a quiet spell
	// well past the timeout, a few times on a slow machine.
	for range 5 {
		time.Sleep(time.Second)
		if got := sessionStatus(t, h, caller.ListenerLocal, http.MethodPost, id, nil); got == http.StatusNotFound {
			mcpservetest.Eventually(t, "the index to drop the expired session", func() bool {
				return sessionEvents(h, "closed") == 1 && gaugeValue(h, "mcpbox_gateway_sessions", "local") == 0
			})
			return
		}
	}
	t.Error("the session outlived its idle timeout")
}

// GW-14: hybrid: the per-caller cap + 1 initialize closes that caller's
// least recently used session (it then gets 404) and counts evicted; at
// the global cap, initialize succeeds without a session id and
// session_events_total{event="cap_fallback"} increments.
func TestGW14_SessionCaps(t *testing.T) {
	t.Parallel()
	t.Run("per caller", func(t *testing.T) {
		t.Parallel()
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid, MaxSessionsPerCaller: 2})
		a := initSession(t, h, caller.ListenerLocal, nil)
		b := initSession(t, h, caller.ListenerLocal, nil)
		// a is used after b: b is the least recently used.
		if got := sessionStatus(t, h, caller.ListenerLocal, http.MethodPost, a, nil); got != http.StatusOK {
			t.Fatalf("a: status %d", got)
		}
		other := initSession(t, h, caller.ListenerRemote, remoteUser("x@example.com"))
		c := initSession(t, h, caller.ListenerLocal, nil)
		if c == "" || other == "" {
			t.Fatalf("sessions %q %q", c, other)
		}
		mcpservetest.Eventually(t, "the LRU session to close", func() bool {
			return sessionStatus(t, h, caller.ListenerLocal, http.MethodPost, b, nil) == http.StatusNotFound
		})
		for _, id := range []string{a, c} {
			if got := sessionStatus(t, h, caller.ListenerLocal, http.MethodPost, id, nil); got != http.StatusOK {
				t.Errorf("session %s: status %d", id, got)
			}
		}
		if got := sessionStatus(t, h, caller.ListenerRemote, http.MethodPost, other, remoteUser("x@example.com")); got != http.StatusOK {
			t.Errorf("another caller's session: status %d", got)
		}
		if got := sessionEvents(h, "evicted"); got != 1 {
			t.Errorf("evicted = %v", got)
		}
		if l, r := gaugeValue(h, "mcpbox_gateway_sessions", "local"), gaugeValue(h, "mcpbox_gateway_sessions", "remote"); l != 2 || r != 1 {
			t.Errorf("sessions gauge: local %v, remote %v", l, r)
		}
	})
	t.Run("global", func(t *testing.T) {
		t.Parallel()
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid, MaxSessions: 2})
		initSession(t, h, caller.ListenerLocal, nil)
		initSession(t, h, caller.ListenerRemote, remoteUser("x@example.com"))
		if id := initSession(t, h, caller.ListenerLocal, nil); id != "" {
			t.Errorf("over the global cap: session %q", id)
		}
		if got := sessionEvents(h, "cap_fallback"); got != 1 {
			t.Errorf("cap_fallback = %v", got)
		}
		if got := sessionEvents(h, "created"); got != 2 {
			t.Errorf("created = %v", got)
		}
	})
}
