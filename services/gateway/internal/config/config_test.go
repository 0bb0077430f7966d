package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/envcfg"
	"github.com/mcpbox/mcpbox/services/gateway/internal/config"
)

const gatewayToken = "e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312"

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func base() map[string]string {
	return map[string]string{
		"MCPBOX_BACKEND_TOKEN": "b7e1c2d3a4f5061728394a5b6c7d8e9fb7e1c2d3a4f5061728394a5b6c7d8e9f",
		"MCPBOX_SANDBOX_TOKEN": "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d",
		"MCPBOX_GATEWAY_TOKEN": gatewayToken,
	}
}

// with returns base() with the given overrides; an empty value deletes.
func with(kv ...string) map[string]string {
	m := base()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
			continue
		}
		m[kv[i]] = kv[i+1]
	}
	return m
}

// wantProblem loads kv and requires an error containing want (or none when
// want is empty).
func wantProblem(t *testing.T, kv map[string]string, want string) config.Config {
	t.Helper()
	c, err := config.Load(env(kv))
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("no error, want %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q does not contain %q", err, want)
	}
	return c
}

// OPS-13: a non-loopback local listener needs MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK=true.
func TestOPS13_NonLoopbackLocalListener(t *testing.T) {
	t.Parallel()
	kv := with("MCPBOX_GATEWAY_LOCAL_LISTEN", "172.31.254.2:8002")
	wantProblem(t, kv, "MCPBOX_GATEWAY_LOCAL_LISTEN: must be a loopback address")
	kv["MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK"] = "true"
	wantProblem(t, kv, "")
}

// GW-34 (startup-abort half): both listeners off, the remote listener
// without a token, and a non-loopback local bind without the override each
// abort startup with a message naming the variable; off alone is accepted.
func TestGW34_ListenerRulesAbortStartup(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		kv   map[string]string
		want string
	}{
		{"remote off needs no token", with("MCPBOX_GATEWAY_REMOTE_LISTEN", "off", "MCPBOX_GATEWAY_TOKEN", ""), ""},
		{"local off", with("MCPBOX_GATEWAY_LOCAL_LISTEN", "off"), ""},
		{
			"both off", with("MCPBOX_GATEWAY_LOCAL_LISTEN", "off", "MCPBOX_GATEWAY_REMOTE_LISTEN", "off"),
			"MCPBOX_GATEWAY_REMOTE_LISTEN: both listeners are off",
		},
		{"remote without token", with("MCPBOX_GATEWAY_TOKEN", ""), "MCPBOX_GATEWAY_TOKEN: required while MCPBOX_GATEWAY_REMOTE_LISTEN is on"},
		{"remote without token in dev mode", with("MCPBOX_GATEWAY_TOKEN", "", "MCPBOX_MODE", "dev",
			"MCPBOX_GATEWAY_REMOTE_LISTEN", "127.0.0.1:8003"), "MCPBOX_GATEWAY_TOKEN: required"},
		{"local on all interfaces", with("MCPBOX_GATEWAY_LOCAL_LISTEN", ":8002"), "MCPBOX_GATEWAY_LOCAL_LISTEN: must be a loopback address"},
		{"local on a LAN address", with("MCPBOX_GATEWAY_LOCAL_LISTEN", "10.0.0.5:8002"), "MCPBOX_GATEWAY_LOCAL_LISTEN: must be a loopback address"},
		{"local on localhost", with("MCPBOX_GATEWAY_LOCAL_LISTEN", "localhost:8002"), ""},
		{"local on ::1", with("MCPBOX_GATEWAY_LOCAL_LISTEN", "[::1]:8002"), ""},
		{
			"same address twice", with("MCPBOX_GATEWAY_LOCAL_LISTEN", "127.0.0.1:9000", "MCPBOX_GATEWAY_REMOTE_LISTEN", "127.0.0.1:9000"),
			"MCPBOX_GATEWAY_REMOTE_LISTEN: must differ from MCPBOX_GATEWAY_LOCAL_LISTEN",
		},
		{"two ephemeral ports", with("MCPBOX_GATEWAY_LOCAL_LISTEN", "127.0.0.1:0", "MCPBOX_GATEWAY_REMOTE_LISTEN", "127.0.0.1:0"), ""},
		{"bad listen address", with("MCPBOX_GATEWAY_REMOTE_LISTEN", "8003"), "MCPBOX_GATEWAY_REMOTE_LISTEN: must be a listen address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := wantProblem(t, tc.kv, tc.want)
			if tc.want == "" && tc.kv["MCPBOX_GATEWAY_LOCAL_LISTEN"] == "off" && c.LocalListen != config.Off {
				t.Errorf("LocalListen = %q, want off", c.LocalListen)
			}
		})
	}
}

// The remote listener needs tokens of at least 32 bytes in every mode; dev
// mode, which only warns about weak secrets, still refuses a short one.
func TestRemoteTokensNeed32Bytes(t *testing.T) {
	t.Parallel()
	short := "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d" // 31 bytes
	for _, mode := range []string{"prod", "dev"} {
		for _, name := range []string{"MCPBOX_GATEWAY_TOKEN", "MCPBOX_GATEWAY_TOKEN_PREVIOUS"} {
			kv := with("MCPBOX_MODE", mode, name, short,
				"MCPBOX_GATEWAY_LOCAL_LISTEN", "127.0.0.1:8002", "MCPBOX_GATEWAY_REMOTE_LISTEN", "127.0.0.1:8003")
			_, err := config.Load(env(kv))
			if err == nil || !strings.Contains(err.Error(), name+": must be at least 32 bytes") {
				t.Errorf("%s, %s of 31 bytes: %v", mode, name, err)
			}
			if err != nil && strings.Contains(err.Error(), short) {
				t.Errorf("%s, %s: the error echoes the token: %v", mode, name, err)
			}
		}
	}
	kv := with("MCPBOX_GATEWAY_TOKEN_PREVIOUS", "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0")
	wantProblem(t, kv, "")
	// With the remote listener off, dev mode only warns about a short token.
	kv = with("MCPBOX_MODE", "dev", "MCPBOX_GATEWAY_TOKEN", short, "MCPBOX_GATEWAY_REMOTE_LISTEN", "off")
	c := wantProblem(t, kv, "")
	if len(c.Warnings) == 0 {
		t.Error("a short token in dev mode gives no warning")
	}
}

// Any secret may come from <NAME>_FILE; setting both is an error.
func TestTokensFromFiles(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "gateway-token")
	if err := os.WriteFile(path, []byte(gatewayToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := wantProblem(t, with("MCPBOX_GATEWAY_TOKEN", "", "MCPBOX_GATEWAY_TOKEN_FILE", path), "")
	if string(c.Token) != gatewayToken {
		t.Errorf("token from file: fingerprint %s, want %s", c.Token, envcfg.Token(gatewayToken))
	}
	wantProblem(t, with("MCPBOX_GATEWAY_TOKEN_FILE", path), "set either MCPBOX_GATEWAY_TOKEN or MCPBOX_GATEWAY_TOKEN_FILE")
	wantProblem(t, with("MCPBOX_GATEWAY_TOKEN", "", "MCPBOX_GATEWAY_TOKEN_FILE", path+".missing"), "MCPBOX_GATEWAY_TOKEN_FILE: cannot read")
}

// Every variable of gateway.md §14 has its default.
func TestDefaults(t *testing.T) {
	t.Parallel()
	c := wantProblem(t, base(), "")
	got := map[string]any{
		"LocalListen": c.LocalListen, "LocalAllowNonLoop": c.LocalAllowNonLoop, "LocalHosts": len(c.LocalHosts),
		"LocalOrigins": len(c.LocalOrigins), "LocalRPM": c.LocalRPM, "LocalRateLimit": c.LocalRateLimit(),
		"RemoteListen": c.RemoteListen, "RemoteOrigins": len(c.RemoteOrigins), "TokenPrevious": string(c.TokenPrevious),
		"BackendURL": c.BackendURL, "SandboxURL": c.SandboxURL, "SessionMode": c.SessionMode,
		"SessionIdle": c.SessionIdle, "MaxSessions": c.MaxSessions, "MaxSessionsPerCaller": c.MaxSessionsPerCaller,
		"SSEKeepalive": c.SSEKeepalive, "ProgressInterval": c.ProgressInterval, "MaxBodyBytes": c.MaxBodyBytes,
		"AuthFailures": c.AuthFailures, "CatalogPoll": c.CatalogPoll, "MaxStaleness": c.MaxStaleness,
		"PlanCache": c.PlanCache, "ExecMargin": c.ExecMargin, "BreakerFailures": c.BreakerFailures,
		"BreakerOpen": c.BreakerOpen, "RecordQueue": c.RecordQueue, "RecordQueueBytes": c.RecordQueueBytes,
		"ShutdownTimeout": c.ShutdownTimeout, "ShutdownDelay": c.ShutdownDelay, "MetricsMaxTools": c.MetricsMaxTools,
		"LogLevel": c.LogLevel, "Mode": c.Mode,
	}
	want := map[string]any{
		"LocalListen": "127.0.0.1:8002", "LocalAllowNonLoop": false, "LocalHosts": 0,
		"LocalOrigins": 0, "LocalRPM": "off", "LocalRateLimit": 0,
		"RemoteListen": ":8003", "RemoteOrigins": 0, "TokenPrevious": "",
		"BackendURL": "http://127.0.0.1:8004", "SandboxURL": "http://127.0.0.1:8001", "SessionMode": "stateless",
		"SessionIdle": 30 * time.Minute, "MaxSessions": 1000, "MaxSessionsPerCaller": 32,
		"SSEKeepalive": 15 * time.Second, "ProgressInterval": 10 * time.Second, "MaxBodyBytes": 1 << 20,
		"AuthFailures": 10, "CatalogPoll": 30 * time.Second, "MaxStaleness": 10 * time.Minute,
		"PlanCache": 2048, "ExecMargin": 15 * time.Second, "BreakerFailures": 5,
		"BreakerOpen": 30 * time.Second, "RecordQueue": 10000, "RecordQueueBytes": 33554432,
		"ShutdownTimeout": 60 * time.Second, "ShutdownDelay": time.Duration(0), "MetricsMaxTools": 1000,
		"LogLevel": "info", "Mode": "prod",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
}

// The remaining rules of §14: the Host and Origin lists, the local rate
// limit, the session mode, durations, caps and upstream URLs.
func TestValueRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, variable, value, want string
	}{
		{"hosts", "MCPBOX_GATEWAY_LOCAL_HOSTS", "mcpbox.internal, gateway:8002,[fd00::1]:8002", ""},
		{"host with scheme", "MCPBOX_GATEWAY_LOCAL_HOSTS", "gateway,http://gateway", `MCPBOX_GATEWAY_LOCAL_HOSTS: entry "http://gateway" must be a host name`},
		{"host wildcard", "MCPBOX_GATEWAY_LOCAL_HOSTS", "*.internal", "MCPBOX_GATEWAY_LOCAL_HOSTS: entry"},
		{"host bad port", "MCPBOX_GATEWAY_LOCAL_HOSTS", "gateway:99999", "MCPBOX_GATEWAY_LOCAL_HOSTS: entry"},
		{"local origins", "MCPBOX_GATEWAY_LOCAL_ORIGINS", "http://inspector.internal:6274,https://tools.example.com", ""},
		{"local origin with path", "MCPBOX_GATEWAY_LOCAL_ORIGINS", "https://tools.example.com/", `MCPBOX_GATEWAY_LOCAL_ORIGINS: entry "https://tools.example.com/" must be an origin`},
		{"local origin without scheme", "MCPBOX_GATEWAY_LOCAL_ORIGINS", "tools.example.com", "MCPBOX_GATEWAY_LOCAL_ORIGINS: entry"},
		{"remote origins", "MCPBOX_GATEWAY_REMOTE_ORIGINS", "https://claude.ai", ""},
		{"remote origin ftp", "MCPBOX_GATEWAY_REMOTE_ORIGINS", "ftp://claude.ai", "MCPBOX_GATEWAY_REMOTE_ORIGINS: entry"},
		{"local rpm number", "MCPBOX_GATEWAY_LOCAL_RPM", "600", ""},
		{"local rpm word", "MCPBOX_GATEWAY_LOCAL_RPM", "fast", "MCPBOX_GATEWAY_LOCAL_RPM: must be off or an integer"},
		{"local rpm zero", "MCPBOX_GATEWAY_LOCAL_RPM", "0", "MCPBOX_GATEWAY_LOCAL_RPM: must be off or an integer"},
		{"hybrid", "MCPBOX_GATEWAY_SESSION_MODE", "hybrid", ""},
		{"session mode", "MCPBOX_GATEWAY_SESSION_MODE", "sticky", "MCPBOX_GATEWAY_SESSION_MODE: must be one of stateless, hybrid"},
		{"duration syntax", "MCPBOX_GATEWAY_SSE_KEEPALIVE", "15", "MCPBOX_GATEWAY_SSE_KEEPALIVE: must be a duration"},
		{"zero keepalive", "MCPBOX_GATEWAY_SSE_KEEPALIVE", "0s", "MCPBOX_GATEWAY_SSE_KEEPALIVE: must be a positive duration"},
		{"zero poll", "MCPBOX_GATEWAY_CATALOG_POLL", "0", "MCPBOX_GATEWAY_CATALOG_POLL: must be a positive duration"},
		{"zero staleness means none", "MCPBOX_GATEWAY_MAX_STALENESS", "0", ""},
		{"zero exec margin", "MCPBOX_GATEWAY_EXEC_MARGIN", "0s", ""},
		{"negative duration", "MCPBOX_GATEWAY_BREAKER_OPEN", "-1s", "MCPBOX_GATEWAY_BREAKER_OPEN: must be a duration"},
		{"short test intervals", "MCPBOX_GATEWAY_PROGRESS_INTERVAL", "50ms", ""},
		{"body cap", "MCPBOX_GATEWAY_MAX_BODY_BYTES", "100", "MCPBOX_GATEWAY_MAX_BODY_BYTES: must be at least 1024"},
		{"auth failures", "MCPBOX_GATEWAY_AUTH_FAILURES", "0", "MCPBOX_GATEWAY_AUTH_FAILURES: must be at least 1"},
		{"session cap", "MCPBOX_GATEWAY_MAX_SESSIONS", "many", "MCPBOX_GATEWAY_MAX_SESSIONS: must be an integer"},
		{"record queue bytes", "MCPBOX_GATEWAY_RECORD_QUEUE_BYTES", "10", "MCPBOX_GATEWAY_RECORD_QUEUE_BYTES: must be at least 1024"},
		{"metrics cap", "MCPBOX_GATEWAY_METRICS_MAX_TOOLS", "0", "MCPBOX_GATEWAY_METRICS_MAX_TOOLS: must be at least 1"},
		{"breaker failures", "MCPBOX_GATEWAY_BREAKER_FAILURES", "0", "MCPBOX_GATEWAY_BREAKER_FAILURES: must be at least 1"},
		{"backend url", "MCPBOX_BACKEND_INTERNAL_URL", "127.0.0.1:8004", "MCPBOX_BACKEND_INTERNAL_URL: must be an absolute http"},
		{"log level", "MCPBOX_LOG_LEVEL", "verbose", "MCPBOX_LOG_LEVEL: must be one of"},
		{"shutdown timeout", "MCPBOX_SHUTDOWN_TIMEOUT", "soon", "MCPBOX_SHUTDOWN_TIMEOUT: must be a duration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantProblem(t, with(tc.variable, tc.value), tc.want)
		})
	}
}

func TestLocalRateLimitAndLists(t *testing.T) {
	t.Parallel()
	c := wantProblem(t, with("MCPBOX_GATEWAY_LOCAL_RPM", "600",
		"MCPBOX_GATEWAY_LOCAL_HOSTS", "a.internal, b.internal:8002",
		"MCPBOX_GATEWAY_REMOTE_ORIGINS", "https://claude.ai,https://claude.com"), "")
	if c.LocalRateLimit() != 600 {
		t.Errorf("LocalRateLimit = %d", c.LocalRateLimit())
	}
	if !slices.Equal(c.LocalHosts, []string{"a.internal", "b.internal:8002"}) ||
		!slices.Equal(c.RemoteOrigins, []string{"https://claude.ai", "https://claude.com"}) {
		t.Errorf("lists: %q %q", c.LocalHosts, c.RemoteOrigins)
	}
}

// Every problem is reported at once, one line each.
func TestReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := config.Load(env(with("MCPBOX_GATEWAY_TOKEN", "", "MCPBOX_GATEWAY_LOCAL_RPM", "x",
		"MCPBOX_GATEWAY_SESSION_MODE", "x", "MCPBOX_BACKEND_TOKEN", "")))
	if err == nil {
		t.Fatal("no error")
	}
	for _, v := range []string{"MCPBOX_GATEWAY_TOKEN:", "MCPBOX_GATEWAY_LOCAL_RPM:", "MCPBOX_GATEWAY_SESSION_MODE:", "MCPBOX_BACKEND_TOKEN:"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("%s missing from %q", v, err)
		}
	}
}

// The Config declares every variable of gateway.md §14 and only names
// envcfg knows; config-doc lists each of them.
func TestDeclaresTheVariablesOfSection14(t *testing.T) {
	t.Parallel()
	section14 := []string{
		"MCPBOX_GATEWAY_LOCAL_LISTEN", "MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK", "MCPBOX_GATEWAY_LOCAL_HOSTS",
		"MCPBOX_GATEWAY_LOCAL_ORIGINS", "MCPBOX_GATEWAY_LOCAL_RPM", "MCPBOX_GATEWAY_REMOTE_LISTEN",
		"MCPBOX_GATEWAY_TOKEN", "MCPBOX_GATEWAY_TOKEN_PREVIOUS", "MCPBOX_GATEWAY_REMOTE_ORIGINS",
		"MCPBOX_BACKEND_INTERNAL_URL", "MCPBOX_BACKEND_TOKEN", "MCPBOX_SANDBOX_URL", "MCPBOX_SANDBOX_TOKEN",
		"MCPBOX_GATEWAY_SESSION_MODE", "MCPBOX_GATEWAY_SESSION_IDLE", "MCPBOX_GATEWAY_MAX_SESSIONS",
		"MCPBOX_GATEWAY_MAX_SESSIONS_PER_CALLER", "MCPBOX_GATEWAY_SSE_KEEPALIVE", "MCPBOX_GATEWAY_PROGRESS_INTERVAL",
		"MCPBOX_GATEWAY_MAX_BODY_BYTES", "MCPBOX_GATEWAY_AUTH_FAILURES", "MCPBOX_GATEWAY_CATALOG_POLL",
		"MCPBOX_GATEWAY_MAX_STALENESS", "MCPBOX_GATEWAY_PLAN_CACHE", "MCPBOX_GATEWAY_EXEC_MARGIN",
		"MCPBOX_GATEWAY_BREAKER_FAILURES", "MCPBOX_GATEWAY_BREAKER_OPEN", "MCPBOX_GATEWAY_RECORD_QUEUE",
		"MCPBOX_GATEWAY_RECORD_QUEUE_BYTES", "MCPBOX_SHUTDOWN_TIMEOUT", "MCPBOX_SHUTDOWN_DELAY",
		"MCPBOX_GATEWAY_METRICS_MAX_TOOLS", "MCPBOX_LOG_LEVEL", "MCPBOX_MODE", "MCPBOX_LOG_FORMAT",
	}
	var declared []string
	for _, f := range envcfg.Fields(config.Config{}) {
		declared = append(declared, f.Name)
		if !slices.Contains(envcfg.Known(), f.Name) {
			t.Errorf("%s is not in envcfg.Known()", f.Name)
		}
	}
	doc := config.Doc()
	for _, v := range section14 {
		if !slices.Contains(declared, v) {
			t.Errorf("%s is not declared", v)
		}
		if !strings.Contains(doc, "`"+v+"`") {
			t.Errorf("%s is not in config-doc", v)
		}
	}
	if !strings.Contains(doc, "| `MCPBOX_SHUTDOWN_TIMEOUT` | `60s` |") {
		t.Error("config-doc does not show the gateway's shutdown timeout default")
	}
}

func TestHealthAddr(t *testing.T) {
	t.Parallel()
	if got := config.HealthAddr(env(nil)); got != "127.0.0.1:8002" {
		t.Errorf("default: %s", got)
	}
	if got := config.HealthAddr(env(map[string]string{"MCPBOX_GATEWAY_LOCAL_LISTEN": "off"})); got != ":8003" {
		t.Errorf("local off: %s", got)
	}
}
