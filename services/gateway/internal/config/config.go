// Package config is the gateway's configuration (spec/gateway.md §14,
// operations.md §2.4), loaded once from MCPBOX_* variables.
package config

import (
	"cmp"
	"net"
	"strconv"
	"time"

	"github.com/mcpbox/mcpbox/proto/envcfg"
)

// Off disables a listener.
const Off = "off"

// Config is the gateway's effective configuration.
type Config struct {
	envcfg.Common

	LocalListen          string        `env:"MCPBOX_GATEWAY_LOCAL_LISTEN" default:"127.0.0.1:8002" rule:"listen" off:"true" help:"trusted local MCP listener, or off"`
	LocalAllowNonLoop    bool          `env:"MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK" default:"false" help:"must be true to bind the local listener to a non-loopback address"`
	LocalHosts           []string      `env:"MCPBOX_GATEWAY_LOCAL_HOSTS" help:"extra Host values accepted on the local listener"`
	LocalOrigins         []string      `env:"MCPBOX_GATEWAY_LOCAL_ORIGINS" help:"extra Origin values accepted on the local listener"`
	LocalRPM             string        `env:"MCPBOX_GATEWAY_LOCAL_RPM" default:"off" help:"rate limit of the local listener in calls per minute, or off"`
	RemoteListen         string        `env:"MCPBOX_GATEWAY_REMOTE_LISTEN" default:":8003" rule:"listen" off:"true" help:"listener behind the edge, or off"`
	Token                envcfg.Token  `env:"MCPBOX_GATEWAY_TOKEN" help:"accepted from the edge; required with the remote listener"`
	TokenPrevious        envcfg.Token  `env:"MCPBOX_GATEWAY_TOKEN_PREVIOUS" help:"also accepted during a token rotation"`
	RemoteOrigins        []string      `env:"MCPBOX_GATEWAY_REMOTE_ORIGINS" help:"allowed Origin values on the remote listener (empty: no check)"`
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
	if c.LocalListen != Off {
		if host, _, err := net.SplitHostPort(c.LocalListen); err == nil && !envcfg.IsLoopbackHost(host) && !c.LocalAllowNonLoop {
			rep.Problemf("MCPBOX_GATEWAY_LOCAL_LISTEN",
				"must be a loopback address (callers there are trusted as local); set MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK=true only on an isolated network")
		}
	}
	if c.RemoteListen != Off && c.Token == "" {
		rep.Problemf("MCPBOX_GATEWAY_TOKEN", "required while MCPBOX_GATEWAY_REMOTE_LISTEN is on (at least %d random bytes; generate with `openssl rand -hex 32`), or set MCPBOX_GATEWAY_REMOTE_LISTEN=off", envcfg.MinTokenBytes)
	}
	if c.LocalListen == Off && c.RemoteListen == Off {
		rep.Problemf("MCPBOX_GATEWAY_REMOTE_LISTEN", "both listeners are off; turn one on")
	}
	if c.LocalRPM != Off {
		if n, err := strconv.Atoi(c.LocalRPM); err != nil || n < 1 || n > 1000000 {
			rep.Problemf("MCPBOX_GATEWAY_LOCAL_RPM", "must be off or an integer 1–1000000 (got %q)", c.LocalRPM)
		}
	}
	c.Warnings = rep.Warnings()
	return c, rep.Err()
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
