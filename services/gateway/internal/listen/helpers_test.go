package listen_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
)

// email returns the identity header of a remote caller.
func email(addr string) http.Header {
	if addr == "" {
		return http.Header{}
	}
	return mcpservetest.Headers(proto.HeaderUserEmail, addr)
}

// accessLines returns the access log lines (msg "request") by request id.
func accessLines(t *testing.T, h *mcpservetest.Harness) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(h.Logs.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["msg"] == "request" {
			if id, ok := m["request_id"].(string); ok {
				out[id] = m
			}
		}
	}
	return out
}
