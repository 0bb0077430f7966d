package adminapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/adminapi"
)

// slowSandbox is one sandbox URL in front of the fakes of the other tests:
// analyze and execute go to a test-run fake, discover to a discovery fake,
// fetch to the OAuth or the self-check fake by its purpose. arm delays the
// next answer, whatever it is; perAnalysis delays every analysis.
type slowSandbox struct {
	srv                              *httptest.Server
	exec, discover, oauth, selfcheck string
	mu                               sync.Mutex
	armed, perAnalysis               time.Duration
	delayed                          int // answers delayed by arm
}

func newSlowSandbox(t *testing.T, exec, discover, oauth, selfcheck string) *slowSandbox {
	t.Helper()
	s := &slowSandbox{exec: exec, discover: discover, oauth: oauth, selfcheck: selfcheck}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// arm makes the next answer take d.
func (s *slowSandbox) arm(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = d
}

func (s *slowSandbox) setPerAnalysis(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perAnalysis = d
}

func (s *slowSandbox) delayedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delayed
}

func (s *slowSandbox) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	target := s.exec
	switch r.URL.Path {
	case proto.PathSandboxDiscover:
		target = s.discover
	case proto.PathSandboxFetch:
		var req proto.FetchRequest
		_ = json.Unmarshal(body, &req)
		target = s.selfcheck
		if req.Purpose == proto.FetchOAuth {
			target = s.oauth
		}
	}
	s.mu.Lock()
	delay := s.armed
	if delay > 0 {
		s.delayed++
	}
	s.armed = 0
	if r.URL.Path == proto.PathSandboxAnalyze {
		delay += s.perAnalysis
	}
	s.mu.Unlock()
	time.Sleep(delay)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// BE-95: with the default write deadline at 1 s and the long class at 5 s,
// every long-class route completes although the sandbox takes 2 s to
// answer, while a route of the default class does not; an import of 30
// tools sent with an X-Request-Id puts progress events on the stream of the
// session that sent it only, never replayed.
func TestBE95_LongWriteClassAndProgress(t *testing.T) {
	t.Parallel()
	execFake := newExecSandbox(t, okAnswer)
	discovery := newFakeDiscovery(t, upstreamTool("list-repos", "Lists repositories."))
	oauth := newOAuthFakes(t)
	edge, idp := newEdgeFake(t, nil), newIDPFake(t, nil)
	selfcheck := newFetchSandbox(t, edge, idp)
	sb := newSlowSandbox(t, execFake.srv.URL, discovery.srv.URL, oauth.sandbox.URL(), selfcheck.srv.URL)
	b := newBackend(t, withSandbox(sb.srv.URL), func(o *options) {
		o.cfgMore = func(d *adminapi.Deps) { d.WriteTimeout, d.LongWriteTimeout = time.Second, 5*time.Second }
	})
	b.setup(t)
	auth := bearer(b.login(t))
	sid := b.newServer(t, auth, "weather", "")
	tool := b.newTool(t, auth, sid, "forecast", nil)
	src := b.newSource(t, auth, sid, map[string]any{"name": "GitHub MCP", "url": "https://mcp.github.test/mcp"})
	oauthSrc := b.oauthSource(t, "Linear", "oauth", "active")
	if r := b.call(t, http.MethodPatch, remoteAccessPath,
		map[string]string{"public_url": edgeURL, "expected_issuer": issuerURL}, auth...); r.status != http.StatusOK {
		t.Fatalf("remote access: %d %s", r.status, r.raw)
	}
	export := b.call(t, http.MethodGet, "/api/v1/export?server_id="+sid, nil, auth...)
	if export.status != http.StatusOK {
		t.Fatalf("export: %d %s", export.status, export.raw)
	}

	// slow runs one request with the sandbox's next answer 2 s late.
	slow := func(name, method, path string, body any, want int) response {
		t.Helper()
		before := sb.delayedCount()
		sb.arm(2 * time.Second)
		r := b.call(t, method, path, body, auth...)
		if r.status != want {
			t.Fatalf("%s: %d %s", name, r.status, r.raw)
		}
		if sb.delayedCount() != before+1 {
			t.Fatalf("%s: the sandbox was not called late", name)
		}
		return r
	}
	watching := openStreamAt(t, b, "/api/v1/activity/stream?types=progress", auth...)
	slow("test run", http.MethodPost, toolPath(tool, "test"), map[string]any{}, http.StatusOK)
	// A timed operation reports whole seconds out of its deadline (5 s),
	// ending with the seconds it took.
	for last := -1; last < 2; {
		var p struct {
			Operation   string `json:"operation"`
			Done, Total int
		}
		ev := nextEvent(t, watching, 3*time.Second)
		if err := json.Unmarshal([]byte(ev.data), &p); err != nil || p.Operation != "test_run" || p.Total != 5 || p.Done < last {
			t.Fatalf("test run progress %+v (%v) after %d", ev, err, last)
		}
		last = p.Done
	}
	slow("discovery", http.MethodPost, sourcePath(src["id"].(string), "discover"), nil, http.StatusOK)
	started := slow("oauth start", http.MethodPost, startPath(oauthSrc), nil, http.StatusOK)
	code, state, err := oauth.as.Authorize(started.body["authorization_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	slow("oauth exchange", http.MethodPost, "/api/v1/oauth/callback", map[string]string{"state": state, "code": code}, http.StatusOK)
	slow("self-check", http.MethodPost, selfCheckPath, nil, http.StatusOK)
	var doc any
	if err := json.Unmarshal([]byte(export.raw), &doc); err != nil {
		t.Fatal(err)
	}
	slow("import dry run", http.MethodPost, "/api/v1/import?dry_run=true&on_conflict=rename", doc, http.StatusOK)
	slow("import", http.MethodPost, "/api/v1/import?on_conflict=rename", doc, http.StatusOK)

	// The same 2 s on a route of the default class: the response cannot be
	// written after its 1 s deadline.
	sb.arm(2 * time.Second)
	raw, err := json.Marshal(map[string]string{"code": helloCode})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/api/v1/tools/analyze", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(auth[0], auth[1])
	if resp, err := b.srv.Client().Do(req); err == nil {
		got, rerr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if rerr == nil {
			t.Fatalf("a default-class route answered after its deadline: %d %s", resp.StatusCode, got)
		}
	}

	// Progress: 30 tools, each analysis 50 ms; two sessions watch.
	big := b.newServer(t, auth, "bulk", "")
	for i := range 30 {
		b.newTool(t, auth, big, "t"+string(rune('a'+i/26))+string(rune('a'+i%26)), nil)
	}
	bigExport := b.call(t, http.MethodGet, "/api/v1/export?server_id="+big, nil, auth...)
	if bigExport.status != http.StatusOK {
		t.Fatalf("export: %d", bigExport.status)
	}
	if err := json.Unmarshal([]byte(bigExport.raw), &doc); err != nil {
		t.Fatal(err)
	}
	owner := bearer(b.login(t))
	other := bearer(b.login(t))
	mine := openStreamAt(t, b, "/api/v1/activity/stream?types=progress,activity", owner...)
	theirs := openStreamAt(t, b, "/api/v1/activity/stream?types=progress", other...)
	sb.setPerAnalysis(50 * time.Millisecond)
	const requestID = "be95-import-0001"
	if r := b.call(t, http.MethodPost, "/api/v1/import?on_conflict=rename", doc,
		append(owner, proto.HeaderRequestID, requestID)...); r.status != http.StatusOK {
		t.Fatalf("import: %d %s", r.status, r.raw)
	}
	done, events := -1, 0
	for done != 30 {
		ev := nextEvent(t, mine, 5*time.Second)
		if ev.name == "activity" {
			continue
		}
		var p struct {
			RequestID string `json:"request_id"`
			Operation string `json:"operation"`
			Done      int    `json:"done"`
			Total     int    `json:"total"`
		}
		if err := json.Unmarshal([]byte(ev.data), &p); err != nil || ev.name != "progress" || ev.id != "" {
			t.Fatalf("event %+v: %v", ev, err)
		}
		if p.RequestID != requestID || p.Operation != "import" || p.Total != 30 || p.Done < done {
			t.Fatalf("progress %+v after done %d", p, done)
		}
		done = p.Done
		events++
	}
	if events < 2 {
		t.Errorf("%d progress events for a 1.5 s import; want one a second plus the last", events)
	}
	select {
	case ev := <-theirs:
		if ev.name == "progress" {
			t.Fatalf("another session's stream received %+v", ev)
		}
	case <-time.After(500 * time.Millisecond):
	}
	// A reconnect replays activity rows, never progress.
	resumed := openStreamAt(t, b, "/api/v1/activity/stream?types=progress,activity", append(owner, "Last-Event-ID", "0")...)
	deadline := time.After(time.Second)
	for {
		select {
		case ev := <-resumed:
			if ev.name == "progress" {
				t.Fatalf("progress replayed: %+v", ev)
			}
			continue
		case <-deadline:
		}
		break
	}
	var audited int
	b.sql(t, "SELECT count(*) FROM activity_log WHERE request_id = $1 AND action LIKE 'import.%'", []any{&audited}, requestID)
	if audited == 0 {
		t.Errorf("no import audit row carries the request id %s", requestID)
	}
}
