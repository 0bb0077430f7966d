package manage_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
)

// mcpbox_backend_management_calls_total counts each served call by tool and
// result: ok, or the error code the caller got.
func TestManagementCallsMetric(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ok(t, "mcpbox_list_servers", local, nil)
	e.ok(t, "mcpbox_list_servers", local, nil)
	wantFail(t, e.call(t, "mcpbox_get_server", local, map[string]any{"server_id": "nope"}), proto.CodeValidationFailed)
	e.post(t, "mcpbox_no_such_tool", `{"arguments": {}, "caller": {"kind": "local"}}`)
	want := `
# HELP mcpbox_backend_management_calls_total Management operations served, by forwarded mcpbox_* tool and result (ok or an error code).
# TYPE mcpbox_backend_management_calls_total counter
mcpbox_backend_management_calls_total{result="ok",tool="mcpbox_list_servers"} 2
mcpbox_backend_management_calls_total{result="validation_failed",tool="mcpbox_get_server"} 1
`
	if err := testutil.GatherAndCompare(e.metrics, strings.NewReader(want), "mcpbox_backend_management_calls_total"); err != nil {
		t.Fatal(err)
	}
}
