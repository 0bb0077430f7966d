package backend

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, token, want string }{
		{"", testToken, "MCPBOX_BACKEND_INTERNAL_URL"},
		{"ftp://127.0.0.1:8004", testToken, "MCPBOX_BACKEND_INTERNAL_URL"},
		{"http://user:pw@127.0.0.1:8004", testToken, "MCPBOX_BACKEND_INTERNAL_URL"},
		{"http://127.0.0.1:8004?x=1", testToken, "MCPBOX_BACKEND_INTERNAL_URL"},
		{"http://127.0.0.1:8004", "", "MCPBOX_BACKEND_TOKEN"},
	} {
		_, err := New(tc.url, tc.token, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q) = %v, want an error naming %s", tc.url, tc.token, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%q): the error shows the password: %v", tc.url, err)
		}
	}
}

// TestCatalogETag: the first fetch gets the catalog and its ETag; the next
// sends it as If-None-Match and gets 304; a changed revision gets 200.
func TestCatalogETag(t *testing.T) {
	t.Parallel()
	var revision atomic.Int64
	revision.Store(7)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != proto.PathInternalCatalog {
			http.NotFound(w, r)
			return
		}
		etag := `"` + strconv.FormatInt(revision.Load(), 10) + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writeJSON(w, http.StatusOK, proto.Catalog{
			Revision: revision.Load(),
			Tools:    []proto.CatalogTool{{ToolID: "t1", Name: "weather__forecast", Kind: proto.ToolKindGo, Version: 2}},
			Withheld: []proto.WithheldTool{{ToolID: "t2", Name: "weather__draft", Reason: proto.WithheldDraft}},
		})
	})
	c, _ := newClient(t, f.srv.URL)
	ctx := t.Context()

	cat, etag, notModified, err := c.Catalog(ctx, "")
	if err != nil || notModified || etag != `"7"` || cat.Revision != 7 || len(cat.Tools) != 1 || len(cat.Withheld) != 1 {
		t.Fatalf("first fetch = %+v, %q, %v, %v", cat, etag, notModified, err)
	}
	cat, etag2, notModified, err := c.Catalog(ctx, etag)
	if err != nil || !notModified || etag2 != `"7"` || cat.Revision != 0 || cat.Tools != nil {
		t.Fatalf("conditional fetch = %+v, %q, %v, %v; want 304", cat, etag2, notModified, err)
	}
	revision.Store(8)
	cat, etag3, notModified, err := c.Catalog(ctx, etag2)
	if err != nil || notModified || etag3 != `"8"` || cat.Revision != 8 {
		t.Fatalf("fetch after a change = %+v, %q, %v, %v", cat, etag3, notModified, err)
	}
	reqs := f.requests()
	if len(reqs) != 3 || reqs[0].ifNoneMatch != "" || reqs[1].ifNoneMatch != `"7"` || reqs[2].ifNoneMatch != `"7"` {
		t.Fatalf("If-None-Match sent: %+v", reqs)
	}
	if got := count(c, EndpointCatalog, resultOK); got != 3 {
		t.Errorf("catalog ok = %v, want 3 (a 304 is ok)", got)
	}
}

// TestCatalogETagFallback: a 200 without an ETag gets `"<revision>"`, a
// 304 without one keeps the caller's.
func TestCatalogETagFallback(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writeJSON(w, http.StatusOK, proto.Catalog{Revision: 42})
	})
	c, _ := newClient(t, f.srv.URL)
	_, etag, _, err := c.Catalog(t.Context(), "")
	if err != nil || etag != `"42"` {
		t.Fatalf("etag = %q, %v; want \"42\"", etag, err)
	}
	_, etag, notModified, err := c.Catalog(t.Context(), `"41"`)
	if err != nil || !notModified || etag != `"41"` {
		t.Fatalf("304 without ETag = %q, %v, %v", etag, notModified, err)
	}
}

func TestCatalogFailures(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusInternalServerError, proto.CodeInternal, "Internal error (request be-req-1).")
	})
	c, _ := newClient(t, f.srv.URL)
	_, _, _, err := c.Catalog(t.Context(), "")
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 500 || he.Code != proto.CodeInternal || he.RequestID != "be-req-1" || he.Endpoint != EndpointCatalog {
		t.Fatalf("500: err = %#v", err)
	}
	if he.Permanent() || he.HTTPStatus() != 500 {
		t.Errorf("500: Permanent %v, HTTPStatus %d", he.Permanent(), he.HTTPStatus())
	}

	bad := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"revision": "not a number"`))
	})
	c2, _ := newClient(t, bad.srv.URL)
	_, _, _, err = c2.Catalog(t.Context(), "")
	var me *MalformedError
	if !errors.As(err, &me) || me.Endpoint != EndpointCatalog {
		t.Fatalf("malformed body: err = %v", err)
	}
	if got := count(c, EndpointCatalog, resultHTTPError) + count(c2, EndpointCatalog, resultHTTPError); got != 2 {
		t.Errorf("catalog http_error = %v, want 2", got)
	}
}

// TestReadTimeout: a backend that never answers a read fails it after the
// deadline with a timeout *TransportError (sent) and counts a timeout.
func TestReadTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	f := newFake(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	c, _ := newClient(t, f.srv.URL, withReadTimeout(100*time.Millisecond))
	_, err := c.Policy(t.Context())
	var te *TransportError
	if !errors.As(err, &te) || !te.Timeout || !te.Sent || te.Permanent() || te.HTTPStatus() != 0 {
		t.Fatalf("err = %#v, want a sent timeout", err)
	}
	if got := count(c, EndpointPolicy, resultTimeout); got != 1 {
		t.Errorf("policy timeout = %v, want 1", got)
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	want := proto.DefaultPolicy()
	want.Revision = 5
	want.RemoteEmailAllowlist = proto.RemoteEmailAllowlist{Mode: proto.AllowEmailDomain, Values: []string{"example.com"}}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != proto.PathInternalPolicy || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get(proto.HeaderServiceToken) != testToken {
			writeError(w, http.StatusUnauthorized, proto.CodeUnauthenticated, "missing or invalid service token")
			return
		}
		writeJSON(w, http.StatusOK, want)
	})
	c, _ := newClient(t, f.srv.URL)
	got, err := c.Policy(t.Context())
	if err != nil || got.Revision != 5 || !got.RemoteEmailAllowlist.Allows("a@example.com") || got.MCPRateLimitRPM != want.MCPRateLimitRPM {
		t.Fatalf("Policy = %+v, %v", got, err)
	}

	wrong, err := New(f.srv.URL, "another-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.Policy(t.Context())
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized || !he.Permanent() || he.Code != proto.CodeUnauthenticated {
		t.Fatalf("wrong token: err = %v", err)
	}
}

// TestRequestIDAndToken: every endpoint sends the service token, and the
// request id of the context when it has one, and none otherwise.
func TestRequestIDAndToken(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == proto.PathInternalCatalog:
			writeJSON(w, http.StatusOK, proto.Catalog{Revision: 1})
		case r.URL.Path == proto.PathInternalPolicy:
			writeJSON(w, http.StatusOK, proto.DefaultPolicy())
		case strings.HasSuffix(r.URL.Path, "/plan"):
			writeJSON(w, http.StatusOK, testPlan())
		case strings.HasPrefix(r.URL.Path, "/internal/v1/manage/"):
			writeJSON(w, http.StatusOK, proto.ManageResponse{OK: true, Result: []byte(`{}`)})
		case r.URL.Path == proto.PathInternalExecutions:
			writeJSON(w, http.StatusOK, proto.ExecutionBatchResult{Accepted: 1})
		case r.URL.Path == proto.PathInternalEvents:
			w.Header().Set("Content-Type", "text/event-stream")
			frame, _ := proto.Event{Type: proto.EventHello}.MarshalSSE()
			_, _ = w.Write(frame)
		}
	})
	c, _ := newClient(t, f.srv.URL)
	callAll := func(ctx context.Context) {
		t.Helper()
		if _, _, _, err := c.Catalog(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Policy(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Plan(ctx, testToolID, 3); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Manage(ctx, proto.MgmtListServers, proto.ManageRequest{Caller: proto.Caller{Kind: proto.CallerLocal}}, 0); err != nil {
			t.Fatal(err)
		}
		if err := c.PostExecutions(ctx, []proto.ExecutionRecord{{ID: "r1", ExposedName: "a__b"}}); err != nil {
			t.Fatal(err)
		}
		// The fake ends the stream after hello: an error, but the request was made.
		_ = c.Events(ctx, func(proto.Event) {})
	}
	callAll(obs.WithRequestID(t.Context(), "req-abc.123"))
	callAll(t.Context())

	reqs := f.requests()
	if len(reqs) != 12 {
		t.Fatalf("%d requests, want 12", len(reqs))
	}
	for i, r := range reqs {
		if r.token != testToken {
			t.Errorf("%s %s: token %q", r.method, r.path, r.token)
		}
		if i < 6 && r.requestID != "req-abc.123" {
			t.Errorf("%s %s: X-Request-Id %q, want the context's", r.method, r.path, r.requestID)
		}
		if i >= 6 && r.hasRequestID {
			t.Errorf("%s %s: X-Request-Id %q sent without one in the context", r.method, r.path, r.requestID)
		}
	}
}

// TestMetricsZeroInitialised: every endpoint × result series exists before
// any request.
func TestMetricsZeroInitialised(t *testing.T) {
	t.Parallel()
	_, reg := newClient(t, "http://127.0.0.1:8004")
	if n := testutil.CollectAndCount(reg, "mcpbox_gateway_backend_requests_total"); n != 24 {
		t.Fatalf("%d series, want 6 endpoints × 4 results", n)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) != 0 {
		t.Fatalf("promlint: %v %v", problems, err)
	}
}

// TestCancelledCallNotCounted: a request the caller cancels says nothing
// about the backend and is not counted.
func TestCancelledCallNotCounted(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	f := newFake(t, func(_ http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	c, _ := newClient(t, f.srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-started; cancel() }()
	if _, err := c.Policy(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	for _, r := range []string{resultOK, resultHTTPError, resultTimeout, resultTransport} {
		if got := count(c, EndpointPolicy, r); got != 0 {
			t.Errorf("policy %s = %v, want 0", r, got)
		}
	}
}
