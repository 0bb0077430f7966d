package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edge test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// EDGE-82 through the running edge: the public listener serves TLS 1.2/1.3
// with h2 by ALPN (and HTTP/1.1 to clients that only speak it), refuses TLS
// 1.1, and the smuggling guard still sees the decrypted bytes. Reloads are
// tested in internal/tlsreload.
func TestEDGE82_PublicListenerTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
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
