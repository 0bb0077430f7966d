package mcpserve_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
)

// BenchmarkGatewayList500 measures a session-less tools/list (first page)
// through the local listener's whole chain with 500 user tools in the
// catalog (P2 of gateway.md §15), over loopback with keep-alive.
func BenchmarkGatewayList500(b *testing.B) {
	names := make([]string, 500)
	for i := range names {
		names[i] = fmt.Sprintf("srv%d__tool%03d", i%10, i)
	}
	h := mcpservetest.Start(b, mcpservetest.Config{Catalog: catalogOf(1, names...)})
	body := mcpservetest.Body(1, "tools/list", nil)
	b.ResetTimer()
	for b.Loop() {
		resp := h.Do(b, mcpservetest.Req{Listener: caller.ListenerLocal, Body: body})
		if resp.Status != http.StatusOK {
			b.Fatalf("status %d", resp.Status)
		}
	}
}
