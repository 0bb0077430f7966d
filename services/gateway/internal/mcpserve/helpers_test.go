package mcpserve_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
)

// modes are the two session modes.
func modes() []string { return []string{mcpserve.ModeStateless, mcpserve.ModeHybrid} }

// catalogOf returns a catalog of revision rev with the named tools.
func catalogOf(rev int64, names ...string) proto.Catalog {
	cat := proto.Catalog{Revision: rev}
	for _, n := range names {
		cat.Tools = append(cat.Tools, mcpservetest.Tool(n))
	}
	return cat
}

// post sends body to listener with the extra headers.
func post(t *testing.T, h *mcpservetest.Harness, listener, body string, hdr http.Header) *mcpservetest.Resp {
	t.Helper()
	return h.Do(t, mcpservetest.Req{Listener: listener, Body: body, Header: hdr})
}

// rpc posts body and returns its JSON-RPC response, checking the status.
func rpc(t *testing.T, h *mcpservetest.Harness, listener, body string, hdr http.Header, status int) mcpservetest.Message {
	t.Helper()
	resp := post(t, h, listener, body, hdr)
	if resp.Status != status {
		t.Fatalf("%s: status %d, want %d (%q)", body, resp.Status, status, resp.Body)
	}
	return resp.Response(t)
}

// result decodes a message's result into v, failing on an error.
func result(t *testing.T, m mcpservetest.Message, v any) {
	t.Helper()
	if m.Error != nil {
		t.Fatalf("JSON-RPC error %d %s", m.Error.Code, m.Error.Message)
	}
	if err := json.Unmarshal(m.Result, v); err != nil {
		t.Fatalf("result %s: %v", m.Result, err)
	}
}

// identity headers of the remote callers of the tests.
func remoteUser(email string) http.Header {
	if email == "" {
		return http.Header{}
	}
	return mcpservetest.Headers(proto.HeaderUserEmail, email)
}

// callerKinds are a local caller, a remote caller with an email and a
// limited remote caller (no email), as listener and identity headers.
func callerKinds() []struct {
	name, listener string
	hdr            func() http.Header
} {
	return []struct {
		name, listener string
		hdr            func() http.Header
	}{
		{"local", caller.ListenerLocal, func() http.Header { return http.Header{} }},
		{"remote", caller.ListenerRemote, func() http.Header { return remoteUser("user@example.com") }},
		{"limited", caller.ListenerRemote, func() http.Header { return http.Header{} }},
	}
}

// merge returns a copy of a with b's values added.
func merge(a, b http.Header) http.Header {
	out := http.Header{}
	for k, vs := range a {
		out[k] = append([]string(nil), vs...)
	}
	for k, vs := range b {
		for _, v := range vs {
			out.Add(k, v)
		}
	}
	return out
}
