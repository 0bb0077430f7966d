package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/db/dbtest"
)

// The e2e stack's URLs (operations.md §1: each dev port + 10000).
const (
	e2eBackendURL   = "http://127.0.0.1:18000"
	e2eLocalMCPURL  = "http://127.0.0.1:18002/mcp"
	e2eRemoteMCPURL = "http://127.0.0.1:18003/mcp"
)

// interopStack is one devstack in a session mode, shared by every client of
// the §16 flow (gateway.md §16: one stack per session mode).
type interopStack struct {
	*Stack
	mode  string // hybrid or stateless
	admin *admin
	// localMCP and remoteMCP are the gateway's /mcp URLs.
	localMCP, remoteMCP string
	// gatewayToken is MCPBOX_GATEWAY_TOKEN, the service token the edge sends
	// to the remote listener.
	gatewayToken string
}

// startInteropStack starts devstack with a fresh database and the gateway in
// mode (MCPBOX_GATEWAY_SESSION_MODE passes from devstack's environment to
// the gateway), creates the admin and checks the gateway runs in that mode.
func startInteropStack(t *testing.T, mode string) *interopStack {
	t.Helper()
	s := startStackWith(t, t.TempDir(), "MCPBOX_DATABASE_URL="+dbtest.EmptyURL(t), "MCPBOX_GATEWAY_SESSION_MODE="+mode)
	env := readDevEnv(t, s.data)
	is := &interopStack{
		Stack: s, mode: mode, gatewayToken: env["MCPBOX_GATEWAY_TOKEN"],
		localMCP: e2eLocalMCPURL, remoteMCP: e2eRemoteMCPURL,
	}
	if len(is.gatewayToken) < 32 || env["MCPBOX_SETUP_CODE"] == "" {
		t.Fatalf("dev.env lacks MCPBOX_GATEWAY_TOKEN or MCPBOX_SETUP_CODE: %v", keys(env))
	}
	if !strings.Contains(s.out.String(), `"MCPBOX_GATEWAY_SESSION_MODE":"`+mode+`"`) {
		t.Fatalf("the gateway's config line does not say session mode %s:\n%s", mode, s.out.String())
	}
	is.admin = newAdmin(t, env["MCPBOX_SETUP_CODE"])
	return is
}

// readDevEnv reads the KEY=value lines of the stack's dev.env.
func readDevEnv(t *testing.T, data string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(data, "dev.env"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	return env
}

// keys lists a map's keys, never its values (dev.env holds secrets).
func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// gatewayRequests counts the gateway's access-log lines by "<MCP method>
// <handler>" (gateway.md §13), so a test can tell which era and handler a
// client's requests took.
func (st *interopStack) gatewayRequests(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, l := range st.ServiceLines(t)["gateway"] {
		if l["msg"] != "request" {
			continue
		}
		method, _ := l["mcp_method"].(string)
		handler, _ := l["handler"].(string)
		out[method+" "+handler]++
	}
	return out
}

// requestsSince returns the counts of gatewayRequests added since before.
func (st *interopStack) requestsSince(t *testing.T, before map[string]int) map[string]int {
	t.Helper()
	diff := map[string]int{}
	for k, n := range st.gatewayRequests(t) {
		if d := n - before[k]; d > 0 {
			diff[k] = d
		}
	}
	return diff
}
