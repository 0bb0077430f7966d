package main

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
)

// EDGE-82 through the running edge: the public listener serves TLS 1.2/1.3
// with h2 by ALPN (and HTTP/1.1 to clients that only speak it), refuses TLS
// 1.1, and the smuggling guard still sees the decrypted bytes. Reloads are
// tested in internal/tlsreload.
func TestEDGE82_PublicListenerTLS(t *testing.T) {
	t.Parallel()
	cert := testissuer.NewCert(t, "edge test", time.Now().Add(24*time.Hour))
	certFile, keyFile := cert.WriteFiles(t, t.TempDir())
	pool := cert.Pool()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_TLS_CERT_FILE": certFile, "MCPBOX_EDGE_TLS_KEY_FILE": keyFile})
	base := "https://" + e.PublicAddr
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			ForceAttemptHTTP2: true,
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: v, MaxVersion: v},
		}}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/mcp", nil)
		req.Header.Set("Authorization", "Bearer "+e.Token("alice", nil))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("TLS %x: %v", v, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Errorf("TLS %x: %d over HTTP/%d", v, resp.StatusCode, resp.ProtoMajor)
		}
	}
	old := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	if conn, err := (&tls.Dialer{Config: old}).DialContext(context.Background(), "tcp", e.PublicAddr); err == nil {
		_ = conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
	// HTTP/1.1 over TLS: Content-Length with chunked is still refused.
	conn, err := (&tls.Dialer{Config: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}}).DialContext(context.Background(), "tcp", e.PublicAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_, _ = conn.Write([]byte("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("CL+TE over TLS: %d", resp.StatusCode)
	}
	if got := e.metricValue(t, "mcpbox_edge_tls_cert_expiry_timestamp_seconds"); got < float64(time.Now().Unix()) {
		t.Errorf("expiry gauge %v", got)
	}
}
