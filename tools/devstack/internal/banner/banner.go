// Package banner renders the text make run prints once every service is ready (operations.md §1.3,
// plus the remote `claude mcp add` line of edge.md §18).
package banner

import (
	"fmt"
	"strings"
)

// Info is what the banner shows.
type Info struct {
	// PostgreSQL describes the database: "private cluster on 127.0.0.1:15432", "system server on
	// 127.0.0.1:5432" or "MCPBOX_DATABASE_URL".
	PostgreSQL string
	// AdminURL and InternalURL end in "/"; LocalMCPURL and RemoteMCPURL in "/mcp".
	AdminURL, InternalURL, LocalMCPURL, RemoteMCPURL string
	// DevEnv is the dev.env path as the developer should read it, ".data/dev.env" by default.
	DevEnv string
	// RemoteToken is a devidp token for the remote line; empty leaves that line out.
	RemoteToken string
}

// Render returns the banner, ending in a newline.
func Render(in Info) string {
	var b strings.Builder
	row := func(label, text string) { fmt.Fprintf(&b, "  %-16s%s\n", label, text) }
	fmt.Fprintf(&b, "MCPbox is running (dev mode; PostgreSQL: %s)\n", in.PostgreSQL)
	row("Admin UI", in.AdminURL+"   (first visit: /setup with MCPBOX_SETUP_CODE from "+in.DevEnv+")")
	row("Internal API", in.InternalURL+"   (backend /internal/v1 and /metrics, for the gateway and Prometheus; not the UI)")
	row("Local MCP", in.LocalMCPURL)
	row("Add to Claude", "claude mcp add --transport http mcpbox "+in.LocalMCPURL)
	row("Remote MCP", in.RemoteMCPURL+"  (token: bin/devidp token --sub you --email you@example.com)")
	if in.RemoteToken != "" {
		row("Add remote", RemoteAddCommand(in.RemoteMCPURL, in.RemoteToken))
	}
	b.WriteString("Press Ctrl-C to stop.\n")
	return b.String()
}

// RemoteAddCommand is the `claude mcp add` line for the edge (edge.md §18).
func RemoteAddCommand(remoteMCPURL, token string) string {
	return `claude mcp add --transport http mcpbox-remote ` + remoteMCPURL + ` --header "Authorization: Bearer ` + token + `"`
}
