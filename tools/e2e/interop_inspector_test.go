package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// inspectorClient is the MCP Inspector's CLI (@modelcontextprotocol/inspector
// 2.12.0, `--cli`), one process per MCP call, in one protocol era: legacy
// (initialize, `--transport http`) or modern (`--protocol-era modern`).
type inspectorClient struct {
	node, bin string
	endpoint  string
	era       string // legacy or modern
	home      string // HOME of the runs: the CLI keeps a catalog and client config there
}

// newInspector checks the Inspector against endpoint and returns it.
func newInspector(t *testing.T, endpoint, era string) *inspectorClient {
	t.Helper()
	node := needNode(t)
	return &inspectorClient{
		node: node, bin: filepath.Join(nodeDir(t), "node_modules", ".bin", "mcp-inspector"),
		endpoint: endpoint, era: era, home: t.TempDir(),
	}
}

// run runs one `--cli` call with args and returns its stdout result object
// and stderr.
func (c *inspectorClient) run(t *testing.T, args ...string) (json.RawMessage, string) {
	t.Helper()
	argv := []string{c.bin, "--cli", c.endpoint, "--format", "json", "--connect-timeout", "30000"}
	if c.era == "modern" {
		argv = append(argv, "--protocol-era", "modern")
	} else {
		argv = append(argv, "--transport", "http")
	}
	argv = append(argv, args...)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.node, argv...)
	cmd.Dir = c.home
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.home, "NO_COLOR=1"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("inspector %v: %v", args, err)
	}
	if err != nil {
		t.Fatalf("inspector %v: exit %d\nstdout: %s\nstderr: %s", args, exit.ExitCode(), stdout.String(), stderr.String())
	}
	var out struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || len(out.Result) == 0 {
		t.Fatalf("inspector %v: stdout is not one result object (%v): %s\nstderr: %s", args, err, stdout.String(), stderr.String())
	}
	return out.Result, stderr.String()
}

// listTools runs tools/list with --strict: the portability check of every
// schema must report no error (the run would exit 6).
func (c *inspectorClient) listTools(t *testing.T) []listedTool {
	t.Helper()
	raw, stderr := c.run(t, "--method", "tools/list", "--strict")
	if strings.Contains(strings.ToLower(stderr), "error") {
		t.Errorf("inspector --strict tools/list reports an error:\n%s", stderr)
	}
	var r struct {
		Tools []listedTool `json:"tools"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("inspector tools/list: %s: %v", raw, err)
	}
	return r.Tools
}

func (c *inspectorClient) callTool(t *testing.T, name string, args map[string]any) toolResult {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := c.run(t, "--method", "tools/call", "--tool-name", name, "--tool-args-json", string(b))
	var r toolResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("inspector tools/call %s: %s: %v", name, raw, err)
	}
	return r
}

// listChanged: one process per call holds no stream, so there is no push.
func (c *inspectorClient) listChanged(*testing.T) (int, bool) { return 0, false }

// GW-97: the §16 flow with the Inspector CLI on the local listener: the
// initialize era in hybrid mode, the modern era in stateless mode.
func runInspector(t *testing.T, st *interopStack, era string) {
	c := newInspector(t, st.localMCP, era)
	before := st.gatewayRequests(t)
	runFlow(t, st, c, flowCaller{kind: "local"})
	// The era shows in the gateway's access log: modern runs start with
	// server/discover and never initialize; initialize-era runs do not discover.
	got := st.requestsSince(t, before)
	initialized := got["initialize stateful"] + got["initialize stateless"]
	discovered := got["server/discover stateless"]
	if (era == "modern") != (discovered > 0 && initialized == 0) || (era == "legacy") != (initialized > 0 && discovered == 0) {
		t.Errorf("inspector era %s: the gateway saw %v", era, got)
	}
}
