package ui_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/html"

	"github.com/mcpbox/mcpbox/proto"
)

// The dashboard and activity areas' tests need every service (dashboard,
// executions, activity, servers) and the sandbox's /readyz, so they run
// against the backend as package wiring builds it, with a fake sandbox
// whose readiness a test sets. Data arrives through the internal API, as
// the gateway and the LLM send it.

const (
	actToken        = "e7e1c2d3a4f5061728394a5b6c7d8e9fb7e1c2d3a4f5061728394a5b6c7d8e9f"
	actSandboxToken = "f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0"
)

// actSandbox is a fake sandbox: /readyz answers what the test set, and
// analysis accepts any code.
type actSandbox struct {
	srv       *httptest.Server
	mu        sync.Mutex
	readiness proto.SandboxReadiness
}

func (s *actSandbox) set(r proto.SandboxReadiness) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readiness = r
}

func newActSandbox(t *testing.T) *actSandbox {
	t.Helper()
	s := &actSandbox{readiness: proto.SandboxReadiness{Status: proto.ReadinessReady, Warm: 2, Busy: 1, Isolation: proto.IsolationFull}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+proto.PathReadyz, func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		r := s.readiness
		s.mu.Unlock()
		status := http.StatusOK
		if r.Status != proto.ReadinessReady {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(r)
	})
	mux.HandleFunc("POST "+proto.PathSandboxAnalyze, func(w http.ResponseWriter, r *http.Request) {
		var req proto.AnalyzeRequest
		if r.Header.Get(proto.HeaderServiceToken) != actSandboxToken || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(proto.AnalyzeResponse{
			OK: true, CodeSHA256: "sha256:" + strings.Repeat("ab", 32), AnalyzerVersion: "activity-fake",
			Main:        &proto.MainInfo{HasInput: true, InputType: "Input", OutputType: "string"},
			InputSchema: json.RawMessage(`{"type":"object","properties":{}}`), OutputSchema: json.RawMessage(`{"type":"string"}`),
			Imports: []proto.Import{}, Secrets: []string{}, Diagnostics: []proto.Diagnostic{}, Description: "A tool.",
		})
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// actBackend is a wired backend; backend is the shape the shared helpers
// (browser, setup, login) take.
type actBackend struct {
	*backend
	internal *httptest.Server
	sandbox  *actSandbox
}

func newActBackend(t *testing.T) *actBackend {
	t.Helper()
	sb := newActSandbox(t)
	b := newBackend(t, func(o *options) { o.sandboxURL, o.sandboxToken, o.token = sb.srv.URL, actSandboxToken, actToken })
	return &actBackend{backend: b, internal: b.internal, sandbox: sb}
}

// signedIn returns a browser that completed setup (Strict) and is signed in.
func (b *actBackend) signedIn(t *testing.T) *browser {
	t.Helper()
	br := b.browser(t, "192.0.2.60")
	br.setup(t, "strict")
	return br
}

func actPost(t *testing.T, url string, body any) []byte {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(proto.HeaderServiceToken, actToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, out)
	}
	return out
}

// manage calls a management tool through the internal API, as the LLM does.
func (b *actBackend) manage(t *testing.T, tool string, args, result any) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	out := actPost(t, b.internal.URL+proto.PathInternalAPIPrefix+"/manage/"+tool,
		proto.ManageRequest{Arguments: raw, Caller: proto.Caller{Kind: proto.CallerLocal}})
	var resp proto.ManageResponse
	if json.Unmarshal(out, &resp) != nil || !resp.OK {
		t.Fatalf("manage %s: %s", tool, out)
	}
	if result != nil {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			t.Fatal(err)
		}
	}
}

// server creates a server through the management tools and returns its id.
func (b *actBackend) server(t *testing.T, name string) string {
	t.Helper()
	var s struct {
		ID string `json:"server_id"`
	}
	b.manage(t, "mcpbox_create_server", map[string]any{"name": name, "description": "The " + name + " server"}, &s)
	return s.ID
}

// actExec is a record the gateway would send.
type actExec struct {
	name     string
	server   string
	ok       bool
	code     string
	caller   proto.CallerKind
	email    string
	duration int64
}

// testRun stores the record of an admin's test run the way the backend
// records it (test runs never come from the gateway).
func (b *actBackend) testRun(t *testing.T, name string) string {
	t.Helper()
	id := uuid.NewString()
	b.sql(t, `INSERT INTO execution_records (id, exposed_name, via, is_test, caller_kind, success, duration_ms)
		VALUES ($1, $2, 'test', true, 'admin', true, 5)`, id, name)
	return id
}

// post sends records through POST /internal/v1/executions, in order, and
// returns their ids.
func (b *actBackend) post(t *testing.T, recs ...actExec) []string {
	t.Helper()
	batch := proto.ExecutionBatch{}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = uuid.NewString()
		rec := proto.ExecutionRecord{
			ID: ids[i], ServerID: r.server, ExposedName: r.name, Via: proto.ViaDirect,
			Caller: proto.Caller{Kind: r.caller, Email: r.email}, Success: r.ok, DurationMS: r.duration,
			StartedAt: time.Now().UTC(), InputArgs: json.RawMessage(`{"city":"<Paris>"}`), Result: json.RawMessage(`{"t":21}`),
		}
		if rec.Caller.Kind == "" {
			rec.Caller.Kind = proto.CallerLocal
		}
		if !r.ok {
			rec.ErrorCode, rec.Error, rec.Result = r.code, "it failed: "+r.code, nil
		}
		batch.Records = append(batch.Records, rec)
	}
	// One record a batch keeps their order (seq) the order given.
	for _, rec := range batch.Records {
		out := actPost(t, b.internal.URL+proto.PathInternalExecutions, proto.ExecutionBatch{Records: []proto.ExecutionRecord{rec}})
		var res proto.ExecutionBatchResult
		if json.Unmarshal(out, &res) != nil || len(res.Rejected) > 0 {
			t.Fatalf("executions rejected: %s", out)
		}
	}
	return ids
}

// Helpers over parsed pages.

// actByClass returns the elements whose class list holds class.
func actByClass(n *html.Node, class string) []*html.Node {
	return findAll(n, func(n *html.Node) bool { return strings.Contains(" "+attr(n, "class")+" ", " "+class+" ") })
}

// actRowIDs are the ids of the summary rows in the activity table, in order.
func actRowIDs(p page) []string {
	var out []string
	for _, n := range actByClass(p.doc, "act-row") {
		out = append(out, attr(n, "id"))
	}
	return out
}

// actTable re-parses a fragment the way htmx does (inside <template>), so
// the table rows and bodies of out-of-band swaps keep their elements.
func actTable(t *testing.T, p page) page {
	t.Helper()
	doc, err := html.Parse(strings.NewReader("<!DOCTYPE html><html><body><template>" + p.body + "</template></body></html>"))
	if err != nil {
		t.Fatal(err)
	}
	p.doc = doc
	return p
}

// actCheck runs the shared page checks; the dashboard chart is the one
// SVG that is not decorative (role=img with a name, admin-ui.md §8), so
// it is checked here and then exempted from the icon rule.
func actCheck(t *testing.T, name string, p page, full bool) {
	t.Helper()
	if svg := p.byID("dashboard-chart-svg"); svg != nil {
		if attr(svg, "role") != "img" || attr(svg, "aria-label") == "" {
			t.Errorf("%s: chart svg role=%q aria-label=%q", name, attr(svg, "role"), attr(svg, "aria-label"))
		}
		svg.Attr = append(svg.Attr, html.Attribute{Key: "aria-hidden", Val: "true"})
	}
	checkHTML(t, name, p, full)
}

// actHX is the header pair of an htmx request.
var actHX = []string{"HX-Request", "true"}
