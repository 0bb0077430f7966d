package egress

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto/obs"
)

// Caps of sandbox.md §12.6.
const (
	// MaxToolRequests is the request budget of one execution.
	MaxToolRequests = 100
	// MaxToolConcurrent is how many requests of one execution may run at once.
	MaxToolConcurrent = 4
	// MaxToolRequestBody bounds a tool's request body.
	MaxToolRequestBody = 4 << 20
	// MaxToolResponseBody is what a tool receives of a response body (then
	// Truncated).
	MaxToolResponseBody = 10 << 20
	// MaxToolRequestTimeout bounds one tool request; the execution's
	// remaining time bounds it too.
	MaxToolRequestTimeout = 120 * time.Second
	// MaxResponseHeaderBytes bounds the response headers of every request.
	MaxResponseHeaderBytes = 64 << 10
	// DialTimeout bounds resolution plus connection; TLSHandshakeTimeout the
	// TLS handshake.
	DialTimeout         = 10 * time.Second
	TLSHandshakeTimeout = 10 * time.Second
)

// Resolver resolves host names; *net.Resolver implements it. Tests pass a
// fake one (WithResolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc connects to an address the policy has checked.
type DialFunc func(ctx context.Context, addr netip.AddrPort) (net.Conn, error)

// Config is the service-wide part of the policy, from the sandbox config.
type Config struct {
	// Deny holds the entries of MCPBOX_SANDBOX_EGRESS_DENY.
	Deny []string
	// DNS is MCPBOX_SANDBOX_DNS, "ip:port" of the resolver; "" means the
	// system resolver.
	DNS string
}

// Option changes a Broker; production wiring passes none.
type Option func(*Broker)

// WithResolver replaces the resolver (tests: a fake resolver whose answers
// are fixed per name).
func WithResolver(r Resolver) Option { return func(b *Broker) { b.resolver = r } }

// WithTestDial installs the test-only dial hook of sandbox.md §12.3: it runs
// after every check of §12.2–§12.4, including the per-connection re-check,
// and connects the checked address, for example a fake resolver's
// 93.184.216.34:80, to a mapped loopback fixture. Production wiring never
// sets it.
func WithTestDial(dial DialFunc) Option { return func(b *Broker) { b.testDial = dial } }

// WithRootCAs replaces the system roots used to verify servers (tests with
// TLS fixtures).
func WithRootCAs(pool *x509.CertPool) Option { return func(b *Broker) { b.rootCAs = pool } }

// Broker performs every outbound HTTP request of the sandbox under the SSRF
// policy of sandbox.md §12: tool HTTP (Session.Do), the external MCP client
// (Session.Client) and /v1/fetch (Broker.Fetch).
type Broker struct {
	log      *slog.Logger
	metrics  metrics
	deny     Deny
	resolver Resolver
	testDial DialFunc
	rootCAs  *x509.CertPool
	loopback map[netip.AddrPort]bool
}

// New builds the broker from the sandbox config, registering its metrics
// with reg. Invalid MCPBOX_SANDBOX_EGRESS_DENY entries or MCPBOX_SANDBOX_DNS
// fail with an error naming the variable.
func New(cfg Config, reg prometheus.Registerer, log *slog.Logger, opts ...Option) (*Broker, error) {
	deny, err := ParseDeny(cfg.Deny)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	b := &Broker{log: log, deny: deny, resolver: &net.Resolver{}}
	if cfg.DNS != "" {
		server, err := netip.ParseAddrPort(cfg.DNS)
		if err != nil || server.Port() == 0 || server.Addr().Zone() != "" {
			errs = append(errs, fmt.Errorf("MCPBOX_SANDBOX_DNS: %q must be ip:port, e.g. 10.96.0.10:53", cfg.DNS))
		} else {
			b.resolver = dnsResolver(server)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(b)
	}
	b.metrics = newMetrics(reg)
	return b, nil
}

// dnsResolver returns a pure-Go resolver that sends every query to server.
func dnsResolver(server netip.AddrPort) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: DialTimeout}
			return d.DialContext(ctx, network, server.String())
		},
	}
}

// Policy returns the policy of allow under this broker's operator denials.
func (b *Broker) Policy(allow Allowlist) *Policy {
	p := NewPolicy(allow, b.deny)
	p.loopback = b.loopback
	return p
}

// record counts one finished request and logs a refusal at debug level
// (host:port and reason only).
func (b *Broker) record(ctx context.Context, source Source, err error) {
	outcome := OutcomeOf(err)
	b.metrics.requests.WithLabelValues(string(source), string(outcome)).Inc()
	var be *BlockedError
	if errors.As(err, &be) {
		b.metrics.blocked.WithLabelValues(string(be.Reason)).Inc()
		b.log.DebugContext(ctx, "egress refused",
			obs.KeyHost, be.Host, obs.KeyReason, string(be.Reason), obs.KeyKind, string(source))
	}
}
