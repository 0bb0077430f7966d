package adminapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// lastUsed reads last_used_at of the session behind a cookie value.
func lastUsed(t *testing.T, b *backend, cookieValue string) time.Time {
	t.Helper()
	var at time.Time
	b.sql(t, `SELECT last_used_at FROM admin_sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, []any{&at}, cookieValue)
	return at
}

// setLastUsed moves last_used_at of the session behind a cookie value ago
// into the past.
func setLastUsed(t *testing.T, b *backend, cookieValue string, ago time.Duration) {
	t.Helper()
	b.sql(t, `UPDATE admin_sessions SET last_used_at = now() - make_interval(secs => $2) WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
		nil, cookieValue, ago.Seconds())
}

// backend.md §7.5 / admin-ui.md §4: last_used_at is written at most once a
// minute, background refreshes and the event stream are not use, and a
// session idle longer than MCPBOX_SESSION_IDLE has ended — its stream too.
func TestSessionIdleCountsOnlyUse(t *testing.T) {
	t.Parallel()
	b := newBackend(t, func(o *options) { o.streamPing, o.streamRecheck = 50*time.Millisecond, 50*time.Millisecond })
	b.setup(t)
	ck, _ := cookieLogin(t, b)
	cookie := ck.Name + "=" + ck.Value
	me := func(header ...string) int {
		return b.call(t, http.MethodGet, "/api/v1/auth/me", nil, append([]string{"Cookie", cookie}, header...)...).status
	}

	// Used 10 s ago: a request does not write again within the minute.
	setLastUsed(t, b, ck.Value, 10*time.Second)
	before := lastUsed(t, b, ck.Value)
	if st := me(); st != http.StatusOK {
		t.Fatalf("me: %d", st)
	}
	if got := lastUsed(t, b, ck.Value); !got.Equal(before) {
		t.Errorf("last_used_at rewritten within a minute: %v → %v", before, got)
	}

	// Used 5 min ago: a background refresh is authenticated but not use.
	setLastUsed(t, b, ck.Value, 5*time.Minute)
	before = lastUsed(t, b, ck.Value)
	if st := me(proto.HeaderBackgroundRefresh, "1"); st != http.StatusOK {
		t.Fatalf("background refresh: %d", st)
	}
	if got := lastUsed(t, b, ck.Value); !got.Equal(before) {
		t.Errorf("a background refresh extended the session: %v → %v", before, got)
	}
	// The event stream is not use either.
	events := openStream(t, b, "Cookie", cookie)
	if got := lastUsed(t, b, ck.Value); !got.Equal(before) {
		t.Errorf("the event stream extended the session: %v → %v", before, got)
	}
	// A plain request is use.
	if st := me(); st != http.StatusOK {
		t.Fatalf("me: %d", st)
	}
	if got := lastUsed(t, b, ck.Value); !got.After(before) {
		t.Errorf("a request after 5 min did not slide the idle timeout: %v → %v", before, got)
	}

	// Idle past MCPBOX_SESSION_IDLE (30 min): the open stream ends with
	// auth_expired at its next re-check, and the cookie is refused.
	setLastUsed(t, b, ck.Value, 31*time.Minute)
	deadline := time.After(10 * time.Second)
	for expired := false; !expired; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream closed without auth_expired")
			}
			expired = ev.name == "auth_expired"
		case <-deadline:
			t.Fatal("the stream of an idle session did not end")
		}
	}
	if st := me(); st != http.StatusUnauthorized {
		t.Errorf("idle session: %d, want 401", st)
	}
}
