package headers

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// SmuggleGuard wraps the public listener so that a request carrying both
// Content-Length and Transfer-Encoding can be refused with 400 (EDGE-73):
// Go's server resolves that conflict by dropping Content-Length, so the
// handler alone could never see it. Each accepted connection's bytes are
// scanned for a header block holding both fields; the handler asks
// Tainted with the request context (the server's ConnContext must be
// SmuggleGuard.ConnContext) and refuses every request of a tainted
// connection, closing it.
//
// Wiring. The guard must see the bytes Go's HTTP/1 parser sees, so it
// wraps the outermost listener, the one passed to http.Server.Serve:
//
//	plain HTTP: srv.Serve(guard.Listener(tcp))
//	TLS:        srv.Serve(guard.Listener(tls.NewListener(tcp, cfg)))
//
// With TLS the accepted connections are *tls.Conn; the guard's wrapper
// keeps their ConnectionState and HandshakeContext methods, which is all
// net/http (Go ≥ 1.26) needs to treat a connection as TLS: it performs the
// handshake with its own timeout, sets Request.TLS and serves HTTP/2 when
// ALPN chose "h2" (cfg.NextProtos must list "h2" and "http/1.1"; with
// srv.TLSConfig set, it must list "h2" too). The scan therefore reads
// decrypted bytes. An "h2" connection is not scanned: HTTP/2 has no
// Transfer-Encoding (Go refuses it as a connection-specific header).
// Never put TLS on top of the guard (ServeTLS, or tls.NewListener around
// guard.Listener): the guard would scan ciphertext. ConnContext detects
// that wiring, and a connection that did not come from the guard at all,
// and then fails closed: every request on it is Tainted.
//
// The scan keeps a fixed amount of state per connection and never buffers
// a request; see scanner for how it follows bodies and chunks.
type SmuggleGuard struct{}

// NewSmuggleGuard returns a guard.
func NewSmuggleGuard() *SmuggleGuard { return &SmuggleGuard{} }

// Listener wraps l: every accepted connection is scanned.
func (g *SmuggleGuard) Listener(l net.Listener) net.Listener {
	return &guardListener{Listener: l}
}

// ConnContext is the http.Server ConnContext hook: it stores the taint
// flag of c (a connection from a guard's listener) in the connection's
// context.
// For any other connection the stored flag is set: fail closed (see the
// type's doc for the wiring).
func (g *SmuggleGuard) ConnContext(ctx context.Context, c net.Conn) context.Context {
	var gc *guardConn
	switch c := c.(type) {
	case *guardConn:
		gc = c
	case *tlsGuardConn:
		gc = c.guardConn
	}
	if gc == nil {
		flag := new(atomic.Bool)
		flag.Store(true)
		return context.WithValue(ctx, taintKey{}, flag)
	}
	return context.WithValue(ctx, taintKey{}, &gc.tainted)
}

// Tainted reports whether the request's connection sent a header block with
// both Content-Length and Transfer-Encoding. A context without the guard's
// ConnContext is never tainted.
func Tainted(ctx context.Context) bool {
	flag, ok := ctx.Value(taintKey{}).(*atomic.Bool)
	return ok && flag.Load()
}

type taintKey struct{}

type guardListener struct {
	net.Listener
}

func (l *guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &guardConn{Conn: c}
	if tc, ok := c.(tlsConn); ok {
		gc.tls = tc
		return &tlsGuardConn{guardConn: gc}, nil
	}
	return gc, nil
}

// tlsConn is what net/http looks for to treat a connection as TLS.
type tlsConn interface {
	ConnectionState() tls.ConnectionState
	HandshakeContext(ctx context.Context) error
}

// guardConn scans what is read from the connection.
type guardConn struct {
	net.Conn
	tainted atomic.Bool
	tls     tlsConn // nil for plain connections

	mu      sync.Mutex // guards scan and checked
	scan    scanner
	checked bool // ALPN looked at (TLS)
}

func (c *guardConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if !c.checked {
			// Data arrived, so the handshake is complete.
			c.checked = true
			if c.tls != nil && c.tls.ConnectionState().NegotiatedProtocol == "h2" {
				c.scan.state = scanOff
			}
		}
		c.scan.feed(p[:n])
		if c.scan.tainted {
			c.tainted.Store(true)
		}
		c.mu.Unlock()
	}
	return n, err
}

// CloseWrite half-closes when the connection can (net/http uses it to
// flush an error response before closing).
func (c *guardConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// NetConn returns the wrapped connection.
func (c *guardConn) NetConn() net.Conn { return c.Conn }

// tlsGuardConn is a guardConn over a TLS connection; it keeps the methods
// net/http needs to see TLS.
type tlsGuardConn struct {
	*guardConn
}

// ConnectionState returns the TLS state of the wrapped connection.
func (c *tlsGuardConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

// HandshakeContext runs the TLS handshake of the wrapped connection.
func (c *tlsGuardConn) HandshakeContext(ctx context.Context) error {
	return c.tls.HandshakeContext(ctx)
}
