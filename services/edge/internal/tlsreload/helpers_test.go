package tlsreload_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
	"github.com/mcpbox/mcpbox/services/edge/internal/tlsreload"
)

// testCert is a self-signed certificate for 127.0.0.1 (its own root).
type testCert struct {
	certPEM, keyPEM []byte
	leaf            *x509.Certificate
}

func newTestCert(t testing.TB, cn string, notAfter time.Time) testCert {
	t.Helper()
	c := testissuer.NewCert(t, cn, notAfter)
	return testCert{certPEM: c.CertPEM, keyPEM: c.KeyPEM, leaf: c.Leaf}
}

// pairFiles are the certificate and key paths in a test directory.
type pairFiles struct{ cert, key string }

func newPairFiles(t *testing.T) pairFiles {
	t.Helper()
	dir := t.TempDir()
	return pairFiles{cert: filepath.Join(dir, "tls.crt"), key: filepath.Join(dir, "tls.key")}
}

// replace swaps in new contents the way renewal tools do: write a temporary
// file, then rename it over the old one (key first, then certificate).
func (p pairFiles) replace(t *testing.T, certPEM, keyPEM []byte) {
	t.Helper()
	for _, f := range []struct {
		path string
		data []byte
	}{{p.key, keyPEM}, {p.cert, certPEM}} {
		tmp := f.path + ".tmp"
		if err := os.WriteFile(tmp, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.path); err != nil {
			t.Fatal(err)
		}
	}
}

func (p pairFiles) write(t *testing.T, c testCert) { t.Helper(); p.replace(t, c.certPEM, c.keyPEM) }

// logBuffer collects log output written from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type fixture struct {
	files pairFiles
	m     *metrics.Edge
	logs  *logBuffer
	r     *tlsreload.Reloader
}

func newFixture(t *testing.T, c testCert, interval time.Duration) *fixture {
	t.Helper()
	f := &fixture{files: newPairFiles(t), m: metrics.New(prometheus.NewRegistry()), logs: &logBuffer{}}
	f.files.write(t, c)
	r, err := tlsreload.New(f.files.cert, f.files.key, interval, f.m, slog.New(slog.NewJSONHandler(f.logs, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.r = r
	return f
}

func (f *fixture) expiry() int64 { return int64(testutil.ToFloat64(f.m.TLSCertExpiry)) }

// serve runs an HTTP server on 127.0.0.1 with the reloader's TLS config and
// returns its base URL. The handler answers with the protocol it saw.
func serve(t *testing.T, r *tlsreload.Reloader) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			_, _ = io.WriteString(w, req.Proto)
		}),
		TLSConfig:         r.Config(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // refused handshakes are expected
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("ServeTLS: %v", err)
		}
	})
	return "https://" + ln.Addr().String()
}

// client trusts the given certificates and speaks h2 when offered.
func client(t *testing.T, minV, maxV uint16, trust ...testCert) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	for _, c := range trust {
		roots.AddCert(c.leaf)
	}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: minV, MaxVersion: maxV},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// served is what a GET returned.
type served struct {
	protoMajor int
	body       string // the protocol the server saw
	tls        *tls.ConnectionState
}

// serial is the serial number of the certificate the server presented.
func (s served) serial(t *testing.T) *big.Int {
	t.Helper()
	if s.tls == nil || len(s.tls.PeerCertificates) == 0 {
		t.Fatal("response without TLS peer certificates")
	}
	return s.tls.PeerCertificates[0].SerialNumber
}

// get fetches url with c (ctx carries an optional client trace).
func get(ctx context.Context, t *testing.T, c *http.Client, url string) served {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: status %d", resp.StatusCode)
	}
	return served{protoMajor: resp.ProtoMajor, body: string(body), tls: resp.TLS}
}
