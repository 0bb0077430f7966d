package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// The e2e stack's edge and devidp (operations.md §1: dev ports + 10000).
const (
	e2eEdgeMCPURL = "http://127.0.0.1:18080/mcp"
	e2eDevIDPURL  = "http://127.0.0.1:19400"
)

// devidpToken mints a token from a running devidp (POST /dev/token).
func devidpToken(t *testing.T, idp string, claims map[string]any) string {
	t.Helper()
	body, _ := json.Marshal(claims)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, idp+"/dev/token", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /dev/token: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		t.Fatalf("POST /dev/token: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}

// OPS-5, remote half: through the edge, with a devidp token whose email the
// remote allowlist admits, the Go SDK client lists the mcpbox_* tools; a
// request without a token gets 401 with the resource-metadata challenge.
// (runGoSDKRemote, which runs before, put remoteEmail on the allowlist.)
func runGoSDKThroughEdge(t *testing.T, st *interopStack) {
	st.admin.allowRemote(t, remoteEmail)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e2eEdgeMCPURL,
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `resource_metadata="http://127.0.0.1:18080/.well-known/oauth-protected-resource/mcp"`) {
		t.Errorf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	token := devidpToken(t, e2eDevIDPURL, map[string]any{"sub": "e2e-remote", "email": remoteEmail, "aud": e2eEdgeMCPURL})
	header := http.Header{}
	header.Set("Authorization", "Bearer "+token)
	var listed []listedTool
	waitFor(t, "the mcpbox_* tools through the edge", func() (bool, string) {
		c := connectGo(t, e2eEdgeMCPURL, header)
		defer func() { _ = c.cs.Close() }()
		res, err := c.cs.ListTools(t.Context(), nil)
		if err != nil {
			return false, err.Error()
		}
		listed = reshape[[]listedTool](t, res.Tools)
		return true, ""
	})
	management := 0
	for _, tool := range listed {
		if strings.HasPrefix(tool.Name, "mcpbox_") {
			management++
		}
	}
	if management != len(proto.ManagementTools()) {
		t.Errorf("through the edge: %d mcpbox_* tools, want %d", management, len(proto.ManagementTools()))
	}
}

// EDGE-85: devidp serve, the edge binary and a fake gateway. A devidp token
// is proxied; after `devidp rotate` a token from the new key is accepted
// through the unknown-kid refetch and the old one still works; after
// `devidp rotate --retire-previous` the old token is rejected from the next
// successful refresh on (JWKS_REFRESH of 3 s, accepted in dev mode).
func TestEDGE85_DevIDPRotation(t *testing.T) {
	t.Parallel()
	idpAddr, edgeAddr, adminAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	idp := command(t, "devidp", nil, "serve", "--addr", idpAddr, "--state", t.TempDir())
	idpOut := &bytes.Buffer{}
	idp.Stdout, idp.Stderr = idpOut, idpOut
	if err := idp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Process.Kill(); _ = idp.Wait() })

	var proxied atomic.Int64
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(proto.HeaderUserSub) != "" {
			proxied.Add(1)
		}
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	}))
	defer gw.Close()

	edge := command(t, "edge", map[string]string{
		"MCPBOX_MODE": "dev", "MCPBOX_EDGE_INSECURE_DEV": "true",
		"MCPBOX_GATEWAY_TOKEN":         "e85e85e85e85e85e85e85e85e85e85e85e85e85e85e85e85e85e85e85e85e85e",
		"MCPBOX_EDGE_PUBLIC_URL":       "http://" + edgeAddr,
		"MCPBOX_EDGE_ISSUER":           "http://" + idpAddr,
		"MCPBOX_EDGE_UPSTREAM_URL":     gw.URL,
		"MCPBOX_EDGE_LISTEN":           edgeAddr,
		"MCPBOX_EDGE_ADMIN_LISTEN":     adminAddr,
		"MCPBOX_EDGE_JWKS_REFRESH":     "3s",
		"MCPBOX_EDGE_JWKS_MIN_REFETCH": "1s",
	})
	edgeOut := &bytes.Buffer{}
	edge.Stdout, edge.Stderr = edgeOut, edgeOut
	if err := edge.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = edge.Process.Kill(); _ = edge.Wait() })
	waitFor(t, "the edge's /readyz", func() (bool, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+adminAddr+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})

	aud := "http://" + edgeAddr + "/mcp"
	post := func(token string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, aud, strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	mint := func() string {
		return devidpToken(t, "http://"+idpAddr, map[string]any{"sub": "e85", "email": "e85@example.com", "aud": aud})
	}
	rotate := func(args ...string) {
		out, err := command(t, "devidp", nil, append([]string{"rotate", "--addr", idpAddr}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("devidp rotate %v: %v\n%s", args, err, out)
		}
	}

	old := mint()
	if got := post(old); got != 200 {
		t.Fatalf("devidp token: %d\n%s", got, edgeOut)
	}
	// The start-up fetch must be older than JWKS_MIN_REFETCH (1 s) for the
	// first new-key token to trigger the refetch (edge.md §7.3).
	time.Sleep(1200 * time.Millisecond)
	rotate()
	fresh := mint()
	if fresh == old || post(fresh) != 200 {
		t.Fatalf("token from the new key not accepted through the refetch\n%s", edgeOut)
	}
	if _, body := get(t, "http://"+adminAddr+"/metrics"); !strings.Contains(body, `mcpbox_edge_jwks_fetches_total{result="ok",trigger="unknown_kid"} 1`) {
		t.Errorf("no unknown_kid refetch counted")
	}
	if got := post(old); got != 200 {
		t.Errorf("old token after rotate: %d (the previous key stays published)", got)
	}
	rotate("--retire-previous")
	waitFor(t, "the old key's retirement at the edge", func() (bool, string) {
		code := post(old)
		return code == 401, fmt.Sprintf("old token: %d", code)
	})
	if got := post(fresh); got != 200 {
		t.Errorf("new token after retire: %d", got)
	}
	if proxied.Load() < 4 {
		t.Errorf("the gateway saw %d verified requests", proxied.Load())
	}
}

// freeAddr returns a free 127.0.0.1 address.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}
