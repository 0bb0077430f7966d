// Package config is the gateway's configuration (spec/gateway.md §14,
// operations.md §2.4), loaded once from MCPBOX_* variables.
package config

import (
	"cmp"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto/envcfg"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

// Off disables a listener.
const Off = "off"

// Config is the gateway's effective configuration.
type Config struct {
	envcfg.Common

	LocalListen          string        `env:"MCPBOX_GATEWAY_LOCAL_LISTEN" default:"127.0.0.1:8002" rule:"listen" off:"true" help:"trusted local MCP listener, or off"`
	LocalAllowNonLoop    bool          `env:"MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK" default:"false" help:"must be true to bind the local listener to a non-loopback address"`
	LocalHosts           []string      `env:"MCPBOX_GATEWAY_LOCAL_HOSTS" help:"extra Host values accepted on the local listener, comma-separated (host: any port; host:port: that port)"`
	LocalOrigins         []string      `env:"MCPBOX_GATEWAY_LOCAL_ORIGINS" help:"extra Origin values accepted on the local listener, comma-separated (scheme://host[:port])"`
	LocalRPM             string        `env:"MCPBOX_GATEWAY_LOCAL_RPM" default:"off" help:"rate limit of the local listener in calls per minute, or off"`
	RemoteListen         string        `env:"MCPBOX_GATEWAY_REMOTE_LISTEN" default:":8003" rule:"listen" off:"true" help:"listener behind the edge, or off"`
	Token                envcfg.Token  `env:"MCPBOX_GATEWAY_TOKEN" help:"accepted from the edge; required with the remote listener (at least 32 bytes)"`
	TokenPrevious        envcfg.Token  `env:"MCPBOX_GATEWAY_TOKEN_PREVIOUS" help:"also accepted during a token rotation"`
	RemoteOrigins        []string      `env:"MCPBOX_GATEWAY_REMOTE_ORIGINS" help:"allowed Origin values on the remote listener, comma-separated (empty: no check)"`
	BackendURL           string        `env:"MCPBOX_BACKEND_INTERNAL_URL" default:"http://127.0.0.1:8004" rule:"url" help:"the backend's internal listener"`
	BackendToken         envcfg.Token  `env:"MCPBOX_BACKEND_TOKEN" required:"true" help:"sent to the backend"`
	SandboxURL           string        `env:"MCPBOX_SANDBOX_URL" default:"http://127.0.0.1:8001" rule:"url" help:"the sandbox"`
	SandboxToken         envcfg.Token  `env:"MCPBOX_SANDBOX_TOKEN" required:"true" help:"sent to the sandbox"`
	SessionMode          string        `env:"MCPBOX_GATEWAY_SESSION_MODE" default:"stateless" enum:"stateless,hybrid" help:"session mode"`
	SessionIdle          time.Duration `env:"MCPBOX_GATEWAY_SESSION_IDLE" default:"30m" help:"hybrid session idle timeout"`
	MaxSessions          int           `env:"MCPBOX_GATEWAY_MAX_SESSIONS" default:"1000" min:"1" max:"1000000" help:"session cap"`
	MaxSessionsPerCaller int           `env:"MCPBOX_GATEWAY_MAX_SESSIONS_PER_CALLER" default:"32" min:"1" max:"100000" help:"session cap per caller"`
	SSEKeepalive         time.Duration `env:"MCPBOX_GATEWAY_SSE_KEEPALIVE" default:"15s" help:"keepalive comments on streams"`
	ProgressInterval     time.Duration `env:"MCPBOX_GATEWAY_PROGRESS_INTERVAL" default:"10s" help:"progress notifications of long calls"`
	MaxBodyBytes         int           `env:"MCPBOX_GATEWAY_MAX_BODY_BYTES" default:"1048576" min:"1024" max:"67108864" help:"request body cap"`
	AuthFailures         int           `env:"MCPBOX_GATEWAY_AUTH_FAILURES" default:"10" min:"1" max:"100000" help:"failed service tokens per IP per 60 s before 429"`
	CatalogPoll          time.Duration `env:"MCPBOX_GATEWAY_CATALOG_POLL" default:"30s" help:"periodic catalog re-check besides the event stream"`
	MaxStaleness         time.Duration `env:"MCPBOX_GATEWAY_MAX_STALENESS" default:"10m" help:"catalog and policy staleness limit (0: none)"`
	PlanCache            int           `env:"MCPBOX_GATEWAY_PLAN_CACHE" default:"2048" min:"1" max:"1000000" help:"plan cache entries"`
	ExecMargin           time.Duration `env:"MCPBOX_GATEWAY_EXEC_MARGIN" default:"15s" help:"added to a tool's timeout for the sandbox call"`
	BreakerFailures      int           `env:"MCPBOX_GATEWAY_BREAKER_FAILURES" default:"5" min:"1" max:"1000" help:"sandbox circuit breaker: failures before it opens"`
	BreakerOpen          time.Duration `env:"MCPBOX_GATEWAY_BREAKER_OPEN" default:"30s" help:"sandbox circuit breaker: how long it stays open"`
	RecordQueue          int           `env:"MCPBOX_GATEWAY_RECORD_QUEUE" default:"10000" min:"1" max:"10000000" help:"execution-record queue length"`
	RecordQueueBytes     int           `env:"MCPBOX_GATEWAY_RECORD_QUEUE_BYTES" default:"33554432" min:"1024" max:"4294967296" help:"execution-record queue size in bytes"`
	MetricsMaxTools      int           `env:"MCPBOX_GATEWAY_METRICS_MAX_TOOLS" default:"1000" min:"1" max:"100000" help:"distinct tool label values before _other"`
}

func defaults() map[string]string { return map[string]string{"MCPBOX_SHUTDOWN_TIMEOUT": "60s"} }

// Load reads and validates the configuration, reporting every problem.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	rep := envcfg.Load(&c, getenv, defaults())
	checkListeners(rep, c)
	checkLists(rep, c)
	if _, ok := parseRPM(c.LocalRPM); !ok {
		rep.Problemf("MCPBOX_GATEWAY_LOCAL_RPM", "must be off or an integer 1–1000000 (got %q)", c.LocalRPM)
	}
	checkDurations(rep, c, getenv)
	c.Warnings = rep.Warnings()
	return c, rep.Err()
}

// checkDurations refuses a zero interval where zero has no meaning:
// timers, polls and timeouts (MCPBOX_GATEWAY_MAX_STALENESS and
// MCPBOX_GATEWAY_EXEC_MARGIN may be 0).
func checkDurations(rep *envcfg.Report, c Config, getenv func(string) string) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"MCPBOX_GATEWAY_SESSION_IDLE", c.SessionIdle},
		{"MCPBOX_GATEWAY_SSE_KEEPALIVE", c.SSEKeepalive},
		{"MCPBOX_GATEWAY_PROGRESS_INTERVAL", c.ProgressInterval},
		{"MCPBOX_GATEWAY_CATALOG_POLL", c.CatalogPoll},
		{"MCPBOX_GATEWAY_BREAKER_OPEN", c.BreakerOpen},
	} {
		// Zero comes from an explicit 0 or from a value envcfg already
		// refused; report only the former.
		if _, err := time.ParseDuration(strings.TrimSpace(getenv(d.name))); d.v == 0 && err == nil {
			rep.Problemf(d.name, "must be a positive duration like 30s (got %q)", strings.TrimSpace(getenv(d.name)))
		}
	}
}

// checkListeners applies the listener rules of gateway.md §3: at least one
// listener; the local one on loopback unless explicitly allowed; the two on
// different addresses; the remote one only with a token of at least
// envcfg.MinTokenBytes. Outside dev mode envcfg already refuses a short
// token as weak; dev mode only warns about weak tokens, but the remote
// listener's minimum length is a hard rule there too (§3.3).
func checkListeners(rep *envcfg.Report, c Config) {
	if c.LocalListen != Off {
		if host, _, err := net.SplitHostPort(c.LocalListen); err == nil && !envcfg.IsLoopbackHost(host) && !c.LocalAllowNonLoop {
			rep.Problemf("MCPBOX_GATEWAY_LOCAL_LISTEN",
				"must be a loopback address (callers there are trusted as local); set MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK=true only on an isolated network")
		}
	}
	switch {
	case c.LocalListen == Off && c.RemoteListen == Off:
		rep.Problemf("MCPBOX_GATEWAY_REMOTE_LISTEN", "both listeners are off; turn one on")
	case c.LocalListen == c.RemoteListen && !strings.HasSuffix(c.LocalListen, ":0"):
		rep.Problemf("MCPBOX_GATEWAY_REMOTE_LISTEN", "must differ from MCPBOX_GATEWAY_LOCAL_LISTEN")
	}
	if c.RemoteListen == Off {
		return
	}
	if c.Token == "" {
		rep.Problemf("MCPBOX_GATEWAY_TOKEN", "required while MCPBOX_GATEWAY_REMOTE_LISTEN is on (at least %d random bytes; generate with `openssl rand -hex 32`), or set MCPBOX_GATEWAY_REMOTE_LISTEN=off", envcfg.MinTokenBytes)
	}
	if !rep.Dev {
		return
	}
	for _, t := range []struct {
		name string
		v    envcfg.Token
	}{{"MCPBOX_GATEWAY_TOKEN", c.Token}, {"MCPBOX_GATEWAY_TOKEN_PREVIOUS", c.TokenPrevious}} {
		if t.v != "" && len(t.v) < envcfg.MinTokenBytes {
			rep.Problemf(t.name, "must be at least %d bytes while MCPBOX_GATEWAY_REMOTE_LISTEN is on (got %d)", envcfg.MinTokenBytes, len(t.v))
		}
	}
}

// checkLists validates the Host and Origin lists with the parsers the
// listeners match with, so every accepted entry can match a request.
func checkLists(rep *envcfg.Report, c Config) {
	for _, l := range []struct {
		name    string
		entries []string
		check   func(string) error
	}{
		{"MCPBOX_GATEWAY_LOCAL_HOSTS", c.LocalHosts, caller.CheckHostEntry},
		{"MCPBOX_GATEWAY_LOCAL_ORIGINS", c.LocalOrigins, caller.CheckOriginEntry},
		{"MCPBOX_GATEWAY_REMOTE_ORIGINS", c.RemoteOrigins, caller.CheckOriginEntry},
	} {
		for _, e := range l.entries {
			if err := l.check(e); err != nil {
				rep.Problemf(l.name, "entry %q %v", e, err)
			}
		}
	}
}

// LocalRateLimit returns MCPBOX_GATEWAY_LOCAL_RPM as requests per minute, 0
// when off (the local listener is then unlimited).
func (c Config) LocalRateLimit() int {
	n, _ := parseRPM(c.LocalRPM)
	return n
}

// parseRPM parses "off" (0) or an integer 1–1000000.
func parseRPM(v string) (int, bool) {
	if v == Off {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, false
	}
	return n, true
}

// HealthAddr returns the address of a listener the healthcheck can probe.
func HealthAddr(getenv func(string) string) string {
	if l := cmp.Or(getenv("MCPBOX_GATEWAY_LOCAL_LISTEN"), "127.0.0.1:8002"); l != Off {
		return l
	}
	return cmp.Or(getenv("MCPBOX_GATEWAY_REMOTE_LISTEN"), ":8003")
}

// Doc is the configuration table of the README.
func Doc() string { return envcfg.Doc(Config{}, defaults()) }
