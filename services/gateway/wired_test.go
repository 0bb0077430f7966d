package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// The tests of this file run the wired gateway (run) against a fake
// backend internal API and a fake sandbox on loopback: what the packages'
// own tests cannot show, the parts working together.

const (
	backendToken = "b7e1c2d3a4f5061728394a5b6c7d8e9fb7e1c2d3a4f5061728394a5b6c7d8e9f"
	sandboxToken = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
	addToolID    = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
	addServerID  = "7f9619ff-8b86-d011-b42d-00c04fc964ff"
	addHash      = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	addSchema    = `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"],"additionalProperties":false}`
)

// fakeBackend serves the internal API the gateway uses.
type fakeBackend struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	catalog     proto.Catalog
	policy      proto.Policy
	streams     []chan proto.Event
	notModified int
	records     []proto.ExecutionRecord
	requestIDs  map[string][]string // path → X-Request-Id values received
	recorded    chan struct{}
}

func newFakeBackend(t *testing.T) *fakeBackend {
	t.Helper()
	b := &fakeBackend{
		t: t, catalog: proto.Catalog{Revision: 1, Tools: []proto.CatalogTool{}, Withheld: []proto.WithheldTool{}},
		policy: proto.DefaultPolicy(), requestIDs: map[string][]string{}, recorded: make(chan struct{}, 64),
	}
	b.policy.Revision = 1
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+proto.PathInternalCatalog, b.serveCatalog)
	mux.HandleFunc("GET "+proto.PathInternalPolicy, func(w http.ResponseWriter, _ *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		writeJSON(w, b.policy)
	})
	mux.HandleFunc("GET "+proto.PathInternalEvents, b.serveEvents)
	mux.HandleFunc("GET "+proto.PathInternalPlan, b.servePlan)
	mux.HandleFunc("POST "+proto.PathInternalExecutions, b.serveExecutions)
	mux.HandleFunc("POST "+proto.PathInternalManage, b.serveManage)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(proto.HeaderServiceToken) != backendToken {
			http.Error(w, "token", http.StatusForbidden)
			return
		}
		b.mu.Lock()
		b.requestIDs[r.URL.Path] = append(b.requestIDs[r.URL.Path], r.Header.Get(proto.HeaderRequestID))
		b.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (b *fakeBackend) serveCatalog(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	etag := `"` + strconv.FormatInt(b.catalog.Revision, 10) + `"`
	if r.Header.Get("If-None-Match") == etag {
		b.notModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	writeJSON(w, b.catalog)
}

func (b *fakeBackend) serveEvents(w http.ResponseWriter, r *http.Request) {
	ch := make(chan proto.Event, 16)
	b.mu.Lock()
	hello := proto.Event{Type: proto.EventHello, CatalogRevision: b.catalog.Revision, PolicyRevision: b.policy.Revision}
	b.streams = append(b.streams, ch)
	b.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(ev proto.Event) bool {
		frame, err := ev.MarshalSSE()
		if err != nil {
			b.t.Error(err)
			return false
		}
		if _, err := w.Write(frame); err != nil {
			return false
		}
		http.NewResponseController(w).Flush() //nolint:errcheck // a failed flush ends the stream below
		return true
	}
	if !send(hello) {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-ch:
			if !send(ev) {
				return
			}
		}
	}
}

// publish sends ev on every open event stream.
func (b *fakeBackend) publish(ev proto.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range b.streams {
		ch <- ev
	}
}

func (b *fakeBackend) servePlan(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != addToolID {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, proto.Plan{
		ToolID: addToolID, ServerID: addServerID, ServerName: "e2e", Name: "e2e__add", Kind: proto.ToolKindGo, Version: 1,
		Hash: addHash, Code: "package tool\n", Manifest: proto.Manifest{Hosts: []string{}, Packages: []string{}, Secrets: []string{}, TimeoutMS: 30000, MemoryMB: 128},
		InputSchema: json.RawMessage(addSchema), OutputSchema: json.RawMessage("null"), AllowedHosts: proto.OnlyHosts(),
		ExtraPackages: []string{}, Secrets: map[string]string{}, Limits: proto.Limits{TimeoutMS: 30000, MemoryMB: 128},
	})
}

func (b *fakeBackend) serveExecutions(w http.ResponseWriter, r *http.Request) {
	var batch proto.ExecutionBatch
	if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.records = append(b.records, batch.Records...)
	b.mu.Unlock()
	writeJSON(w, proto.ExecutionBatchResult{Accepted: len(batch.Records), Rejected: []proto.RejectedRecord{}})
	b.recorded <- struct{}{}
}

// serveManage answers mcpbox_validate_code as the backend does for code
// that does not compile (backend.md §10.2: a successful answer with valid
// false); other operations are unknown here.
func (b *fakeBackend) serveManage(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("tool") != string(proto.MgmtValidateCode) {
		w.WriteHeader(http.StatusNotFound)
		writeJSON(w, proto.ErrorBody{Error: proto.Error{Code: proto.CodeUnknownTool, Message: "Unknown tool"}})
		return
	}
	writeJSON(w, proto.ManageResponse{OK: true, Result: json.RawMessage(`{"valid":false,"errors":[{"line":4,"column":9,"message":"undefined: total"}],` +
		`"description":"","input_schema":null,"output_schema":null,"packages":{"default":[],"approved":[],"pending":[],"forbidden":[]},"secrets":[]}`)})
}

// setCatalog replaces the catalog with a new revision; publish says
// whether to announce it on the event streams.
func (b *fakeBackend) setCatalog(tools []proto.CatalogTool, publish bool) {
	b.mu.Lock()
	b.catalog.Revision++
	b.catalog.Tools = tools
	rev := b.catalog.Revision
	b.mu.Unlock()
	if publish {
		b.publish(proto.Event{Type: proto.EventCatalogChanged, Revision: rev})
	}
}

func (b *fakeBackend) recordsSnapshot() []proto.ExecutionRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]proto.ExecutionRecord(nil), b.records...)
}

func addTool() proto.CatalogTool {
	return proto.CatalogTool{
		ToolID: addToolID, ServerID: addServerID, ServerName: "e2e", Name: "e2e__add", Kind: proto.ToolKindGo, Version: 1,
		Hash: addHash, Description: "Adds two numbers.", InputSchema: json.RawMessage(addSchema),
		OutputSchema: json.RawMessage("null"), Annotations: json.RawMessage("null"), TimeoutMS: 30000,
	}
}

// fakeSandbox answers /v1/execute with {"sum": a+b} after delay (or, with
// block, not before the request is cancelled).
type fakeSandbox struct {
	srv      *httptest.Server
	mu       sync.Mutex
	delay    time.Duration
	block    bool
	ids      []string
	received chan struct{}
}

func newFakeSandbox(t *testing.T) *fakeSandbox {
	t.Helper()
	s := &fakeSandbox{received: make(chan struct{}, 16)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != proto.PathSandboxExecute || r.Header.Get(proto.HeaderServiceToken) != sandboxToken {
			http.NotFound(w, r)
			return
		}
		var req proto.ExecuteRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.ids = append(s.ids, r.Header.Get(proto.HeaderRequestID))
		delay, block := s.delay, s.block
		s.mu.Unlock()
		s.received <- struct{}{}
		if block {
			<-r.Context().Done()
			return
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		var in struct{ A, B int }
		_ = json.Unmarshal(req.Arguments, &in)
		result := fmt.Sprintf(`{"sum":%d}`, in.A+in.B)
		writeJSON(w, proto.ExecuteResponse{OK: true, Result: json.RawMessage(result), ContentText: result, Structured: true, DurationMS: 3})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// startGateway runs the wired gateway against the fakes with extra env.
func startGateway(t *testing.T, be *fakeBackend, sb *fakeSandbox, extra map[string]string) (*lifecycletest.Service, map[string]string) {
	t.Helper()
	env := map[string]string{
		"MCPBOX_BACKEND_TOKEN": backendToken, "MCPBOX_SANDBOX_TOKEN": sandboxToken, "MCPBOX_GATEWAY_TOKEN": gatewayToken,
		"MCPBOX_BACKEND_INTERNAL_URL": be.srv.URL, "MCPBOX_SANDBOX_URL": sb.srv.URL,
		"MCPBOX_GATEWAY_LOCAL_LISTEN": "127.0.0.1:0", "MCPBOX_GATEWAY_REMOTE_LISTEN": "127.0.0.1:0",
	}
	for k, v := range extra {
		env[k] = v
	}
	svc := lifecycletest.Start(t, run, nil, env)
	urls := map[string]string{"local": "http://" + svc.Logs.WaitListening(t, "local") + "/mcp"}
	if env["MCPBOX_GATEWAY_REMOTE_LISTEN"] != "off" {
		urls["remote"] = "http://" + svc.Logs.WaitListening(t, "remote") + "/mcp"
	}
	waitReady(t, strings.TrimSuffix(urls["local"], "/mcp"))
	return svc, urls
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := lifecycletest.Get(t, base+"/readyz"); code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rpc posts one JSON-RPC request session-less and returns the status, the
// headers and the JSON-RPC message (from JSON or from the SSE answer).
func rpc(t *testing.T, url, method, params string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":7,"method":"` + method + `","params":` + params + `}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var msg map[string]any
	for _, line := range strings.Split(string(raw), "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			raw = []byte(data)
		}
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &msg); err != nil {
			t.Fatalf("%s answer %q: %v", method, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, msg
}

// toolNames lists tools/list's names (session-less), or nil with the error.
func toolNames(t *testing.T, url string, header ...string) ([]string, map[string]any) {
	t.Helper()
	_, _, msg := rpc(t, url, "tools/list", `{}`, header...)
	result, ok := msg["result"].(map[string]any)
	if !ok {
		return nil, msg
	}
	var names []string
	for _, tool := range result["tools"].([]any) {
		names = append(names, tool.(map[string]any)["name"].(string))
	}
	return names, msg
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// eventually polls cond every 20 ms for at most d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// GW-54: an approval (a new catalog revision) reaches tools/list within 2 s
// through the event stream; with no event, within one poll interval; the
// conditional fetches of an unchanged catalog get 304.
func TestGW54_CatalogChangesReachToolsList(t *testing.T) {
	t.Parallel()
	be, sb := newFakeBackend(t), newFakeSandbox(t)
	_, urls := startGateway(t, be, sb, map[string]string{"MCPBOX_GATEWAY_CATALOG_POLL": "1s", "MCPBOX_GATEWAY_REMOTE_LISTEN": "off"})
	if names, msg := toolNames(t, urls["local"]); len(names) != 30 {
		t.Fatalf("tools/list before: %v %v", names, msg)
	}
	be.setCatalog([]proto.CatalogTool{addTool()}, true)
	eventually(t, 2*time.Second, "the approved tool through the event stream", func() bool {
		names, _ := toolNames(t, urls["local"])
		return contains(names, "e2e__add")
	})
	second := addTool()
	second.ToolID, second.Name = "8f9619ff-8b86-d011-b42d-00c04fc964ff", "e2e__sub"
	be.setCatalog([]proto.CatalogTool{addTool(), second}, false)
	eventually(t, 3*time.Second, "the next tool through the poll, without an event", func() bool {
		names, _ := toolNames(t, urls["local"])
		return contains(names, "e2e__sub")
	})
	eventually(t, 3*time.Second, "a 304 for an unchanged catalog", func() bool {
		be.mu.Lock()
		defer be.mu.Unlock()
		return be.notModified > 0
	})
}

// GW-41: a policy change event takes effect within 2 s without restart: a
// remote caller outside the allowlist is limited, then served once the
// backend announces a policy that lists it.
func TestGW41_PolicyChangeAppliesWithoutRestart(t *testing.T) {
	t.Parallel()
	be, sb := newFakeBackend(t), newFakeSandbox(t)
	be.policy.RemoteEmailAllowlist = proto.RemoteEmailAllowlist{Mode: proto.AllowEmails, Values: []string{"a@x.com"}}
	_, urls := startGateway(t, be, sb, nil)
	remote := []string{proto.HeaderServiceToken, gatewayToken, proto.HeaderUserEmail, "b@x.com"}
	eventually(t, 5*time.Second, "the remote policy loaded", func() bool {
		code, _, _ := rpc(t, urls["remote"], "ping", `{}`, remote...)
		return code == http.StatusOK
	})
	names, msg := toolNames(t, urls["remote"], remote...)
	if names != nil || !strings.Contains(fmt.Sprint(msg["error"]), "-32080") && !strings.Contains(fmt.Sprint(msg["error"]), "32080") {
		t.Fatalf("b@x.com before the change: %v %v", names, msg)
	}
	be.mu.Lock()
	be.policy.RemoteEmailAllowlist.Values = []string{"a@x.com", "b@x.com"}
	be.policy.Revision++
	rev := be.policy.Revision
	be.mu.Unlock()
	be.publish(proto.Event{Type: proto.EventPolicyChanged, Revision: rev})
	eventually(t, 2*time.Second, "b@x.com served after the policy change", func() bool {
		names, _ := toolNames(t, urls["remote"], remote...)
		return len(names) == 30
	})
}

// GW-75: an external tool is served as pinned — its description, input
// schema and annotations exactly as the catalog gives them, under its
// exposed name — and nothing the upstream has beyond that (title, icons,
// outputSchema).
func TestGW75_ExternalToolServedAsPinned(t *testing.T) {
	t.Parallel()
	be, sb := newFakeBackend(t), newFakeSandbox(t)
	ext := proto.CatalogTool{
		ToolID: "9f9619ff-8b86-d011-b42d-00c04fc964ff", ServerID: addServerID, ServerName: "github", Name: "github__list_repos",
		Kind: proto.ToolKindExternal, Version: 1, Hash: addHash, Description: "Lists the repositories of a user.",
		InputSchema:  json.RawMessage(`{"type":"object","properties":{"user":{"type":"string"}},"required":["user"]}`),
		OutputSchema: json.RawMessage("null"), Annotations: json.RawMessage(`{"readOnlyHint":true,"openWorldHint":true,"x-vendor":1}`),
		TimeoutMS: 30000,
	}
	be.catalog.Tools = []proto.CatalogTool{ext}
	_, urls := startGateway(t, be, sb, map[string]string{"MCPBOX_GATEWAY_REMOTE_LISTEN": "off"})
	_, _, msg := rpc(t, urls["local"], "tools/list", `{}`)
	var tool map[string]any
	for _, v := range msg["result"].(map[string]any)["tools"].([]any) {
		if m := v.(map[string]any); m["name"] == ext.Name {
			tool = m
		}
	}
	if tool == nil {
		t.Fatalf("%s not listed: %v", ext.Name, msg)
	}
	for _, absent := range []string{"title", "icons", "outputSchema"} {
		if _, ok := tool[absent]; ok {
			t.Errorf("%s served: %v", absent, tool[absent])
		}
	}
	for key, want := range map[string]string{
		"description": `"Lists the repositories of a user."`, "inputSchema": string(ext.InputSchema), "annotations": string(ext.Annotations),
	} {
		got, err := json.Marshal(tool[key])
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		_ = json.Unmarshal(got, &g)
		_ = json.Unmarshal([]byte(want), &w)
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
}

// GW-95: a request id from the edge (remote listener) goes unchanged to the
// backend's plan request and to the sandbox, and into the access log; on
// the local listener without one, the gateway makes one, returns it and
// uses it the same way.
func TestGW95_RequestIDsTravel(t *testing.T) {
	t.Parallel()
	be, sb := newFakeBackend(t), newFakeSandbox(t)
	be.catalog.Tools = []proto.CatalogTool{addTool()}
	be.policy.RemoteEmailAllowlist = proto.RemoteEmailAllowlist{Mode: proto.AllowEveryone, Values: []string{}}
	svc, urls := startGateway(t, be, sb, nil)
	call := `{"name":"e2e__add","arguments":{"a":2,"b":40}}`
	const edgeID = "edge-req-95"
	eventually(t, 5*time.Second, "the remote call answered", func() bool {
		code, _, msg := rpc(t, urls["remote"], "tools/call", call,
			proto.HeaderServiceToken, gatewayToken, proto.HeaderUserEmail, "u@x.com", proto.HeaderRequestID, edgeID)
		return code == http.StatusOK && msg["result"] != nil
	})
	be.mu.Lock()
	planIDs := be.requestIDs["/internal/v1/tools/"+addToolID+"/plan"]
	be.mu.Unlock()
	sb.mu.Lock()
	sandboxIDs := append([]string(nil), sb.ids...)
	sb.mu.Unlock()
	if !contains(planIDs, edgeID) || !contains(sandboxIDs, edgeID) {
		t.Errorf("edge id %s: plan requests %v, sandbox requests %v", edgeID, planIDs, sandboxIDs)
	}
	if !strings.Contains(svc.Logs.String(), edgeID) {
		t.Errorf("the access log lacks %s", edgeID)
	}
	code, header, msg := rpc(t, urls["local"], "tools/call", call)
	local := header.Get(proto.HeaderRequestID)
	if code != http.StatusOK || msg["result"] == nil || !proto.ValidRequestID(local) {
		t.Fatalf("local call: %d %q %v", code, local, msg)
	}
	sb.mu.Lock()
	last := sb.ids[len(sb.ids)-1]
	sb.mu.Unlock()
	if last != local {
		t.Errorf("the sandbox got %q, the client %q", last, local)
	}
}

// GW-93, OPS-23: SIGTERM during a 2 s tool call: /readyz turns 503 at once
// and mcpbox_gateway_draining reads 1, the call completes and its record is
// delivered (the queue is flushed), and the process exits 0.
// (The 503 -32082 with Retry-After 1 for a request that arrives after the
// delay is checked by the listen package's TestGW36_SecurityHeaders.)
func TestGW93_ShutdownLetsTheCallFinish(t *testing.T) {
	t.Parallel()
	be, sb := newFakeBackend(t), newFakeSandbox(t)
	be.catalog.Tools = []proto.CatalogTool{addTool()}
	sb.delay = 2 * time.Second
	svc, urls := startGateway(t, be, sb, map[string]string{"MCPBOX_GATEWAY_REMOTE_LISTEN": "off", "MCPBOX_SHUTDOWN_DELAY": "300ms"})
	base := strings.TrimSuffix(urls["local"], "/mcp")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	session, err := mcp.NewClient(&mcp.Implementation{Name: "gw93", Version: "1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: urls["local"]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		res *mcp.CallToolResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "e2e__add", Arguments: map[string]int{"a": 2, "b": 40}})
		done <- answer{res, err}
	}()
	<-sb.received
	stopped := make(chan error, 1)
	go func() { stopped <- svc.Stop() }()
	eventually(t, time.Second, "/readyz 503 at once", func() bool {
		code, _ := lifecycletest.Get(t, base+"/readyz")
		return code == http.StatusServiceUnavailable
	})
	if _, metrics := lifecycletest.Get(t, base+"/metrics"); !strings.Contains(metrics, "\nmcpbox_gateway_draining 1\n") {
		t.Error("mcpbox_gateway_draining is not 1 while the gateway drains")
	}
	a := <-done
	if a.err != nil || a.res.IsError {
		t.Fatalf("the call during the shutdown: %v %+v", a.err, a.res)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("exit: %v", err)
	}
	recs := be.recordsSnapshot()
	if len(recs) != 1 || !recs[0].Success {
		t.Fatalf("records delivered: %+v", recs)
	}
}

// GW-94: a call still running at the drain deadline is cancelled and
// recorded as cancelled, and the process still exits 0.
func TestGW94_CallCutAtTheDrainDeadlineIsRecordedCancelled(t *testing.T) {
	t.Parallel()
	be, sb := newFakeBackend(t), newFakeSandbox(t)
	be.catalog.Tools = []proto.CatalogTool{addTool()}
	sb.block = true
	svc, urls := startGateway(t, be, sb, map[string]string{"MCPBOX_GATEWAY_REMOTE_LISTEN": "off", "MCPBOX_SHUTDOWN_TIMEOUT": "1s"})
	go func() {
		// The drain cuts this request off: its answer, if any, is not the point.
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e2e__add","arguments":{"a":1,"b":1}}}`
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, urls["local"], strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	}()
	<-sb.received
	if err := svc.Stop(); err != nil {
		t.Errorf("exit after a cut-off call: %v (the drain deadline is a designed end, exit 0)", err)
	}
	recs := be.recordsSnapshot()
	if len(recs) != 1 || recs[0].Success || recs[0].ErrorCode != string(proto.OutcomeCancelled) {
		t.Fatalf("records: %+v", recs)
	}
}

// GW-90: a go-sdk client that ignores list_changed runs a tool approved
// after its tools/list through mcpbox_run_tool, without reconnecting.
func TestGW90_RunToolReachesToolsApprovedAfterTheListing(t *testing.T) {
	t.Parallel()
	be, sb := newFakeBackend(t), newFakeSandbox(t)
	_, urls := startGateway(t, be, sb, map[string]string{"MCPBOX_GATEWAY_REMOTE_LISTEN": "off", "MCPBOX_GATEWAY_SESSION_MODE": "hybrid"})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	session, err := mcp.NewClient(&mcp.Implementation{Name: "gw90", Version: "1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: urls["local"]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = session.Close() }()
	listed, err := session.ListTools(ctx, nil)
	if err != nil || len(listed.Tools) != 30 {
		t.Fatalf("tools/list: %v %v", listed, err)
	}
	be.setCatalog([]proto.CatalogTool{addTool()}, true)
	var res *mcp.CallToolResult
	eventually(t, 5*time.Second, "e2e__add through mcpbox_run_tool", func() bool {
		res, err = session.CallTool(ctx, &mcp.CallToolParams{
			Name: string(proto.MgmtRunTool), Arguments: map[string]any{"name": "e2e__add", "arguments": map[string]int{"a": 2, "b": 40}},
		})
		return err == nil && !res.IsError
	})
	got, err := json.Marshal(res.StructuredContent)
	if err != nil || string(got) != `{"sum":42}` {
		t.Fatalf("structuredContent %s (%v)", got, err)
	}
	recs := func() []proto.ExecutionRecord { return be.recordsSnapshot() }
	eventually(t, 5*time.Second, "the run_tool record", func() bool {
		for _, r := range recs() {
			if r.Via == proto.ViaRunTool && r.Success {
				return true
			}
		}
		return false
	})
}

// GW-91: mcpbox_validate_code on code that does not compile is a
// successful result with valid false and the error's line, not isError.
func TestGW91_ValidateCodeCompileErrorIsASuccessfulAnswer(t *testing.T) {
	t.Parallel()
	be, sb := newFakeBackend(t), newFakeSandbox(t)
	_, urls := startGateway(t, be, sb, map[string]string{"MCPBOX_GATEWAY_REMOTE_LISTEN": "off"})
	params, err := json.Marshal(map[string]any{"name": "mcpbox_validate_code", "arguments": map[string]string{
		"code": "package tool\n\nimport \"context\"\n\n// Main adds.\nfunc Main(ctx context.Context) (any, error) { return total, nil }\n",
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, msg := rpc(t, urls["local"], "tools/call", string(params))
	result, _ := msg["result"].(map[string]any)
	if result == nil || result["isError"] == true {
		t.Fatalf("validate_code: %v", msg)
	}
	sc, _ := result["structuredContent"].(map[string]any)
	errs, _ := sc["errors"].([]any)
	if sc["valid"] != false || len(errs) != 1 || errs[0].(map[string]any)["line"] != float64(4) {
		t.Fatalf("structuredContent %v", sc)
	}
}
