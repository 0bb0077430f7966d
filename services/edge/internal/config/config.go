// Package config is the edge's configuration (spec/edge.md §3,
// operations.md §2.6), loaded once from MCPBOX_* variables.
package config

import (
	"cmp"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto/envcfg"
)

// Config is the edge's effective configuration.
type Config struct {
	envcfg.Common

	GatewayToken          envcfg.Token  `env:"MCPBOX_GATEWAY_TOKEN" required:"true" help:"sent to the gateway's remote listener"`
	Listen                string        `env:"MCPBOX_EDGE_LISTEN" default:":8080" rule:"listen" help:"public listener"`
	AdminListen           string        `env:"MCPBOX_EDGE_ADMIN_LISTEN" default:":9080" rule:"listen" help:"health and metrics listener"`
	PublicURL             string        `env:"MCPBOX_EDGE_PUBLIC_URL" required:"true" help:"public base URL, https://host[:port]"`
	Resource              string        `env:"MCPBOX_EDGE_RESOURCE" help:"protected-resource id (default <PUBLIC_URL>/mcp)"`
	Audiences             []string      `env:"MCPBOX_EDGE_AUDIENCES" help:"accepted aud values (default <RESOURCE>)"`
	Issuer                string        `env:"MCPBOX_EDGE_ISSUER" required:"true" help:"exact iss, also the OIDC discovery base"`
	JWKSURL               string        `env:"MCPBOX_EDGE_JWKS_URL" help:"JWKS location (default: jwks_uri from OIDC discovery)"`
	JWKSRefresh           time.Duration `env:"MCPBOX_EDGE_JWKS_REFRESH" default:"10m" help:"key-set refresh"`
	JWKSMinRefetch        time.Duration `env:"MCPBOX_EDGE_JWKS_MIN_REFETCH" default:"10s" help:"spacing of unknown-kid refetches"`
	JWKSMaxStale          time.Duration `env:"MCPBOX_EDGE_JWKS_MAX_STALE" default:"24h" help:"how long the last good key set serves while fetches fail"`
	ClockSkew             time.Duration `env:"MCPBOX_EDGE_CLOCK_SKEW" default:"60s" help:"leeway for exp, nbf, iat (0–5m)"`
	RequiredScopes        string        `env:"MCPBOX_EDGE_REQUIRED_SCOPES" help:"space-separated scopes every token must grant"`
	ScopesSupported       string        `env:"MCPBOX_EDGE_SCOPES_SUPPORTED" help:"advertised scopes (default openid email + required)"`
	AllowedClients        []string      `env:"MCPBOX_EDGE_ALLOWED_CLIENTS" help:"if set, azp (or client_id) must be one of these"`
	EmailClaim            string        `env:"MCPBOX_EDGE_EMAIL_CLAIM" default:"email" help:"claim that carries the caller's email"`
	RequireEmailVerified  bool          `env:"MCPBOX_EDGE_REQUIRE_EMAIL_VERIFIED" default:"false" help:"forward only verified emails"`
	UpstreamURL           string        `env:"MCPBOX_EDGE_UPSTREAM_URL" default:"http://127.0.0.1:8003" rule:"url" help:"the gateway's remote listener"`
	UpstreamCAFile        string        `env:"MCPBOX_EDGE_UPSTREAM_CA_FILE" help:"PEM roots for an https:// upstream"`
	CORSOrigins           []string      `env:"MCPBOX_EDGE_CORS_ORIGINS" default:"https://claude.ai,https://claude.com" help:"allowed browser origins"`
	TrustedProxies        []string      `env:"MCPBOX_EDGE_TRUSTED_PROXIES" help:"CIDRs whose X-Forwarded-For gives the client IP"`
	MaxBody               envcfg.Size   `env:"MCPBOX_EDGE_MAX_BODY" default:"1MiB" help:"request body cap"`
	MaxHeaderBytes        int           `env:"MCPBOX_EDGE_MAX_HEADER_BYTES" default:"32768" min:"1024" max:"1048576" help:"request line and headers, in bytes"`
	ReadHeaderTimeout     time.Duration `env:"MCPBOX_EDGE_READ_HEADER_TIMEOUT" default:"10s" help:"time to receive the request line and headers"`
	BodyTimeout           time.Duration `env:"MCPBOX_EDGE_BODY_TIMEOUT" default:"30s" help:"time to receive the whole request body"`
	WriteStallTimeout     time.Duration `env:"MCPBOX_EDGE_WRITE_STALL_TIMEOUT" default:"60s" help:"longest a single response write may block"`
	IdleTimeout           time.Duration `env:"MCPBOX_EDGE_IDLE_TIMEOUT" default:"120s" help:"keep-alive idle time"`
	UpstreamDialTimeout   time.Duration `env:"MCPBOX_EDGE_UPSTREAM_DIAL_TIMEOUT" default:"5s" help:"connect to the gateway"`
	UpstreamHeaderTimeout time.Duration `env:"MCPBOX_EDGE_UPSTREAM_HEADER_TIMEOUT" default:"330s" help:"wait for upstream response headers"`
	MaxExchange           time.Duration `env:"MCPBOX_EDGE_MAX_EXCHANGE" default:"1h" help:"hard cap on one proxied exchange"`
	IPRPS                 int           `env:"MCPBOX_EDGE_IP_RPS" default:"50" min:"1" max:"100000" help:"token bucket per client IP: rate"`
	IPBurst               int           `env:"MCPBOX_EDGE_IP_BURST" default:"100" min:"1" max:"100000" help:"token bucket per client IP: burst"`
	SubjectRPS            int           `env:"MCPBOX_EDGE_SUBJECT_RPS" default:"10" min:"1" max:"100000" help:"token bucket per subject: rate"`
	SubjectBurst          int           `env:"MCPBOX_EDGE_SUBJECT_BURST" default:"40" min:"1" max:"100000" help:"token bucket per subject: burst"`
	AuthFailuresPerMin    int           `env:"MCPBOX_EDGE_AUTH_FAILURES_PER_MIN" default:"30" min:"1" max:"100000" help:"failed tokens per IP before lockout"`
	SubjectMaxStreams     int           `env:"MCPBOX_EDGE_SUBJECT_MAX_STREAMS" default:"8" min:"1" max:"10000" help:"open GET /mcp streams per subject"`
	MaxInflight           int           `env:"MCPBOX_EDGE_MAX_INFLIGHT" default:"2048" min:"1" max:"1000000" help:"proxied exchanges per replica"`
	TLSCertFile           string        `env:"MCPBOX_EDGE_TLS_CERT_FILE" help:"TLS certificate of the public listener (reloaded on change)"`
	TLSKeyFile            string        `env:"MCPBOX_EDGE_TLS_KEY_FILE" help:"TLS key of the public listener (reloaded on change)"`
	InsecureDev           bool          `env:"MCPBOX_EDGE_INSECURE_DEV" default:"false" help:"dev only: http:// URLs on loopback listeners"`
}

func defaults() map[string]string {
	return map[string]string{"MCPBOX_SHUTDOWN_DELAY": "5s", "MCPBOX_SHUTDOWN_TIMEOUT": "25s"}
}

// Load reads and validates the configuration, reporting every problem.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	rep := envcfg.Load(&c, getenv, defaults())
	if c.Listen == c.AdminListen && !strings.HasSuffix(c.Listen, ":0") {
		rep.Problemf("MCPBOX_EDGE_ADMIN_LISTEN", "must differ from MCPBOX_EDGE_LISTEN")
	}
	if c.InsecureDev {
		if !c.Dev() {
			rep.Problemf("MCPBOX_EDGE_INSECURE_DEV", "only allowed with MCPBOX_MODE=dev")
		}
		for name, addr := range map[string]string{"MCPBOX_EDGE_LISTEN": c.Listen, "MCPBOX_EDGE_ADMIN_LISTEN": c.AdminListen} {
			if host, _, err := net.SplitHostPort(addr); err == nil && !envcfg.IsLoopbackHost(host) {
				rep.Problemf("MCPBOX_EDGE_INSECURE_DEV", "requires loopback listeners; %s is %q", name, addr)
			}
		}
	}
	if c.PublicURL != "" {
		checkOrigin(rep, "MCPBOX_EDGE_PUBLIC_URL", c.PublicURL, c.InsecureDev)
		origin := strings.TrimSuffix(c.PublicURL, "/")
		c.Resource = cmp.Or(c.Resource, origin+"/mcp")
		if c.Resource != origin && c.Resource != origin+"/mcp" {
			rep.Problemf("MCPBOX_EDGE_RESOURCE", "must be MCPBOX_EDGE_PUBLIC_URL or MCPBOX_EDGE_PUBLIC_URL/mcp (same origin, path /mcp or empty)")
		}
		if len(c.Audiences) == 0 {
			c.Audiences = []string{c.Resource}
		}
		for _, aud := range c.Audiences {
			if aud != origin && !strings.HasPrefix(aud, origin+"/") {
				rep.Weakf("MCPBOX_EDGE_AUDIENCES", "entry %q must be MCPBOX_EDGE_PUBLIC_URL or a URL under it, so a token for another resource is never accepted", aud)
			}
		}
		if len(c.Audiences) > 4 {
			rep.Problemf("MCPBOX_EDGE_AUDIENCES", "at most 4 entries (got %d)", len(c.Audiences))
		}
	}
	for name, u := range map[string]string{"MCPBOX_EDGE_ISSUER": c.Issuer, "MCPBOX_EDGE_JWKS_URL": c.JWKSURL} {
		if u != "" {
			checkHTTPS(rep, name, u, c.InsecureDev)
		}
	}
	// JWKS_REFRESH is 1m–24h; shorter intervals (tests, EDGE-41/85) are
	// accepted in dev mode only.
	if c.JWKSRefresh < time.Second || c.JWKSRefresh > 24*time.Hour {
		rep.Problemf("MCPBOX_EDGE_JWKS_REFRESH", "must be 1m–24h (got %s)", c.JWKSRefresh)
	} else if c.JWKSRefresh < time.Minute {
		rep.Weakf("MCPBOX_EDGE_JWKS_REFRESH", "must be 1m–24h (got %s)", c.JWKSRefresh)
	}
	if c.JWKSMinRefetch < time.Second || c.JWKSMinRefetch > 5*time.Minute {
		rep.Problemf("MCPBOX_EDGE_JWKS_MIN_REFETCH", "must be 1s–5m (got %s)", c.JWKSMinRefetch)
	}
	if c.JWKSMaxStale < c.JWKSRefresh {
		rep.Problemf("MCPBOX_EDGE_JWKS_MAX_STALE", "must be at least MCPBOX_EDGE_JWKS_REFRESH (%s)", c.JWKSRefresh)
	}
	if c.ClockSkew > 5*time.Minute {
		rep.Problemf("MCPBOX_EDGE_CLOCK_SKEW", "must be 0–5m (got %s)", c.ClockSkew)
	}
	if c.SubjectBurst < c.SubjectRPS {
		rep.Problemf("MCPBOX_EDGE_SUBJECT_BURST", "must be at least MCPBOX_EDGE_SUBJECT_RPS (%d)", c.SubjectRPS)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		rep.Problemf("MCPBOX_EDGE_TLS_KEY_FILE", "set both MCPBOX_EDGE_TLS_CERT_FILE and MCPBOX_EDGE_TLS_KEY_FILE, or neither")
	}
	for _, o := range c.CORSOrigins {
		if u, err := url.Parse(o); err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || strings.Contains(o, "*") {
			rep.Problemf("MCPBOX_EDGE_CORS_ORIGINS", "entry %q must be an exact origin scheme://host[:port]; wildcards and paths are refused", o)
		}
	}
	c.Warnings = rep.Warnings()
	return c, rep.Err()
}

// checkOrigin requires an absolute https URL with no path, query, fragment or
// user info (http:// only in insecure dev mode).
func checkOrigin(rep *envcfg.Report, name, raw string, insecure bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		rep.Problemf(name, "must be https://host[:port] with no path, query, fragment or user info (got %q)", raw)
		return
	}
	checkHTTPS(rep, name, raw, insecure)
}

func checkHTTPS(rep *envcfg.Report, name, raw string, insecure bool) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		rep.Problemf(name, "must be an absolute https:// URL (got %q)", raw)
	case u.Scheme == "http" && !insecure:
		rep.Problemf(name, "must use https:// (http:// only with MCPBOX_EDGE_INSECURE_DEV=true in dev mode)")
	}
}

// AdminAddr returns the admin listen address for the healthcheck.
func AdminAddr(getenv func(string) string) string {
	return cmp.Or(getenv("MCPBOX_EDGE_ADMIN_LISTEN"), ":9080")
}

// Doc is the configuration table of the README.
func Doc() string { return envcfg.Doc(Config{}, defaults()) }
