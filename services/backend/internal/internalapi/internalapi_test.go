package internalapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/backend/internal/events"
	"github.com/mcpbox/mcpbox/services/backend/internal/internalapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
)

const (
	token = "3c9e1f7a2b5d8c0e4f6a1b3d5c7e9f0a3c9e1f7a2b5d8c0e4f6a1b3d5c7e9f0a"
	wait  = 5 * time.Second
	// reconnectWait is the listener's reconnection backoff here: long enough
	// to see /readyz answer 503 between the loss and the reconnection.
	reconnectWait = 400 * time.Millisecond
)

// replica is one backend replica's internal listener over a shared
// database: store, LISTEN connection, hub, routes, on loopback.
type replica struct {
	url      string
	dsn      string
	store    *db.Store
	hub      *events.Hub
	listener *db.Listener
	reg      *prometheus.Registry
}

func newReplica(t *testing.T, dsn string, opts events.Options) *replica {
	t.Helper()
	store, err := db.Open(t.Context(), dsn, db.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	log := slog.New(slog.DiscardHandler)
	r := &replica{dsn: dsn, store: store, reg: prometheus.NewRegistry()}
	r.hub = events.New(store, r.reg, log, opts)
	lo := r.hub.Listen(revision.ChannelActivity)
	lo.MinBackoff, lo.MaxBackoff = reconnectWait, reconnectWait
	r.listener, err = store.Listen(t.Context(), lo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.listener.Close)
	health := httpserve.NewHealth(
		httpserve.Check{Name: "database", Fn: store.Ping},
		httpserve.Check{Name: "listen", Fn: r.listener.Ready},
	)
	mux := internalapi.Routes(internalapi.Deps{
		Log: log, Health: health, Metrics: r.reg, Tokens: servicetoken.New(r.reg, "backend", token, ""),
		Events: r.hub, Policy: policy.New(store),
	})
	srv := httptest.NewUnstartedServer(httpserve.Handler(log, "internal", obs.KeepValid, mux))
	srv.Config.ReadTimeout = 30 * time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(r.hub.Close) // runs first: ends the streams srv.Close waits for
	r.url = srv.URL
	return r
}

// get sends a GET with the given headers and returns status, headers, body.
func get(t *testing.T, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Timeout: wait}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

// frame is one SSE message: an event with its data, or a comment.
type frame struct{ Event, Data, Comment string }

type stream struct {
	frames chan frame
	ended  chan struct{}
}

// open starts an events stream with the service token and reads it in the
// background.
func open(t *testing.T, r *replica) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url+proto.PathInternalEvents, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(proto.HeaderServiceToken, token)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("events: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	s := &stream{frames: make(chan frame, 64), ended: make(chan struct{})}
	go func() {
		defer close(s.ended)
		sc := bufio.NewScanner(resp.Body)
		var f frame
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "":
				s.frames <- f
				f = frame{}
			case strings.HasPrefix(line, ": "):
				f.Comment = strings.TrimPrefix(line, ": ")
			case strings.HasPrefix(line, "event: "):
				f.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				f.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

// next returns the next event (pings skipped) within d.
func (s *stream) next(t *testing.T, d time.Duration) frame {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case f := <-s.frames:
			if f.Comment == "ping" {
				continue
			}
			return f
		case <-s.ended:
			t.Fatal("stream ended")
		case <-timeout:
			t.Fatalf("no event within %s", d)
		}
	}
}

// quiet fails on any event during d.
func (s *stream) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case f := <-s.frames:
			if f.Comment != "ping" {
				t.Fatalf("unexpected event %+v", f)
			}
		case <-timeout:
			return
		}
	}
}

func (s *stream) waitEnded(t *testing.T) {
	t.Helper()
	select {
	case <-s.ended:
	case <-time.After(wait):
		t.Fatal("stream still open")
	}
}

func hello(catalog, policy int64) frame {
	raw, _ := json.Marshal(proto.HelloData{CatalogRevision: catalog, PolicyRevision: policy})
	return frame{Event: "hello", Data: string(raw)}
}

func revisionEvent(typ proto.EventType, rev int64) frame {
	raw, _ := json.Marshal(proto.RevisionData{Revision: rev})
	return frame{Event: string(typ), Data: string(raw)}
}

func want(t *testing.T, got, want frame) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("frame mismatch (-want +got):\n%s", diff)
	}
}

// inTx runs fn in a committed transaction, or a rolled-back one when
// rollback is set.
func inTx(t *testing.T, st *db.Store, rollback bool, fn func(q *dbq.Queries) error) {
	t.Helper()
	errRollback := errors.New("roll back")
	err := st.InTx(t.Context(), db.ReadCommitted, func(q *dbq.Queries) error {
		if err := fn(q); err != nil {
			return err
		}
		if rollback {
			return errRollback
		}
		return nil
	})
	if rollback && !errors.Is(err, errRollback) || !rollback && err != nil {
		t.Fatal(err)
	}
}

func bumpCatalog(ctx context.Context, q *dbq.Queries) error {
	_, err := revision.Catalog(ctx, q)
	return err
}

// hello is first and carries the revisions at the time of the request.
func TestEvents_HelloCarriesTheRevisions(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	r := newReplica(t, dsn, events.Options{})
	want(t, open(t, r).next(t, wait), hello(0, 0))
	inTx(t, r.store, false, func(q *dbq.Queries) error {
		if err := bumpCatalog(t.Context(), q); err != nil {
			return err
		}
		if err := bumpCatalog(t.Context(), q); err != nil {
			return err
		}
		_, err := revision.Policy(t.Context(), q)
		return err
	})
	want(t, open(t, r).next(t, wait), hello(2, 1))
}

// Each committed change reaches the stream as its event; a rolled-back
// one sends nothing.
func TestEvents_CommittedChangesOnly(t *testing.T) {
	t.Parallel()
	r := newReplica(t, dbtest.URL(t), events.Options{})
	s := open(t, r)
	want(t, s.next(t, wait), hello(0, 0))
	server := uuid.New()
	inTx(t, r.store, true, func(q *dbq.Queries) error {
		if err := bumpCatalog(t.Context(), q); err != nil {
			return err
		}
		return revision.Secrets(t.Context(), q, server)
	})
	s.quiet(t, 300*time.Millisecond)
	inTx(t, r.store, false, func(q *dbq.Queries) error { return bumpCatalog(t.Context(), q) })
	want(t, s.next(t, wait), revisionEvent(proto.EventCatalogChanged, 1))
	inTx(t, r.store, false, func(q *dbq.Queries) error {
		_, err := revision.Policy(t.Context(), q)
		return err
	})
	want(t, s.next(t, wait), revisionEvent(proto.EventPolicyChanged, 1))
	inTx(t, r.store, false, func(q *dbq.Queries) error { return revision.Secrets(t.Context(), q, server) })
	want(t, s.next(t, wait), frame{Event: "secrets_changed", Data: `{"server_id":"` + server.String() + `"}`})
	for typ, n := range map[string]float64{"catalog_changed": 1, "policy_changed": 1, "secrets_changed": 1} {
		if got := counter(t, r.reg, "mcpbox_backend_events_published_total", typ); got != n {
			t.Errorf("events_published_total{type=%q} = %v, want %v", typ, got, n)
		}
	}
}

// counter reads a counter of reg by name and type label.
func counter(t *testing.T, reg *prometheus.Registry, name, typ string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "type" && l.GetValue() == typ {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{type=%q}", name, typ)
	return 0
}

// gauge reads an unlabelled gauge of reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}

// BE-53 (events half): a policy change through the policy service bumps the
// revision, emits policy_changed on open streams, and GET
// /internal/v1/policy shows the new value at that revision.
func TestBE53_PolicyChangeEmitsPolicyChanged(t *testing.T) {
	t.Parallel()
	r := newReplica(t, dbtest.URL(t), events.Options{})
	s := open(t, r)
	want(t, s.next(t, wait), hello(0, 0))
	res, err := policy.New(r.store).Patch(t.Context(), "admin:alice", "req-be53",
		map[string]json.RawMessage{"mcp_rate_limit_rpm": json.RawMessage(`240`)}, nil)
	if err != nil || res.Revision != 1 {
		t.Fatalf("patch: revision %d, %v", res.Revision, err)
	}
	want(t, s.next(t, wait), revisionEvent(proto.EventPolicyChanged, res.Revision))
	code, _, body := get(t, r.url+proto.PathInternalPolicy, proto.HeaderServiceToken, token)
	var got proto.Policy
	if err := json.Unmarshal([]byte(body), &got); code != http.StatusOK || err != nil {
		t.Fatalf("policy: %d %s %v", code, body, err)
	}
	if got.Revision != 1 || got.MCPRateLimitRPM != 240 {
		t.Errorf("policy after the change: revision %d, mcp_rate_limit_rpm %d", got.Revision, got.MCPRateLimitRPM)
	}
}

// BE-66 (subscriber half): stopping a server commits a catalog revision
// bump, and an open stream receives catalog_changed with it within 1 s.
func TestBE66_StopServerReachesTheSubscriberWithinOneSecond(t *testing.T) {
	t.Parallel()
	r := newReplica(t, dbtest.URL(t), events.Options{})
	svc := servers.New(r.store)
	audit := servers.Audit{Actor: "admin:alice", RequestID: "req-be66"}
	srv, err := svc.Create(t.Context(), audit, servers.CreateInput{Name: "weather"})
	if err != nil {
		t.Fatal(err)
	}
	started, err := svc.Start(t.Context(), audit, srv.ID)
	if err != nil || !started.Changed {
		t.Fatalf("start: %+v, %v", started, err)
	}
	s := open(t, r)
	want(t, s.next(t, wait), hello(started.CatalogRevision, 0))
	stopped, err := svc.Stop(t.Context(), audit, srv.ID)
	if err != nil || !stopped.Changed || stopped.CatalogRevision != started.CatalogRevision+1 {
		t.Fatalf("stop: %+v, %v", stopped, err)
	}
	committed := time.Now()
	want(t, s.next(t, time.Second), revisionEvent(proto.EventCatalogChanged, stopped.CatalogRevision))
	t.Logf("catalog_changed %s after the commit", time.Since(committed))
}

// BE-67: a NOTIFY issued through replica A's store reaches an events stream
// held by replica B (and A's own).
func TestBE67_NotifyFromReplicaAReachesReplicaB(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	a, b := newReplica(t, dsn, events.Options{}), newReplica(t, dsn, events.Options{})
	onA, onB := open(t, a), open(t, b)
	want(t, onA.next(t, wait), hello(0, 0))
	want(t, onB.next(t, wait), hello(0, 0))
	inTx(t, a.store, false, func(q *dbq.Queries) error { return bumpCatalog(t.Context(), q) })
	want(t, onB.next(t, wait), revisionEvent(proto.EventCatalogChanged, 1))
	want(t, onA.next(t, wait), revisionEvent(proto.EventCatalogChanged, 1))
}

// ": ping" arrives every Ping interval through the internal route.
func TestEvents_Ping(t *testing.T) {
	t.Parallel()
	r := newReplica(t, dbtest.URL(t), events.Options{Ping: 40 * time.Millisecond})
	s := open(t, r)
	want(t, s.next(t, wait), hello(0, 0))
	for range 3 {
		select {
		case f := <-s.frames:
			want(t, f, frame{Comment: "ping"})
		case <-time.After(wait):
			t.Fatal("no ping")
		}
	}
}

// The LISTEN connection terminated: every open stream ends, /readyz
// answers 503 naming the listen check until the listener has reconnected,
// then 200, and a new stream starts with hello again.
func TestEvents_ListenConnectionLost(t *testing.T) {
	t.Parallel()
	r := newReplica(t, dbtest.URL(t), events.Options{})
	s1, s2 := open(t, r), open(t, r)
	s1.next(t, wait)
	s2.next(t, wait)
	if n := gauge(t, r.reg, "mcpbox_backend_event_subscribers"); n != 2 {
		t.Errorf("subscribers %v, want 2", n)
	}
	if code, _, body := get(t, r.url+proto.PathReadyz); code != http.StatusOK {
		t.Fatalf("readyz before: %d %s", code, body)
	}
	pid := r.listener.PID()
	dbtest.Exec(t, r.dsn, "SELECT pg_terminate_backend($1)", int32(pid))
	s1.waitEnded(t)
	s2.waitEnded(t)
	code, _, body := get(t, r.url+proto.PathReadyz)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"failing":"listen"`) {
		t.Errorf("readyz while reconnecting: %d %s", code, body)
	}
	if code, _, body := get(t, r.url+proto.PathInternalEvents, proto.HeaderServiceToken, token); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, `"code":"unavailable"`) {
		t.Errorf("events while reconnecting: %d %s", code, body)
	}
	if n := gauge(t, r.reg, "mcpbox_backend_event_subscribers"); n != 0 {
		t.Errorf("subscribers after the loss %v, want 0", n)
	}
	deadline := time.Now().Add(wait)
	for {
		code, _, body := get(t, r.url+proto.PathReadyz)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after reconnecting: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.listener.PID() == pid {
		t.Error("the listener did not reconnect on a new backend")
	}
	s3 := open(t, r)
	want(t, s3.next(t, wait), hello(0, 0))
	inTx(t, r.store, false, func(q *dbq.Queries) error { return bumpCatalog(t.Context(), q) })
	want(t, s3.next(t, wait), revisionEvent(proto.EventCatalogChanged, 1))
}

// Without the service token (or with a wrong one) the event stream and the
// policy are refused with 401 and no stream is opened.
func TestInternalRoutesNeedTheToken(t *testing.T) {
	t.Parallel()
	r := newReplica(t, dbtest.URL(t), events.Options{})
	for _, path := range []string{proto.PathInternalEvents, proto.PathInternalPolicy} {
		for name, header := range map[string][]string{
			"no token":    nil,
			"wrong token": {proto.HeaderServiceToken, strings.Repeat("f", 64)},
		} {
			code, _, body := get(t, r.url+path, header...)
			if code != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthenticated"`) {
				t.Errorf("%s %s: %d %s", path, name, code, body)
			}
		}
	}
	if n := gauge(t, r.reg, "mcpbox_backend_event_subscribers"); n != 0 {
		t.Errorf("subscribers %v after refusals", n)
	}
	// The routes not built yet stay 501 behind the guard.
	if code, _, _ := get(t, r.url+proto.PathInternalCatalog, proto.HeaderServiceToken, token); code != http.StatusNotImplemented {
		t.Errorf("catalog: %d, want 501", code)
	}
}

// GET /internal/v1/policy: the defaults at revision 0 on a fresh database,
// then the stored values at the revision of the last change, never cached.
func TestPolicy(t *testing.T) {
	t.Parallel()
	r := newReplica(t, dbtest.URL(t), events.Options{})
	code, header, body := get(t, r.url+proto.PathInternalPolicy, proto.HeaderServiceToken, token)
	if code != http.StatusOK || header.Get("Content-Type") != "application/json" || header.Get("Cache-Control") != "no-store" {
		t.Fatalf("policy: %d %v %s", code, header, body)
	}
	var got proto.Policy
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(proto.DefaultPolicy(), got); diff != "" {
		t.Errorf("default policy mismatch (-want +got):\n%s", diff)
	}
	svc := policy.New(r.store)
	if _, err := svc.ApplyProfile(t.Context(), "admin:alice", "req-1", "permissive"); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Patch(t.Context(), "admin:alice", "req-2", map[string]json.RawMessage{
		"remote_email_allowlist": json.RawMessage(`{"mode":"email_domain","values":["example.com"]}`),
		"log_retention_days":     json.RawMessage(`90`),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	current, rev, err := svc.Current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantPolicy := current.Proto(rev)
	if rev != res.Revision || rev != 2 || wantPolicy.LogRetentionDays != 90 || wantPolicy.ToolApprovalMode != proto.ApprovalAuto {
		t.Fatalf("policy service: revision %d (patch %d), %+v", rev, res.Revision, wantPolicy)
	}
	_, _, body = get(t, r.url+proto.PathInternalPolicy, proto.HeaderServiceToken, token)
	got = proto.Policy{}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantPolicy, got); diff != "" {
		t.Errorf("policy mismatch (-want +got):\n%s", diff)
	}
	for _, key := range []string{`"revision":2`, `"remote_email_allowlist":{"mode":"email_domain","values":["example.com"]}`, `"log_retention_days":90`} {
		if !strings.Contains(body, key) {
			t.Errorf("body lacks %s: %s", key, body)
		}
	}
}
