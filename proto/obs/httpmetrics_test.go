package obs_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto/obs"
)

// get sends method path to srv and drains the answer.
func get(t *testing.T, srv *httptest.Server, method, path string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// The middleware labels requests by the pattern that served them (or
// unmatched), a closed method set and the status code, and times them with
// the buckets it was given; one HTTPMetrics serves several listeners.
func TestHTTPMetricsLabelsByRouteMethodAndCode(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := obs.NewHTTPMetrics(reg, "backend", obs.LATBuckets())

	main := http.NewServeMux()
	main.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "item") })
	main.HandleFunc("POST /items", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	// A router underneath the mux names its own route on the same request.
	main.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		r.Pattern = ""
		if r.URL.Path == "/api/things/1" {
			r.Pattern = "GET /api/things/:id"
		}
		w.WriteHeader(http.StatusNoContent)
	})
	main.HandleFunc("/", http.NotFound) // the catch-all is no route
	other := http.NewServeMux()
	other.HandleFunc("GET /ping", func(http.ResponseWriter, *http.Request) {}) // writes nothing: 200

	log := slog.New(slog.DiscardHandler)
	srvMain := httptest.NewServer(obs.RequestIDMiddleware(obs.KeepValid, obs.AccessLog(log, "main", nil, m.Wrap(main))))
	t.Cleanup(srvMain.Close)
	srvOther := httptest.NewServer(obs.RequestIDMiddleware(obs.KeepValid, obs.AccessLog(log, "internal", nil, m.Wrap(other))))
	t.Cleanup(srvOther.Close)

	for _, c := range []struct {
		srv          *httptest.Server
		method, path string
		want         int
	}{
		{srvMain, http.MethodGet, "/items/7", 200},
		{srvMain, http.MethodGet, "/items/8", 200},
		{srvMain, http.MethodPost, "/items", 201},
		{srvMain, http.MethodGet, "/api/things/1", 204},
		{srvMain, http.MethodGet, "/api/random-path", 204},
		{srvMain, http.MethodGet, "/random/path", 404},
		{srvMain, "PROPFIND", "/items/7", 404}, // no GET-only match: the catch-all answers
		{srvOther, http.MethodGet, "/ping", 200},
		{srvOther, http.MethodDelete, "/ping", 405},
		{srvOther, http.MethodGet, "/nothing-here", 404},
	} {
		if got := get(t, c.srv, c.method, c.path); got != c.want {
			t.Fatalf("%s %s: %d, want %d", c.method, c.path, got, c.want)
		}
	}

	want := `
# HELP mcpbox_backend_http_requests_total HTTP requests answered, by route (the registered pattern, or unmatched), method and status code.
# TYPE mcpbox_backend_http_requests_total counter
mcpbox_backend_http_requests_total{code="200",method="GET",route="GET /items/{id}"} 2
mcpbox_backend_http_requests_total{code="201",method="POST",route="POST /items"} 1
mcpbox_backend_http_requests_total{code="204",method="GET",route="GET /api/things/:id"} 1
mcpbox_backend_http_requests_total{code="204",method="GET",route="unmatched"} 1
mcpbox_backend_http_requests_total{code="404",method="GET",route="unmatched"} 2
mcpbox_backend_http_requests_total{code="404",method="other",route="unmatched"} 1
mcpbox_backend_http_requests_total{code="200",method="GET",route="GET /ping"} 1
mcpbox_backend_http_requests_total{code="405",method="DELETE",route="unmatched"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mcpbox_backend_http_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "mcpbox_backend_http_request_duration_seconds"); n != 7 {
		t.Errorf("%d duration series, want 7 (one per route and method)", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "mcpbox_backend_http_request_duration_seconds" {
			continue
		}
		for _, s := range mf.GetMetric() {
			var bounds []float64
			for _, b := range s.GetHistogram().GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
			}
			if !slices.Equal(bounds, obs.LATBuckets()) {
				t.Errorf("buckets %v, want LAT %v", bounds, obs.LATBuckets())
			}
		}
	}
	if probs, err := testutil.GatherAndLint(reg); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", err, probs)
	}
}

// A handler that panics before writing is counted as the 500 the access log
// answers, and the panic still reaches the access log.
func TestHTTPMetricsCountsPanicsAs500(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := obs.NewHTTPMetrics(reg, "backend", obs.LATBuckets())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	srv := httptest.NewServer(obs.RequestIDMiddleware(obs.KeepValid, obs.AccessLog(slog.New(slog.DiscardHandler), "main", nil, m.Wrap(mux))))
	t.Cleanup(srv.Close)
	if code := get(t, srv, http.MethodGet, "/boom"); code != http.StatusInternalServerError {
		t.Fatalf("panic answered %d", code)
	}
	want := `
# HELP mcpbox_backend_http_requests_total HTTP requests answered, by route (the registered pattern, or unmatched), method and status code.
# TYPE mcpbox_backend_http_requests_total counter
mcpbox_backend_http_requests_total{code="500",method="GET",route="GET /boom"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mcpbox_backend_http_requests_total"); err != nil {
		t.Error(err)
	}
}

func TestMethodAndRouteLabels(t *testing.T) {
	t.Parallel()
	for _, m := range obs.HTTPMethods() {
		if got := obs.MethodLabel(m); got != m {
			t.Errorf("MethodLabel(%q) = %q", m, got)
		}
	}
	for _, m := range []string{"", "get", "PROPFIND", "CONNECT", "TRACE", strings.Repeat("X", 200)} {
		if got := obs.MethodLabel(m); got != obs.MethodOther {
			t.Errorf("MethodLabel(%q) = %q, want other", m, got)
		}
	}
	for pattern, want := range map[string]string{
		"":                     obs.RouteUnmatched,
		"/":                    obs.RouteUnmatched,
		"GET /":                obs.RouteUnmatched,
		"GET /{$}":             "GET /{$}",
		"/internal/":           "/internal/",
		"GET /api/v1/servers":  "GET /api/v1/servers",
		"POST /items/{id}/run": "POST /items/{id}/run",
	} {
		if got := obs.RouteLabel(pattern); got != want {
			t.Errorf("RouteLabel(%q) = %q, want %q", pattern, got, want)
		}
	}
}
