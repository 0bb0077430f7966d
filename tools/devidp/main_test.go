package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/tools/internal/testport"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

func TestRequireLoopback(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{
		"127.0.0.1:9400": true, "127.0.0.2:1": true, "[::1]:9400": true, "localhost:9400": true,
		":9400": false, "0.0.0.0:9400": false, "[::]:9400": false, "192.168.1.10:9400": false,
		"example.com:9400": false, "127.0.0.1": false,
	} {
		if err := requireLoopback(addr); (err == nil) != ok {
			t.Errorf("requireLoopback(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestServeRefusesNonLoopbackAddress(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "0.0.0.0:9400", "--state", t.TempDir()}, &out, &out)
	var u usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "loopback only") {
		t.Fatalf("serve on 0.0.0.0: %v, want a usage error about loopback", err)
	}
	if err := run(context.Background(), []string{"token", "--sub", "a", "--addr", "10.1.2.3:9400"}, &out, &out); err == nil {
		t.Error("token accepted a non-loopback --addr")
	}
}

func TestServeTokenRotateRoundTrip(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	state := filepath.Join(t.TempDir(), "devidp")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--addr", addr, "--state", state}, io.Discard, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	issuer := "http://" + addr
	waitReady(t, issuer+"/.well-known/openid-configuration")

	online := tokenCmd(t, "--sub", "alice", "--email", "alice@example.com", "--aud", "http://127.0.0.1:18080/mcp", "--addr", addr)
	parsed := verifyWith(t, issuer, online, "http://127.0.0.1:18080/mcp")
	var email string
	if err := parsed.Get("email", &email); err != nil || email != "alice@example.com" {
		t.Errorf("email %q (%v)", email, err)
	}

	// Signed straight from the state directory: same key, same issuer.
	offline := tokenCmd(t, "--sub", "bob", "--addr", addr, "--state", state, "--offline")
	verifyWith(t, issuer, offline, "http://127.0.0.1:8080/mcp")

	var out bytes.Buffer
	if err := run(context.Background(), []string{"rotate", "--addr", addr}, &out, &out); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	verifyWith(t, issuer, online, "http://127.0.0.1:18080/mcp") // previous key still published
	out.Reset()
	if err := run(context.Background(), []string{"rotate", "--retire-previous", "--addr", addr}, &out, &out); err != nil {
		t.Fatalf("retire: %v", err)
	}
	if !strings.Contains(out.String(), "retired") {
		t.Errorf("retire printed %q", out.String())
	}
	if _, ok := fetchSet(t, issuer).LookupKeyID(kidOf(t, online)); ok {
		t.Error("retired key still published")
	}
}

func TestTokenWithoutServerSignsFromState(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t) // nothing listens there
	state := t.TempDir()
	tok := tokenCmd(t, "--sub", "carol", "--addr", addr, "--state", state, "--ttl", "5m")
	// A server started later on the same state publishes the key that signed it.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--addr", addr, "--state", state}, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	waitReady(t, "http://"+addr+"/readyz")
	verifyWith(t, "http://"+addr, tok, "http://127.0.0.1:8080/mcp")
}

func tokenCmd(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"token"}, args...), &out, &errOut); err != nil {
		t.Fatalf("token %v: %v (%s)", args, err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

func freeAddr(t *testing.T) string { return testport.Addr(t) }

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if status, _ := get(url); status == http.StatusOK {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200", url)
}

func get(url string) (int, []byte) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, http.NoBody)
	if err != nil {
		return 0, nil
	}
	resp, err := (&http.Client{Timeout: time.Second}).Do(req)
	if err != nil {
		return 0, nil
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func fetchSet(t *testing.T, issuer string) jwk.Set {
	t.Helper()
	status, data := get(issuer + "/jwks.json")
	if status != http.StatusOK {
		t.Fatalf("jwks: %d", status)
	}
	set, err := jwk.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	hdr, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(hdr)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func verifyWith(t *testing.T, issuer, tok, aud string) jwt.Token {
	t.Helper()
	key, ok := fetchSet(t, issuer).LookupKeyID(kidOf(t, tok))
	if !ok {
		t.Fatal("token kid not published")
	}
	var pub rsa.PublicKey
	if err := jwk.Export(key, &pub); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse([]byte(tok), jwt.WithKey(jwa.RS256(), &pub), jwt.WithIssuer(issuer), jwt.WithAudience(aud))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return parsed
}
