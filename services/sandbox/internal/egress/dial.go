package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// newTransport returns a transport that dials only through dial, never
// through a proxy (HTTP_PROXY and friends are ignored), with the timeouts and
// header cap of sandbox.md §12.6.
func (b *Broker) newTransport(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            dial,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: b.rootCAs},
		TLSHandshakeTimeout:    TLSHandshakeTimeout,
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           16,
		MaxIdleConnsPerHost:    MaxToolConcurrent,
		IdleConnTimeout:        90 * time.Second,
	}
}

// dial is the transport's DialContext (sandbox.md §12.4): it checks the host
// again, resolves it once, refuses the request if any answer is refused,
// then connects the checked addresses in order; every connection attempt is
// checked once more at connect time.
func (s *Session) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, badURL("the host and port cannot be parsed")
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return nil, badURL("the port must be a number from 1 to 65535")
	}
	t, err := s.policy.CheckHost(host, port)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	addrs := []netip.Addr{t.Addr}
	if !t.Addr.IsValid() {
		addrs, err = s.b.resolver.LookupNetIP(ctx, "ip", t.Host)
		if err != nil || len(addrs) == 0 {
			return nil, &RequestError{Kind: OutcomeConnectError, Message: fmt.Sprintf("could not resolve '%s'", t.Host), Err: err}
		}
	}
	checked := make([]netip.AddrPort, len(addrs))
	for i, a := range addrs {
		checked[i] = netip.AddrPortFrom(a, uint16(port))
		if err := s.policy.CheckAddr(t, checked[i]); err != nil {
			return nil, err
		}
	}
	var last error
	for _, ap := range checked {
		conn, err := s.connect(ctx, t, ap)
		if err == nil {
			return conn, nil
		}
		var be *BlockedError
		if errors.As(err, &be) {
			return nil, be
		}
		last = err
	}
	return nil, &RequestError{Kind: connectKind(ctx, last), Message: fmt.Sprintf("could not connect to '%s'%s", t.HostPort(), connectCause(last)), Err: last}
}

// connect opens one connection to a checked address. The address is checked
// again here and, for real sockets, by the dialer's Control hook on the exact
// ip:port the kernel is asked to connect (DNS rebinding, fallback attempts
// and keep-alive reconnects all pass through it).
func (s *Session) connect(ctx context.Context, t Target, ap netip.AddrPort) (net.Conn, error) {
	ap = netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	if err := s.policy.CheckAddr(t, ap); err != nil {
		return nil, err
	}
	if s.b.testDial != nil {
		return s.b.testDial(ctx, ap)
	}
	network := "tcp6"
	if ap.Addr().Is4() {
		network = "tcp4"
	}
	d := net.Dialer{Timeout: DialTimeout, FallbackDelay: -1, Control: s.control(t)}
	return d.DialContext(ctx, network, ap.String())
}

// control is the net.Dialer.Control hook: only tcp4/tcp6, and the exact
// address must pass the policy.
func (s *Session) control(t Target) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if network != "tcp4" && network != "tcp6" {
			return &BlockedError{Host: t.HostPort(), Reason: ReasonAlwaysBlocked}
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &BlockedError{Host: t.HostPort(), Reason: ReasonAlwaysBlocked}
		}
		return s.policy.CheckAddr(t, ap)
	}
}

// connectKind is timeout when the dial ran out of time, else connect_error.
func connectKind(ctx context.Context, err error) Outcome {
	var netErr interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout()) {
		return OutcomeTimeout
	}
	return OutcomeConnectError
}

// connectCause names a connection failure without any address.
func connectCause(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return " (connection refused)"
	case errors.Is(err, syscall.ECONNRESET):
		return " (connection reset)"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return " (no route to host)"
	case connectKind(context.Background(), err) == OutcomeTimeout:
		return " (timed out)"
	}
	return ""
}
