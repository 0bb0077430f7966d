package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
)

// The servers and the tool of the load run.
const (
	loadServer = "load"               // holds the trivial tool add (P1)
	listServer = "list"               // holds the other user tools of P2
	addTool    = loadServer + "__add" // the exposed name P1 calls
	addArgs    = `{"a":1,"b":2}`      // P1's arguments
	addWant    = 3                    // the sum load__add must return for addArgs
)

// Management tools the seeding calls (backend.md §10.2).
const (
	mgmtCreateServer   = "mcpbox_create_server"
	mgmtCreateTool     = "mcpbox_create_tool"
	mgmtRequestPublish = "mcpbox_request_publish"
	mgmtStartServer    = "mcpbox_start_server"
)

// seedConcurrency is how many mcpbox_create_tool calls are in flight while P2's tools are created.
const seedConcurrency = 4

// toolCode is the Go source of a trivial tool (sandbox.md's tool language: package tool, Input, Main with a doc
// comment, which becomes the description). about finishes the doc comment, so every listed tool has its own.
func toolCode(about string) string {
	return `package tool

import "context"

// Input holds the two numbers to add.
type Input struct {
	A int ` + "`json:\"a\" jsonschema:\"first addend\"`" + `
	B int ` + "`json:\"b\" jsonschema:\"second addend\"`" + `
}

// Output is the sum.
type Output struct {
	Sum int ` + "`json:\"sum\"`" + `
}

// Main adds a and b` + about + `.
func Main(ctx context.Context, in Input) (any, error) {
	return Output{Sum: in.A + in.B}, nil
}
`
}

// listToolName is the name of the i-th extra tool of P2 (1-based), zero-padded so names sort as numbers.
func listToolName(i int) string { return fmt.Sprintf("tool_%04d", i) }

// listToolAbout is the end of the i-th extra tool's description.
func listToolAbout(i, n int) string {
	return fmt.Sprintf(" (tool %d of %d of the tools/list load run)", i, n)
}

// seeder seeds the stack through the local listener's management tools and the admin API.
type seeder struct {
	mcp   *mcpClient
	admin *admin
}

// createdTool is the part of mcpbox_create_tool's result the seeding reads.
type createdTool struct {
	ToolID       string `json:"tool_id"`
	ExposedName  string `json:"exposed_name"`
	Version      int    `json:"version"`
	Hash         string `json:"hash"`
	ReviewStatus string `json:"review_status"`
}

// createServer creates a stopped server and returns its id.
func (s *seeder) createServer(ctx context.Context, name string) (string, error) {
	var srv struct {
		ServerID string `json:"server_id"`
	}
	if err := s.mcp.manage(ctx, mgmtCreateServer, map[string]any{"name": name}, &srv); err != nil {
		return "", err
	}
	if srv.ServerID == "" {
		return "", fmt.Errorf("%s %s: no server_id", mgmtCreateServer, name)
	}
	return srv.ServerID, nil
}

// createTool creates a draft tool.
func (s *seeder) createTool(ctx context.Context, serverID, name, code string) (createdTool, error) {
	var t createdTool
	if err := s.mcp.manage(ctx, mgmtCreateTool, map[string]any{"server_id": serverID, "name": name, "code": code}, &t); err != nil {
		return createdTool{}, err
	}
	if t.ToolID == "" || t.Version < 1 || t.Hash == "" {
		return createdTool{}, fmt.Errorf("%s %s: result without tool_id, version or hash: %+v", mgmtCreateTool, name, t)
	}
	return t, nil
}

// startServer starts a server; the gateway answers once its catalog holds the start (GW-86).
func (s *seeder) startServer(ctx context.Context, serverID string) error {
	var out struct {
		Status string `json:"status"`
	}
	if err := s.mcp.manage(ctx, mgmtStartServer, map[string]any{"server_id": serverID}, &out); err != nil {
		return err
	}
	if out.Status != "running" {
		return fmt.Errorf("%s: status %q, want running", mgmtStartServer, out.Status)
	}
	return nil
}

// seedAdd creates server load and the trivial tool add, requests its publication, approves the version and hash
// the admin read, starts the server, waits until tools/list serves load__add and checks one call returns the sum.
func (s *seeder) seedAdd(ctx context.Context) error {
	serverID, err := s.createServer(ctx, loadServer)
	if err != nil {
		return err
	}
	t, err := s.createTool(ctx, serverID, "add", toolCode(""))
	if err != nil {
		return err
	}
	var pub struct {
		ReviewStatus string `json:"review_status"`
	}
	if err := s.mcp.manage(ctx, mgmtRequestPublish, map[string]any{"tool_id": t.ToolID}, &pub); err != nil {
		return err
	}
	if pub.ReviewStatus != "pending_review" {
		return fmt.Errorf("%s: review_status %q, want pending_review", mgmtRequestPublish, pub.ReviewStatus)
	}
	if err := s.admin.approveLatest(ctx, t.ToolID); err != nil {
		return err
	}
	if err := s.startServer(ctx, serverID); err != nil {
		return err
	}
	if err := s.mcp.waitUserTools(ctx, 1, addTool); err != nil {
		return err
	}
	return s.checkAdd(ctx)
}

// checkAdd calls load__add once with P1's arguments through the real sandbox.
func (s *seeder) checkAdd(ctx context.Context) error {
	var args map[string]any
	if err := json.Unmarshal([]byte(addArgs), &args); err != nil {
		return fmt.Errorf("P1 arguments: %w", err)
	}
	r, err := s.mcp.call(ctx, addTool, args)
	if err != nil {
		return err
	}
	if r.IsError {
		return fmt.Errorf("%s: %s", addTool, resultText(r))
	}
	b, err := json.Marshal(r.StructuredContent)
	if err != nil {
		return fmt.Errorf("%s: structuredContent: %w", addTool, err)
	}
	var out struct {
		Sum *int `json:"sum"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Sum == nil || *out.Sum != addWant {
		return fmt.Errorf("%s %s returned %s, want {\"sum\":%d}", addTool, addArgs, truncate(string(b), 200), addWant)
	}
	return nil
}

// seedList brings the catalog from have to total user tools: it creates total-have tools in server list,
// approves them in bulk with the versions and hashes the creation returned, starts the server (one catalog change)
// and waits until tools/list serves all of them.
func (s *seeder) seedList(ctx context.Context, have, total int, progress func(string)) error {
	n := total - have
	if n < 1 {
		return nil
	}
	serverID, err := s.createServer(ctx, listServer)
	if err != nil {
		return err
	}
	tools, err := s.createMany(ctx, serverID, n, progress)
	if err != nil {
		return err
	}
	progress(fmt.Sprintf("approving %d tools in bulk", n))
	if err := s.admin.approveAll(ctx, tools); err != nil {
		return err
	}
	if err := s.startServer(ctx, serverID); err != nil {
		return err
	}
	return s.mcp.waitUserTools(ctx, total, addTool, listServer+"__"+listToolName(n))
}

// createMany creates tools tool_0001 … tool_<n> in serverID, seedConcurrency at a time; the first error stops it.
func (s *seeder) createMany(ctx context.Context, serverID string, n int, progress func(string)) ([]toolVersion, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]toolVersion, n)
	next := make(chan int)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		mu    sync.Mutex
		done  int
	)
	for range seedConcurrency {
		wg.Go(func() {
			for i := range next {
				t, err := s.createTool(ctx, serverID, listToolName(i+1), toolCode(listToolAbout(i+1, n)))
				if err != nil {
					once.Do(func() { first = err; cancel() })
					continue
				}
				out[i] = toolVersion{ID: t.ToolID, Version: t.Version, Hash: t.Hash}
				mu.Lock()
				done++
				if done%100 == 0 || done == n {
					progress(fmt.Sprintf("created %d of %d tools", done, n))
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("creating the tools of %s: %w", listServer, err)
	}
	return out, nil
}

// describeSeed says what the catalog holds during P2, for the run log.
func describeSeed(total int) string {
	if total <= 1 {
		return addTool
	}
	return fmt.Sprintf("%s and %s__%s … %s__%s", addTool, listServer, listToolName(1), listServer, listToolName(total-1))
}

// The tool of the brokered HTTP scenario: one GET to loadstack's loopback target, through the sandbox's broker.
const (
	fetchServer = "fetch"                  // holds the tool get
	fetchTool   = fetchServer + "__get"    // the exposed name the scenario calls
	fetchArgs   = `{}`                     // it takes no argument
	fetchBody   = "loadstack fetch target" // what the target answers, and the tool returns
)

// fetchCode is the Go source of the tool get: one GET of url through mcpbox.HTTP (sandbox.md §8), returning the
// status and the body.
func fetchCode(url string) string {
	return `package tool

import (
	"context"

	"mcpbox"
)

// Input is empty: the tool always reads the same address.
type Input struct{}

// Output is what the target answered.
type Output struct {
	Status int    ` + "`json:\"status\"`" + `
	Body   string ` + "`json:\"body\"`" + `
}

// Main reads the load run's loopback target once through the HTTP broker.
func Main(ctx context.Context, in Input) (any, error) {
	resp, err := mcpbox.HTTP.Get(ctx, "` + url + `", nil)
	if err != nil {
		return nil, err
	}
	return Output{Status: resp.Status, Body: resp.Text()}, nil
}
`
}

// seedFetch creates server fetch, has the admin grant it the target's loopback host:port (a private host, which
// only an approval opens, and which the e2e sandbox reaches because MCPBOX_SANDBOX_E2E_LOOPBACK names it),
// creates the tool get with that host in its manifest, requests its publication, approves it, starts the server
// and checks one call returns the target's body.
func (s *seeder) seedFetch(ctx context.Context, target *fetchTarget) error {
	serverID, err := s.createServer(ctx, fetchServer)
	if err != nil {
		return err
	}
	if err := s.admin.do(ctx, http.MethodPost, "/api/v1/servers/"+url.PathEscape(serverID)+"/network-requests",
		map[string]any{"host": target.host, "port": target.port, "justification": "loadstack: the loopback target of the brokered HTTP scenario"}, nil); err != nil {
		return err
	}
	var t createdTool
	if err := s.mcp.manage(ctx, mgmtCreateTool, map[string]any{
		"server_id": serverID, "name": "get", "code": fetchCode(target.url()), "hosts": []string{target.hostPort()},
	}, &t); err != nil {
		return err
	}
	if t.ToolID == "" {
		return fmt.Errorf("%s get: no tool_id", mgmtCreateTool)
	}
	var pub struct {
		ReviewStatus string `json:"review_status"`
	}
	if err := s.mcp.manage(ctx, mgmtRequestPublish, map[string]any{"tool_id": t.ToolID}, &pub); err != nil {
		return err
	}
	if err := s.admin.approveLatest(ctx, t.ToolID); err != nil {
		return err
	}
	if err := s.startServer(ctx, serverID); err != nil {
		return err
	}
	return s.mcp.waitUserTools(ctx, 2, addTool, fetchTool)
}

// checkFetch calls fetch__get once and checks it returned the target's body with status 200.
func (s *seeder) checkFetch(ctx context.Context) error {
	r, err := s.mcp.call(ctx, fetchTool, map[string]any{})
	if err != nil {
		return err
	}
	if r.IsError {
		return fmt.Errorf("%s: %s", fetchTool, resultText(r))
	}
	b, err := json.Marshal(r.StructuredContent)
	if err != nil {
		return fmt.Errorf("%s: structuredContent: %w", fetchTool, err)
	}
	var out struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Status != http.StatusOK || out.Body != fetchBody {
		return fmt.Errorf("%s returned %s, want status 200 and body %q", fetchTool, truncate(string(b), 200), fetchBody)
	}
	return nil
}

// The management tool of the management scenario: read-only, answered by the backend (/internal/v1/manage).
const (
	manageTool = "mcpbox_list_servers"
	manageArgs = `{}`
)

// checkManage calls mcpbox_list_servers once and checks it lists server load.
func (s *seeder) checkManage(ctx context.Context) error {
	var out struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := s.mcp.manage(ctx, manageTool, map[string]any{}, &out); err != nil {
		return err
	}
	for _, srv := range out.Items {
		if srv.Name == loadServer {
			return nil
		}
	}
	return fmt.Errorf("%s does not list server %s: %+v", manageTool, loadServer, out.Items)
}
