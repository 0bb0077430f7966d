package adminapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
)

// metricValue returns the counter or gauge value of the series of name with
// exactly the label pairs given (none: the unlabelled series); 0 when the
// series does not exist.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel())*2 != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if want, ok := labelOf(labels, lp.GetName()); !ok || want != lp.GetValue() {
					continue series
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func labelOf(pairs []string, name string) (string, bool) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == name {
			return pairs[i+1], true
		}
	}
	return "", false
}

func requests(t *testing.T, b *backend, route, method, code string) float64 {
	t.Helper()
	return metricValue(t, b.reg, "mcpbox_backend_http_requests_total", "route", route, "method", method, "code", code)
}

// OPS-19 (backend): /api/v1 requests are labelled by their echo route, an
// unknown /api/v1 path (signed in or not) and a wrong method as unmatched,
// never by the raw path; the access log carries the same route.
func TestOPS19_HTTPMetricsLabelAPIRoutes(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	tok := bearer(b.login(t))
	if r := b.call(t, http.MethodGet, "/api/v1/servers", nil, tok...); r.status != http.StatusOK {
		t.Fatalf("GET /api/v1/servers: %d %s", r.status, r.raw)
	}
	wantError(t, b.call(t, http.MethodGet, "/api/v1/servers/00000000-0000-4000-8000-000000000000", nil, tok...), http.StatusNotFound, proto.CodeNotFound)
	wantError(t, b.call(t, http.MethodGet, "/api/v1/no-such-thing/42", nil), http.StatusUnauthorized, proto.CodeUnauthenticated)
	wantError(t, b.call(t, http.MethodGet, "/api/v1/no-such-thing/43", nil, tok...), http.StatusNotFound, proto.CodeNotFound)
	if r := b.call(t, http.MethodPut, "/api/v1/servers", nil, tok...); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("PUT /api/v1/servers: %d %s", r.status, r.raw)
	}
	if r := b.call(t, "PROPFIND", "/api/v1/servers", nil, tok...); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("PROPFIND /api/v1/servers: %d %s", r.status, r.raw)
	}
	if r := b.call(t, http.MethodGet, "/healthz", nil); r.status != http.StatusOK {
		t.Fatalf("healthz: %d", r.status)
	}
	if r := b.call(t, http.MethodGet, "/some/random/page", nil); r.status != http.StatusNotFound {
		t.Fatalf("random path: %d", r.status)
	}

	for _, c := range []struct {
		route, method, code string
		want                float64
	}{
		{"GET /api/v1/servers", "GET", "200", 1},
		{"GET /api/v1/servers/:id", "GET", "404", 1},
		{"POST /api/v1/auth/setup", "POST", "201", 1},
		{"POST /api/v1/auth/login", "POST", "200", 1},
		{"unmatched", "GET", "401", 1},
		{"unmatched", "GET", "404", 2}, // the unknown API path once signed in, and the random page
		{"unmatched", "PUT", "405", 1},
		{"unmatched", "other", "405", 1},
		{"GET /healthz", "GET", "200", 1},
	} {
		if got := requests(t, b, c.route, c.method, c.code); got != c.want {
			t.Errorf("http_requests_total{route=%q,method=%q,code=%q} = %v, want %v", c.route, c.method, c.code, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(b.reg, "mcpbox_backend_http_requests_total"); n != 9 {
		t.Errorf("%d request series, want the 9 above", n)
	}
	if n := testutil.CollectAndCount(b.reg, "mcpbox_backend_http_request_duration_seconds"); n != 8 {
		t.Errorf("%d duration series, want 8 (route and method of the requests above)", n)
	}
	exposed := gatherText(t, b.reg)
	for _, raw := range []string{"no-such-thing", "00000000-0000-4000-8000-000000000000", "random"} {
		if strings.Contains(exposed, raw) {
			t.Errorf("a raw path fragment %q became a label value", raw)
		}
	}
	if !strings.Contains(b.logs.String(), `"route":"GET /api/v1/servers/:id"`) {
		t.Errorf("the access log does not carry the API route:\n%s", b.logs.String())
	}
	if probs, err := testutil.GatherAndLint(b.reg); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", err, probs)
	}
}

// gatherText is the registry in the text exposition format.
func gatherText(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	var out strings.Builder
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		out.WriteString(mf.String())
		out.WriteByte('\n')
	}
	return out.String()
}

// Logins are counted by verdict: success, failure (wrong password or unknown
// user) and throttled; every result starts at zero.
func TestAdminLoginsAreCountedByResult(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	logins := func(result string) float64 {
		return metricValue(t, b.reg, "mcpbox_backend_admin_logins_total", "result", result)
	}
	if n := testutil.CollectAndCount(b.reg, "mcpbox_backend_admin_logins_total"); n != 3 {
		t.Fatalf("%d login series before any login, want 3 at zero", n)
	}
	b.setup(t)
	for i := range 5 {
		user := adminName
		if i%2 == 1 {
			user = "nobody"
		}
		r := b.call(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": user, "password": "wrong password!"}, from("203.0.113.7")...)
		wantError(t, r, http.StatusUnauthorized, proto.CodeInvalidCredentials)
	}
	r := b.call(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": adminName, "password": adminPass}, from("203.0.113.7")...)
	wantError(t, r, http.StatusTooManyRequests, proto.CodeTooManyAttempts)
	b.login(t, from("203.0.113.8")...)
	cookieLogin(t, b, from("203.0.113.8")...)
	for result, want := range map[string]float64{"success": 2, "failure": 5, "throttled": 1} {
		if got := logins(result); got != want {
			t.Errorf("admin_logins_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

// BE-18 (metric): presenting a used refresh token again is counted once.
func TestRefreshReuseIsCounted(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	first := b.login(t)
	if r := b.call(t, http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": first["refresh_token"].(string)}); r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	if got := metricValue(t, b.reg, "mcpbox_backend_admin_token_reuse_total"); got != 0 {
		t.Fatalf("token_reuse_total = %v after a normal refresh", got)
	}
	wantError(t, b.call(t, http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": first["refresh_token"].(string)}),
		http.StatusUnauthorized, proto.CodeSessionRevoked)
	// An unknown token is no reuse.
	wantError(t, b.call(t, http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": "nope"}), http.StatusUnauthorized, proto.CodeTokenInvalid)
	if got := metricValue(t, b.reg, "mcpbox_backend_admin_token_reuse_total"); got != 1 {
		t.Errorf("token_reuse_total = %v, want 1", got)
	}
}

// BE-21 (metric): each cookie mutation refused by the CSRF or origin check
// is counted; reads, Bearer mutations and a proper cookie mutation are not.
func TestCSRFRejectionsAreCounted(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	ck, csrf := cookieLogin(t, b)
	cookie := ck.Name + "=" + ck.Value
	if r := b.call(t, http.MethodGet, "/api/v1/auth/me", nil, "Cookie", cookie); r.status != http.StatusOK {
		t.Fatalf("GET with cookie: %d %s", r.status, r.raw)
	}
	wantError(t, b.call(t, http.MethodPost, "/api/v1/auth/sessions/revoke-all", nil, "Cookie", cookie), http.StatusForbidden, proto.CodeCSRFFailed)
	wantError(t, b.call(t, http.MethodPost, "/api/v1/auth/sessions/revoke-all", nil, "Cookie", cookie, "X-CSRF-Token", csrf, "Origin", "https://evil.example"), http.StatusForbidden, proto.CodeCSRFFailed)
	if r := b.call(t, http.MethodPost, "/api/v1/auth/sessions/revoke-all", nil, bearer(b.login(t))...); r.status != http.StatusNoContent {
		t.Fatalf("bearer mutation: %d %s", r.status, r.raw)
	}
	if got := metricValue(t, b.reg, "mcpbox_backend_csrf_rejections_total"); got != 2 {
		t.Errorf("csrf_rejections_total = %v, want 2", got)
	}
}
