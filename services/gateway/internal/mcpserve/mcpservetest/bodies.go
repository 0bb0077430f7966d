package mcpservetest

import (
	"encoding/json"
	"net/http"
)

// Modern is the modern-era protocol version.
const Modern = "2026-07-28"

// Body returns a JSON-RPC request body; id nil makes a notification,
// params nil omits them.
func Body(id any, method string, params any) string {
	m := map[string]any{"jsonrpc": "2.0", "method": method}
	if id != nil {
		m["id"] = id
	}
	if params != nil {
		m["params"] = params
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // test data only
	}
	return string(b)
}

// InitializeBody returns an initialize request for version.
func InitializeBody(id any, version string) string {
	return Body(id, "initialize", map[string]any{
		"protocolVersion": version, "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "raw", "version": "1"},
	})
}

// ModernParams returns params with the modern-era _meta (version, client
// capabilities and info) merged into p.
func ModernParams(p map[string]any) map[string]any {
	out := map[string]any{"_meta": map[string]any{
		"io.modelcontextprotocol/protocolVersion":    Modern,
		"io.modelcontextprotocol/clientCapabilities": map[string]any{},
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "raw", "version": "1"},
	}}
	for k, v := range p {
		out[k] = v
	}
	return out
}

// ModernHeaders returns the modern-era headers of a request for method
// (name: the Mcp-Name of tools/call, empty for none).
func ModernHeaders(method, name string, kv ...string) http.Header {
	h := Headers(kv...)
	h.Set("Mcp-Protocol-Version", Modern)
	h.Set("Mcp-Method", method)
	if name != "" {
		h.Set("Mcp-Name", name)
	}
	return h
}

// Header adds name, value pairs to h and returns it.
func Header(h http.Header, kv ...string) http.Header {
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}
