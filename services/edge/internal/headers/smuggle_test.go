package headers

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
)

// guardHandler reports what the handler sees: Tainted, the protocol and
// the TLS state. Like the public router it refuses a tainted connection
// with 400 and closes it.
func guardHandler(w http.ResponseWriter, r *http.Request) {
	tainted := Tainted(r.Context())
	_, _ = io.Copy(io.Discard, r.Body)
	h := w.Header()
	h.Set("X-Tainted", strconv.FormatBool(tainted))
	h.Set("X-Proto", r.Proto)
	if r.TLS != nil {
		h.Set("X-TLS", "yes")
	}
	if tainted {
		h.Set("Connection", "close")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// serve runs a real server on 127.0.0.1 with the guard's ConnContext;
// build makes the served listener from the guard and the bound listener
// (nil: the plain-HTTP wiring, g.Listener(ln)).
func serve(t *testing.T, build func(g *SmuggleGuard, ln net.Listener) net.Listener) string {
	t.Helper()
	g := NewSmuggleGuard()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(guardHandler),
		ConnContext:       g.ConnContext,
		ReadHeaderTimeout: 5 * time.Second,
	}
	l := g.Listener(ln)
	if build != nil {
		l = build(g, ln)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// rawConn is a raw client: write bytes, read one response at a time.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, c net.Conn) *rawConn {
	t.Helper()
	// A deadline only turns a hang into a failure; nothing is timed.
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

// answer is what a raw round trip returned.
type answer struct {
	status int
	header http.Header
}

func (rc *rawConn) roundTrip(req string) answer {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, req); err != nil {
		rc.t.Fatal(err)
	}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.t.Fatalf("reading response: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return answer{resp.StatusCode, resp.Header}
}

func (rc *rawConn) expect(req string, status int, tainted bool) answer {
	rc.t.Helper()
	a := rc.roundTrip(req)
	if a.status != status || a.header.Get("X-Tainted") != strconv.FormatBool(tainted) {
		rc.t.Fatalf("status %d tainted %q, want %d %v", a.status, a.header.Get("X-Tainted"), status, tainted)
	}
	return a
}

func (rc *rawConn) expectClosed() {
	rc.t.Helper()
	if _, err := rc.br.ReadByte(); err != io.EOF {
		rc.t.Fatalf("connection still open after a tainted request (err %v)", err)
	}
}

func tcpDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	reqCLTE = "POST /mcp HTTP/1.1\r\nHost: edge\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	reqTECL = "POST /mcp HTTP/1.1\r\nHost: edge\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n0\r\n\r\n"
	reqGET  = "GET /mcp HTTP/1.1\r\nHost: edge\r\n\r\n"
	reqCL   = "POST /mcp HTTP/1.1\r\nHost: edge\r\nContent-Length: 2\r\n\r\n{}"
	reqTE   = "POST /mcp HTTP/1.1\r\nHost: edge\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
	// A body that holds header-like text must not taint the connection.
	lookalike  = "x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
	reqCLLooks = "POST /mcp HTTP/1.1\r\nHost: edge\r\nContent-Length: 52\r\n\r\n" + lookalike
	reqTELooks = "POST /mcp HTTP/1.1\r\nHost: edge\r\nTransfer-Encoding: chunked\r\n\r\n34\r\n" + lookalike + "\r\n0\r\n\r\n"
)

func TestEDGE73_SmuggleGuardPlainHTTP(t *testing.T) {
	t.Parallel()
	addr := serve(t, nil)

	t.Run("CL+TE refused", func(t *testing.T) {
		t.Parallel()
		rc := dialRaw(t, tcpDial(t, addr))
		rc.expect(reqCLTE, http.StatusBadRequest, true)
		rc.expectClosed()
	})
	t.Run("TE+CL lower case refused", func(t *testing.T) {
		t.Parallel()
		rc := dialRaw(t, tcpDial(t, addr))
		rc.expect(reqTECL, http.StatusBadRequest, true)
		rc.expectClosed()
	})
	t.Run("normal requests pass on another connection", func(t *testing.T) {
		t.Parallel()
		rc := dialRaw(t, tcpDial(t, addr))
		rc.expect(reqTE, http.StatusOK, false)
		rc.expect(reqCL, http.StatusOK, false)
		rc.expect(reqCLLooks, http.StatusOK, false)
		rc.expect(reqTELooks, http.StatusOK, false)
		rc.expect(reqGET, http.StatusOK, false)
	})
	t.Run("taint after clean requests on one connection", func(t *testing.T) {
		t.Parallel()
		rc := dialRaw(t, tcpDial(t, addr))
		rc.expect(reqGET, http.StatusOK, false)
		rc.expect(reqCLLooks, http.StatusOK, false)
		rc.expect(reqCLTE, http.StatusBadRequest, true)
		rc.expectClosed()
	})
}

// testCert returns a self-signed certificate for 127.0.0.1 and a pool
// trusting it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	c := testissuer.NewCert(t, "edge test", time.Now().Add(time.Hour))
	return c.TLS(t), c.Pool()
}

func TestEDGE73_SmuggleGuardTLS(t *testing.T) {
	t.Parallel()
	cert, pool := testCert(t)
	serverCfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
	// The documented wiring: the guard on top of TLS.
	addr := serve(t, func(g *SmuggleGuard, ln net.Listener) net.Listener {
		return g.Listener(tls.NewListener(ln, serverCfg))
	})
	dialTLS := func(t *testing.T) *rawConn {
		t.Helper()
		c := tls.Client(tcpDial(t, addr), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12})
		return dialRaw(t, c)
	}

	t.Run("HTTP/1.1 CL+TE refused from decrypted bytes", func(t *testing.T) {
		t.Parallel()
		rc := dialTLS(t)
		a := rc.expect(reqCLTE, http.StatusBadRequest, true)
		if a.header.Get("X-TLS") != "yes" {
			t.Error("Request.TLS not set through the guard")
		}
		rc.expectClosed()
	})
	t.Run("HTTP/1.1 normal requests pass", func(t *testing.T) {
		t.Parallel()
		rc := dialTLS(t)
		rc.expect(reqTE, http.StatusOK, false)
		rc.expect(reqCLLooks, http.StatusOK, false)
		a := rc.expect(reqGET, http.StatusOK, false)
		if a.header.Get("X-TLS") != "yes" {
			t.Error("Request.TLS not set through the guard")
		}
	})
	t.Run("HTTP/2 by ALPN still served", func(t *testing.T) {
		t.Parallel()
		client := &http.Client{Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2: true,
		}}
		t.Cleanup(client.CloseIdleConnections)
		for _, body := range []string{"", lookalike} {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "https://"+addr+"/mcp", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || resp.Header.Get("X-Tainted") != "false" || resp.Header.Get("X-TLS") != "yes" {
				t.Fatalf("status %d proto %s tainted %q tls %q, want 200 over HTTP/2, untainted, with TLS",
					resp.StatusCode, resp.Proto, resp.Header.Get("X-Tainted"), resp.Header.Get("X-TLS"))
			}
		}
	})
}

// A guard below TLS would scan ciphertext, and a server whose listener is
// not guarded could not see anything: both fail closed.
func TestSmuggleGuardMiswiredFailsClosed(t *testing.T) {
	t.Parallel()
	cert, pool := testCert(t)
	serverCfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	t.Run("TLS on top of the guard", func(t *testing.T) {
		t.Parallel()
		addr := serve(t, func(g *SmuggleGuard, ln net.Listener) net.Listener {
			return tls.NewListener(g.Listener(ln), serverCfg)
		})
		c := tls.Client(tcpDial(t, addr), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
		dialRaw(t, c).expect(reqGET, http.StatusBadRequest, true)
	})
	t.Run("listener not guarded", func(t *testing.T) {
		t.Parallel()
		addr := serve(t, func(_ *SmuggleGuard, ln net.Listener) net.Listener { return ln })
		dialRaw(t, tcpDial(t, addr)).expect(reqGET, http.StatusBadRequest, true)
	})
}

func TestTaintedWithoutGuard(t *testing.T) {
	t.Parallel()
	if Tainted(context.Background()) {
		t.Fatal("a context without ConnContext is tainted")
	}
}
