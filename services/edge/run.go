package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/edge/internal/admin"
	"github.com/mcpbox/mcpbox/services/edge/internal/config"
	"github.com/mcpbox/mcpbox/services/edge/internal/cors"
	"github.com/mcpbox/mcpbox/services/edge/internal/headers"
	"github.com/mcpbox/mcpbox/services/edge/internal/jwks"
	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
	"github.com/mcpbox/mcpbox/services/edge/internal/prm"
	"github.com/mcpbox/mcpbox/services/edge/internal/proxy"
	"github.com/mcpbox/mcpbox/services/edge/internal/public"
	"github.com/mcpbox/mcpbox/services/edge/internal/ratelimit"
	"github.com/mcpbox/mcpbox/services/edge/internal/tlsreload"
	"github.com/mcpbox/mcpbox/services/edge/internal/tokencheck"
)

const service = "edge"

// certCheck is how often the TLS files' modification time is checked (§14).
const certCheck = time.Minute

// run is the edge's command line: serve (default), config-doc, healthcheck
// (which probes the admin listener, the one that serves /healthz).
func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	return lifecycle.Service{ConfigDoc: config.Doc, HealthAddr: config.AdminAddr, Serve: serve}.Run(ctx, args, environ, stdout)
}

// serve wires the edge by hand (edge.md §16): configuration, then the admin
// listener, key loading in the background, and the public listener at once
// (it answers 503 on /mcp until keys arrive).
func serve(ctx context.Context, _, environ []string, stdout io.Writer) error {
	cfg, err := config.Load(lifecycle.Getenv(environ))
	if err != nil {
		return err
	}
	log := lifecycle.Start(stdout, service, cfg.Common, cfg, environ)
	reg := obs.NewRegistry(service)
	m := metrics.New(reg)
	for _, r := range tokencheck.Reasons() {
		m.JWTRejections.WithLabelValues(string(r))
	}

	// Key loading and certificate reloads outlive the signal: they keep
	// working while in-flight exchanges drain.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	keys := jwks.Start(work, jwks.Options{
		Issuer: cfg.Issuer, JWKSURL: cfg.JWKSURL, Refresh: cfg.JWKSRefresh, MinRefetch: cfg.JWKSMinRefetch,
		MaxStale: cfg.JWKSMaxStale, Insecure: cfg.InsecureDev, Log: log,
	}, m)
	px, err := newProxy(cfg, m)
	if err != nil {
		return err
	}
	proxies, err := headers.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return fmt.Errorf("MCPBOX_EDGE_TRUSTED_PROXIES: %w", err)
	}
	publicURL, err := url.Parse(strings.TrimSuffix(cfg.PublicURL, "/"))
	if err != nil {
		return fmt.Errorf("MCPBOX_EDGE_PUBLIC_URL: %w", err)
	}
	var certs *tlsreload.Reloader
	if cfg.TLSCertFile != "" {
		if certs, err = tlsreload.New(cfg.TLSCertFile, cfg.TLSKeyFile, certCheck, m, log); err != nil {
			return err
		}
		go certs.Run(work)
	}

	required := strings.Fields(cfg.RequiredScopes)
	health := admin.NewHealth(keys, px)
	stopStreams := make(chan struct{})
	endStreams := sync.OnceFunc(func() { close(stopStreams) })
	handler := public.Handler(public.Deps{
		Verifier: tokencheck.New(tokencheck.Config{
			Issuer: cfg.Issuer, Audiences: cfg.Audiences, Skew: cfg.ClockSkew, RequiredScopes: required,
			AllowedClients: cfg.AllowedClients, EmailClaim: cfg.EmailClaim, RequireEmailVerified: cfg.RequireEmailVerified,
		}, keys, m),
		Keys:     keys,
		Metadata: prm.New(publicURL.String(), cfg.Resource, cfg.Issuer, scopesSupported(cfg.ScopesSupported, required), required),
		CORS:     cors.New(cfg.CORSOrigins),
		Proxies:  proxies,
		Proxy:    px,
		Limits: public.Limits{
			IP:           ratelimit.NewBuckets(float64(cfg.IPRPS), cfg.IPBurst, nil),
			Subject:      ratelimit.NewBuckets(float64(cfg.SubjectRPS), cfg.SubjectBurst, nil),
			AuthFailures: ratelimit.NewFailures(cfg.AuthFailuresPerMin, nil),
			Streams:      ratelimit.NewStreams(cfg.SubjectMaxStreams),
			Inflight:     ratelimit.NewInflight(cfg.MaxInflight),
		},
		Metrics: m, Log: log, ServiceToken: string(cfg.GatewayToken), PublicURL: publicURL,
		MaxBody: int64(cfg.MaxBody), Draining: health.Draining, StopStreams: stopStreams,
	})

	guard := headers.NewSmuggleGuard()
	serveErr := httpserve.Serve(ctx, log, health,
		httpserve.Shutdown{Delay: cfg.ShutdownDelay, Timeout: cfg.ShutdownTimeout},
		httpserve.Listener{
			Name: "public", Addr: cfg.Listen, Handler: handler,
			Configure: func(s *http.Server) {
				s.ReadHeaderTimeout, s.IdleTimeout, s.MaxHeaderBytes = cfg.ReadHeaderTimeout, cfg.IdleTimeout, cfg.MaxHeaderBytes
				// No overall read or write timeout: the proxy sets the body
				// deadline and a per-write stall deadline (§11, §14).
				s.ReadTimeout, s.WriteTimeout = 0, 0
				// OPTIONS * reaches the router (and gets 404, §4.2).
				s.DisableGeneralOptionsHandler = true
				s.ConnContext = guard.ConnContext
				// Shutdown begins after MCPBOX_SHUTDOWN_DELAY: open GET
				// streams end cleanly then (§16).
				s.RegisterOnShutdown(endStreams)
				if certs != nil {
					s.TLSConfig = certs.Config()
					s.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 250}
				}
			},
			// TLS first, then the smuggling guard on the decrypted bytes.
			Wrap: func(l net.Listener) net.Listener {
				if certs != nil {
					l = tls.NewListener(l, certs.Config())
				}
				return guard.Listener(l)
			},
		},
		httpserve.Listener{
			Name: "admin", Addr: cfg.AdminListen,
			Handler: httpserve.Handler(log, "admin", obs.AlwaysNew, admin.Routes(health, reg)),
			Configure: func(s *http.Server) {
				s.ReadHeaderTimeout, s.WriteTimeout, s.IdleTimeout, s.MaxHeaderBytes = 5*time.Second, 10*time.Second, time.Minute, 8<<10
			},
		})
	return httpserve.WithoutDrainDeadline(log, serveErr)
}

// newProxy builds the upstream side from MCPBOX_EDGE_UPSTREAM_*.
func newProxy(cfg config.Config, m *metrics.Edge) (*proxy.Proxy, error) {
	up, err := url.Parse(cfg.UpstreamURL)
	if err != nil {
		return nil, fmt.Errorf("MCPBOX_EDGE_UPSTREAM_URL: %w", err)
	}
	o := proxy.Options{
		Upstream: up, DialTimeout: cfg.UpstreamDialTimeout, HeaderTimeout: cfg.UpstreamHeaderTimeout,
		MaxBody: int64(cfg.MaxBody), BodyTimeout: cfg.BodyTimeout, WriteStall: cfg.WriteStallTimeout, MaxExchange: cfg.MaxExchange,
	}
	if cfg.UpstreamCAFile != "" {
		pem, err := os.ReadFile(cfg.UpstreamCAFile)
		if err != nil {
			return nil, fmt.Errorf("MCPBOX_EDGE_UPSTREAM_CA_FILE: %w", err)
		}
		o.RootCAs = x509.NewCertPool()
		if !o.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("MCPBOX_EDGE_UPSTREAM_CA_FILE: %s holds no PEM certificate", cfg.UpstreamCAFile)
		}
	}
	return proxy.New(o, m)
}

// scopesSupported is MCPBOX_EDGE_SCOPES_SUPPORTED, by default "openid email"
// plus the required scopes (§3).
func scopesSupported(configured string, required []string) []string {
	if configured != "" {
		return strings.Fields(configured)
	}
	out := []string{"openid", "email"}
	for _, s := range required {
		if s != "openid" && s != "email" {
			out = append(out, s)
		}
	}
	return out
}
