package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// tsClient is the TypeScript SDK client (@modelcontextprotocol/sdk 1.32.2,
// initialize era, StreamableHTTPClientTransport) in a node process running
// ts/flow.mjs, which executes one JSON command per stdin line and answers
// each on one stdout line.
type tsClient struct {
	stdin  io.WriteCloser
	lines  chan string
	stderr *lifecycletest.Logs
	// connected is the answer to connect.
	connected struct {
		ProtocolVersion string  `json:"protocolVersion"`
		SessionID       *string `json:"sessionId"`
		ServerInfo      struct {
			Name string `json:"name"`
		} `json:"serverInfo"`
		Capabilities json.RawMessage `json:"capabilities"`
	}
	// push says whether this mode delivers list_changed to this client: only
	// a hybrid session has a GET stream.
	push bool
}

// startTS runs flow.mjs against endpoint and connects.
func startTS(t *testing.T, endpoint string, header map[string]string) *tsClient {
	t.Helper()
	node := needNode(t)
	hdr, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join(nodeDir(t), "flow.mjs"), endpoint, string(hdr))
	cmd.Dir = nodeDir(t)
	c := &tsClient{lines: make(chan string, 16), stderr: &lifecycletest.Logs{}}
	cmd.Stderr = c.stderr
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = c.stdin.Close() // flow.mjs exits at the end of its input
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = cmd.Wait() // a failed command already failed its step
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	c.do(t, map[string]any{"op": "connect"}, &c.connected)
	return c
}

// do sends one command and decodes the result into out.
func (c *tsClient) do(t *testing.T, cmd map[string]any, out any) {
	t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("flow.mjs %v: write: %v\nstderr:\n%s", cmd["op"], err, c.stderr.String())
	}
	var line string
	select {
	case l, ok := <-c.lines:
		if !ok {
			t.Fatalf("flow.mjs exited during %v; stderr:\n%s", cmd["op"], c.stderr.String())
		}
		line = l
	case <-time.After(60 * time.Second):
		t.Fatalf("flow.mjs %v: no answer within 60 s; stderr:\n%s", cmd["op"], c.stderr.String())
	}
	var answer struct {
		OK     bool            `json:"ok"`
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal([]byte(line), &answer); err != nil {
		t.Fatalf("flow.mjs %v: answer %q: %v", cmd["op"], line, err)
	}
	if !answer.OK {
		t.Fatalf("flow.mjs %v %v: %s", cmd["op"], cmd["name"], answer.Error)
	}
	if out != nil {
		if err := json.Unmarshal(answer.Result, out); err != nil {
			t.Fatalf("flow.mjs %v: result %s: %v", cmd["op"], answer.Result, err)
		}
	}
}

func (c *tsClient) listTools(t *testing.T) []listedTool {
	t.Helper()
	var r struct {
		Tools []listedTool `json:"tools"`
	}
	c.do(t, map[string]any{"op": "listTools"}, &r)
	return r.Tools
}

func (c *tsClient) callTool(t *testing.T, name string, args map[string]any) toolResult {
	t.Helper()
	var r toolResult
	c.do(t, map[string]any{"op": "callTool", "name": name, "arguments": args}, &r)
	return r
}

// listChanged counts the handler's calls; each must have re-listed the
// tools without error.
func (c *tsClient) listChanged(t *testing.T) (int, bool) {
	t.Helper()
	var r struct {
		Events []struct {
			Tools []string `json:"tools"`
			Error string   `json:"error"`
		} `json:"events"`
	}
	c.do(t, map[string]any{"op": "listChanged"}, &r)
	for _, e := range r.Events {
		if e.Error != "" {
			t.Errorf("the list-changed handler's tools/list failed: %s", e.Error)
		}
	}
	return len(r.Events), c.push
}

// GW-96: the §16 flow with the TypeScript SDK client (initialize era) on the
// local listener. In hybrid mode the client holds a session and its GET
// stream, so its list-changed handler must fire when the started server's
// tool arrives; in stateless mode there is no session and no push.
func runTypeScriptSDK(t *testing.T, st *interopStack) {
	c := startTS(t, st.localMCP, nil)
	if c.connected.ProtocolVersion != "2025-11-25" || c.connected.ServerInfo.Name != "mcpbox" ||
		string(c.connected.Capabilities) != `{"tools":{"listChanged":true}}` {
		t.Fatalf("initialize: %+v", c.connected)
	}
	hasSession := c.connected.SessionID != nil && *c.connected.SessionID != ""
	if hasSession != (st.mode == "hybrid") {
		t.Fatalf("%s mode: session id %v", st.mode, c.connected.SessionID)
	}
	c.push = st.mode == "hybrid"
	before := st.gatewayRequests(t)
	runFlow(t, st, c, flowCaller{kind: "local"})
	// Hybrid: the calls travel in the client's session (§5.4 row 4).
	if got := st.requestsSince(t, before); (got["tools/call stateful"] > 0) != (st.mode == "hybrid") {
		t.Errorf("%s mode: the TypeScript client's requests took %v", st.mode, got)
	}
	if c.push {
		// The handler re-listed the tools itself: its last view has the tool.
		var r struct {
			Events []struct {
				Tools []string `json:"tools"`
			} `json:"events"`
		}
		c.do(t, map[string]any{"op": "listChanged"}, &r)
		if len(r.Events) == 0 || !strings.Contains(strings.Join(r.Events[len(r.Events)-1].Tools, " "), flowTool) {
			t.Errorf("the list-changed handler's last tool list lacks %s: %+v", flowTool, r.Events)
		}
	}
}
