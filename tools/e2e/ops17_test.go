package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// OPS-17 (operations.md §3.1): a tool whose code prints a forged service log
// line, {"time":…,"level":"ERROR","msg":…,"service":"backend",
// "request_id":"forged-…"} carrying a unique marker, through fmt.Println,
// the builtin println and mcpbox.Log, is called through the gateway. The
// line is in the execution record's stdout (admin REST GET
// /api/v1/executions?tool_id=…), as printed and as mcpbox.Log's "[log] "
// line, and after the stack has stopped (every log flushed) no service log
// line, and nothing else of the stack's output, holds the marker.
//
//nolint:paralleltest // owns the e2e ports while it runs
func TestOPS17_ToolOutputNeverEntersServiceLogs(t *testing.T) {
	st := startInteropStack(t, "stateless")
	marker := "ops17-forged-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	forged := `{"time":"2026-01-01T00:00:00Z","level":"ERROR","msg":"fake ` + marker + `","service":"backend",` +
		`"version":"v0.0.0","request_id":"` + marker + `"}`
	code := `package tool

import (
	"context"
	"fmt"

	"mcpbox"
)

// Input is a note the tool echoes.
type Input struct {
	Note string ` + "`json:\"note\" jsonschema:\"any text\"`" + `
}

// Main prints a forged service log line three ways and echoes the note.
func Main(ctx context.Context, in Input) (any, error) {
	line := ` + strconv.Quote(forged) + `
	fmt.Println(line)
	println(line)
	mcpbox.Log("%s", line)
	return map[string]string{"note": in.Note}, nil
}
`
	c := connectGo(t, st.localMCP, nil)
	srv := manage(t, c, proto.MgmtCreateServer, map[string]any{"name": "ops17"})
	serverID, _ := srv["server_id"].(string)
	if serverID == "" {
		t.Fatalf("mcpbox_create_server: %v", srv)
	}
	created := manage(t, c, proto.MgmtCreateTool, map[string]any{"server_id": serverID, "name": "forge", "code": code})
	toolID, _ := created["tool_id"].(string)
	if toolID == "" {
		t.Fatalf("mcpbox_create_tool: %v", created)
	}
	manage(t, c, proto.MgmtRequestPublish, map[string]any{"tool_id": toolID})
	if v := st.admin.approveLatest(t, toolID); v != 1 {
		t.Fatalf("approved version %d, want 1", v)
	}
	if started := manage(t, c, proto.MgmtStartServer, map[string]any{"server_id": serverID}); started["status"] != "running" {
		t.Fatalf("mcpbox_start_server: %v", started)
	}
	if r := c.callTool(t, "ops17__forge", map[string]any{"note": "hello"}); r.IsError {
		t.Fatalf("ops17__forge: isError: %+v", r.Content)
	}

	// The record reaches the backend in the gateway's next batch.
	var stdout string
	waitFor(t, "the execution record of ops17__forge", func() (bool, string) {
		var page struct {
			Items []struct {
				Stdout *string `json:"stdout"`
			} `json:"items"`
		}
		st.admin.must(t, http.MethodGet, "/api/v1/executions?tool_id="+url.QueryEscape(toolID), nil, &page)
		if len(page.Items) != 1 || page.Items[0].Stdout == nil {
			return false, fmt.Sprintf("%d records", len(page.Items))
		}
		stdout = *page.Items[0].Stdout
		return true, ""
	})
	for _, want := range []string{forged + "\n", "[log] " + forged + "\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the execution record's stdout lacks %q:\n%s", want, stdout)
		}
	}

	if err := st.Stop(t); err != nil {
		t.Fatalf("devstack exit: %v\n%s", err, st.out.String())
	}
	checkNotLogged(t, st.Stack, []string{marker})
}
