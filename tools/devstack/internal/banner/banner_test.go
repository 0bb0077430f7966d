package banner_test

import (
	"testing"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/banner"
)

// OPS-5: the banner has the admin URL, the local MCP URL and the exact `claude mcp add` line; the text is
// operations.md §1.3's, plus the remote line of edge.md §18.
func TestOPS5_BannerText(t *testing.T) {
	t.Parallel()
	got := banner.Render(banner.Info{
		PostgreSQL:   "private cluster on 127.0.0.1:15432",
		AdminURL:     "http://127.0.0.1:8000/",
		InternalURL:  "http://127.0.0.1:8004/",
		LocalMCPURL:  "http://127.0.0.1:8002/mcp",
		RemoteMCPURL: "http://127.0.0.1:8080/mcp",
		DevEnv:       ".data/dev.env",
		RemoteToken:  "eyJ.x.y",
	})
	want := `MCPbox is running (dev mode; PostgreSQL: private cluster on 127.0.0.1:15432)
  Admin UI        http://127.0.0.1:8000/   (first visit: /setup with MCPBOX_SETUP_CODE from .data/dev.env)
  Internal API    http://127.0.0.1:8004/   (backend /internal/v1 and /metrics, for the gateway and Prometheus; not the UI)
  Local MCP       http://127.0.0.1:8002/mcp
  Add to Claude   claude mcp add --transport http mcpbox http://127.0.0.1:8002/mcp
  Remote MCP      http://127.0.0.1:8080/mcp  (token: bin/devidp token --sub you --email you@example.com)
  Add remote      claude mcp add --transport http mcpbox-remote http://127.0.0.1:8080/mcp --header "Authorization: Bearer eyJ.x.y"
Press Ctrl-C to stop.
`
	if got != want {
		t.Errorf("banner:\n%s\nwant:\n%s", got, want)
	}
}

func TestOPS5_BannerDescribesEachDatabase(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"system server on 127.0.0.1:5432", "MCPBOX_DATABASE_URL"} {
		got := banner.Render(banner.Info{PostgreSQL: db})
		if want := "MCPbox is running (dev mode; PostgreSQL: " + db + ")\n"; got[:len(want)] != want {
			t.Errorf("first line %q, want %q", got[:len(want)], want)
		}
	}
}
