package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// The MCP conformance suite (@modelcontextprotocol/conformance 0.1.16,
// pinned in ts/package-lock.json; gateway.md §16, operations.md §8) run
// against the local listener of each interop stack. Its client is the
// TypeScript SDK's initialize-era client (protocol 2025-11-25): the suite
// has no modern-era client, so both session modes run in the initialize
// era (the modern era is covered by GW-3–GW-5, the go-sdk client and the
// Inspector's modern-era run).

// conformanceRun lists the server scenarios that apply to the gateway and
// the session modes each runs in.
//
//   - server-initialize: the initialize handshake (§5.2, §5.7).
//   - ping: `{}` with or without a session (§5.2).
//   - tools-list: name, description and inputSchema of every tool; it runs
//     with a user tool approved and started (conformanceServer), so the
//     listing holds a catalog tool next to the 30 management tools (§7.5).
//   - dns-rebinding-protection: a foreign Host and Origin get a 4xx, a
//     loopback one is served (§3.1; the local listener only, since the
//     remote listener turns the check off on purpose, §3.2).
//   - server-sse-multiple-streams: concurrent POSTs in one session each get
//     their own SSE response. Hybrid only: in stateless mode there is no
//     Mcp-Session-Id by design (§5.3) and the scenario only warns that it
//     has nothing to test.
var conformanceRun = map[string][]string{
	"server-initialize":           {"hybrid", "stateless"},
	"ping":                        {"hybrid", "stateless"},
	"tools-list":                  {"hybrid", "stateless"},
	"dns-rebinding-protection":    {"hybrid", "stateless"},
	"server-sse-multiple-streams": {"hybrid"},
}

// Reasons a server scenario does not apply to the gateway.
const (
	// The gateway offers only tools (§5.1: capabilities = tools with
	// listChanged, nothing else) and answers other methods with the SDK's
	// standard answer, an empty list or -32601 (§5.7); a scenario for a
	// capability it does not advertise tests nothing of it (some of them
	// pass on the empty list, completion-complete fails on -32601).
	notOffered = "capability not advertised (gateway.md §5.1, §5.7)"
	// The tools-call-* scenarios call fixed tool names of the suite's
	// reference server (test_simple_text, test_error_handling, …). A
	// gateway tool is named <server>__<tool> or mcpbox_* (§7.3), so none of
	// them can exist; the call gets the gateway's unknown-tool isError
	// result, which tools-call-simple-text and tools-call-error even count
	// as a pass without testing anything. The scenarios about tool results
	// run through MCPbox against the go-sdk's everything-server instead
	// (external_everything_test.go).
	fixedToolName = "calls a fixed tool name that no <server>__<tool> can be (gateway.md §7.3)"
	// The gateway never sends server→client requests or logging
	// notifications (no sampling, elicitation or logging; §5.1).
	serverRequests = "needs server-initiated sampling, elicitation or logging (gateway.md §5.1)"
)

// conformanceExcluded lists every other server scenario of the suite with
// the reason it does not apply. A scenario in neither list fails the test,
// so a new suite version cannot add scenarios unseen.
var conformanceExcluded = map[string]string{
	"logging-set-level":             notOffered,
	"completion-complete":           notOffered,
	"resources-list":                notOffered,
	"resources-read-text":           notOffered,
	"resources-read-binary":         notOffered,
	"resources-templates-read":      notOffered,
	"resources-subscribe":           notOffered,
	"resources-unsubscribe":         notOffered,
	"prompts-list":                  notOffered,
	"prompts-get-simple":            notOffered,
	"prompts-get-with-args":         notOffered,
	"prompts-get-embedded-resource": notOffered,
	"prompts-get-with-image":        notOffered,
	"tools-call-simple-text":        fixedToolName,
	"tools-call-image":              fixedToolName,
	"tools-call-audio":              fixedToolName,
	"tools-call-embedded-resource":  fixedToolName,
	"tools-call-mixed-content":      fixedToolName,
	"tools-call-error":              fixedToolName,
	// Also fixed-name: progress is sent every 10 s of a user tool's run (§5.6).
	"tools-call-with-progress":     fixedToolName,
	"tools-call-with-logging":      serverRequests,
	"tools-call-sampling":          serverRequests,
	"tools-call-elicitation":       serverRequests,
	"elicitation-sep1034-defaults": serverRequests,
	"elicitation-sep1330-enums":    serverRequests,
	// Needs the tool json_schema_2020_12_tool; user tools keep their schema
	// as approved (§7.3, §7.5), which GW-97's --strict listing checks.
	"json-schema-2020-12": fixedToolName,
	// Needs the tool test_reconnection, which closes its SSE stream mid-call
	// for the client to resume with Last-Event-ID; the gateway's handlers
	// have no event store (§5.1), so streams are not resumable.
	"server-sse-polling": fixedToolName + "; SSE resumption is not offered (gateway.md §5.1)",
}

// conformanceServer is the server whose tool `add` tools-list sees.
const conformanceServer = "conformance"

// conformanceCheck is one entry of a scenario's checks.json.
type conformanceCheck struct {
	ID           string          `json:"id"`
	Status       string          `json:"status"` // SUCCESS, FAILURE, WARNING, INFO
	ErrorMessage string          `json:"errorMessage"`
	Details      json.RawMessage `json:"details"`
}

// runConformance runs every scenario of conformanceRun that applies to st's
// mode against the local listener, one CLI process per scenario, after
// checking that the two lists cover the suite's server scenarios.
func runConformance(t *testing.T, st *interopStack) {
	checkConformanceCoverage(t)
	userTool := publishConformanceTool(t, st)
	before := st.gatewayRequests(t)
	for _, name := range slices.Sorted(maps.Keys(conformanceRun)) {
		if !slices.Contains(conformanceRun[name], st.mode) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			checks := runConformanceScenario(t, st.localMCP, name)
			if name == "tools-list" {
				checkConformanceListing(t, checks, userTool)
			}
		})
	}
	// The suite's initialize-era requests took this mode's handlers.
	got := st.requestsSince(t, before)
	if st.mode == "hybrid" && (got["initialize stateful"] == 0 || got["ping stateful"] == 0) ||
		st.mode == "stateless" && (got["initialize stateless"] == 0 || got["ping stateless"] == 0 || got["initialize stateful"] > 0) {
		t.Errorf("%s mode: the conformance suite's requests took %v", st.mode, got)
	}
}

// checkConformanceCoverage lists the suite's server scenarios and fails
// for any that is neither run nor excluded, or any listed name the suite
// does not have.
func checkConformanceCoverage(t *testing.T) {
	t.Helper()
	out := conformanceCLI(t, t.TempDir(), "list", "--server")
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\s+- (\S+) \[`).FindAllStringSubmatch(out, -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatalf("conformance list --server named no scenario:\n%s", out)
	}
	for _, n := range names {
		_, run := conformanceRun[n]
		_, excluded := conformanceExcluded[n]
		if run == excluded {
			t.Errorf("server scenario %s: run %v, excluded %v; put it in exactly one of the lists", n, run, excluded)
		}
	}
	for n := range conformanceRun {
		if !slices.Contains(names, n) {
			t.Errorf("conformance has no server scenario %s", n)
		}
	}
	for n := range conformanceExcluded {
		if !slices.Contains(names, n) {
			t.Errorf("conformance has no server scenario %s (excluded)", n)
		}
	}
}

// publishConformanceTool creates the server conformanceServer with the
// flow's tool `add`, has the admin approve it and starts the server, and
// returns the tool's exposed name. The server is deleted at cleanup.
func publishConformanceTool(t *testing.T, st *interopStack) string {
	t.Helper()
	c := connectGo(t, st.localMCP, nil)
	srv := manage(t, c, proto.MgmtCreateServer, map[string]any{"name": conformanceServer})
	serverID, _ := srv["server_id"].(string)
	if serverID == "" {
		t.Fatalf("mcpbox_create_server: %v", srv)
	}
	t.Cleanup(func() { st.admin.deleteServer(t, serverID) })
	created := manage(t, c, proto.MgmtCreateTool, map[string]any{"server_id": serverID, "name": "add", "code": addV1})
	toolID, _ := created["tool_id"].(string)
	exposed, _ := created["exposed_name"].(string)
	if toolID == "" || exposed != conformanceServer+"__add" {
		t.Fatalf("mcpbox_create_tool: %v", created)
	}
	manage(t, c, proto.MgmtRequestPublish, map[string]any{"tool_id": toolID})
	if v := st.admin.approveLatest(t, toolID); v != 1 {
		t.Fatalf("approved version %d, want 1", v)
	}
	if started := manage(t, c, proto.MgmtStartServer, map[string]any{"server_id": serverID}); started["live_tool_count"] != 1.0 {
		t.Fatalf("mcpbox_start_server: %v", started)
	}
	// The start waited for its catalog revision (GW-86): the tool is listed.
	waitTools(t, c, exposed, func(ts []listedTool) bool {
		return slices.ContainsFunc(ts, func(l listedTool) bool { return l.Name == exposed })
	})
	return exposed
}

// checkConformanceListing checks that the tools-list scenario saw the 30
// management tools and the user tool.
func checkConformanceListing(t *testing.T, checks []conformanceCheck, userTool string) {
	t.Helper()
	for _, c := range checks {
		if c.ID != "tools-list" {
			continue
		}
		var d struct {
			Tools []string `json:"tools"`
		}
		if err := json.Unmarshal(c.Details, &d); err != nil {
			t.Fatalf("tools-list details %s: %v", c.Details, err)
		}
		listed := make([]listedTool, 0, len(d.Tools))
		for _, n := range d.Tools {
			listed = append(listed, listedTool{Name: n})
		}
		checkManagementTools(t, listed)
		if !slices.Contains(d.Tools, userTool) {
			t.Errorf("tools-list checked %v, without %s", d.Tools, userTool)
		}
		return
	}
	t.Errorf("tools-list saved no tools-list check: %+v", checks)
}

// runConformanceScenario runs `conformance server --scenario name` against
// endpoint and fails unless the run exits 0 and its checks hold a success
// and no failure or warning; the suite's report is logged, and printed
// with any failure.
func runConformanceScenario(t *testing.T, endpoint, name string) []conformanceCheck {
	t.Helper()
	dir := t.TempDir()
	report := conformanceCLI(t, dir, "server", "--url", endpoint, "--scenario", name, "--output-dir", dir)
	files, _ := filepath.Glob(filepath.Join(dir, "*", "checks.json"))
	if len(files) != 1 {
		t.Fatalf("conformance %s: want one checks.json under %s, found %v\n%s", name, dir, files, report)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var checks []conformanceCheck
	if err := json.Unmarshal(raw, &checks); err != nil {
		t.Fatalf("conformance %s: checks.json: %v\n%s", name, err, report)
	}
	t.Logf("conformance %s:\n%s", name, report)
	succeeded := false
	for _, c := range checks {
		switch c.Status {
		case "SUCCESS":
			succeeded = true
		case "FAILURE", "WARNING":
			t.Errorf("conformance %s: check %s: %s %s; details %s", name, c.ID, c.Status, c.ErrorMessage, c.Details)
		}
	}
	if !succeeded {
		t.Errorf("conformance %s: no check succeeded: %s", name, raw)
	}
	return checks
}

// ansiEscape matches the colour codes the suite's report always writes.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// conformanceCLI runs the suite's CLI with args in dir and returns its
// stdout and stderr without colour codes; a non-zero exit fails the test
// with them.
func conformanceCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	node := needNode(t)
	bin := filepath.Join(nodeDir(t), "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{bin}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "NO_COLOR=1"}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	out := strings.TrimSpace(ansiEscape.ReplaceAllString(buf.String(), ""))
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("conformance %v: exit %d\n%s", args, exit.ExitCode(), out)
		}
		t.Fatalf("conformance %v: %v\n%s", args, err, out)
	}
	return out
}
