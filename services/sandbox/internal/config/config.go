// Package config is the sandbox's configuration (spec/sandbox.md §3,
// operations.md §2.5), loaded once from MCPBOX_* variables.
package config

import (
	"cmp"
	"net"
	"runtime"
	"strconv"
	"time"

	"github.com/mcpbox/mcpbox/proto/envcfg"
)

// WriteTimeout bounds one response: the longest execution (300 s) plus
// margins (contracts.md §8).
const WriteTimeout = 330 * time.Second

// Config is the sandbox's effective configuration.
type Config struct {
	envcfg.Common

	Listen         string        `env:"MCPBOX_SANDBOX_LISTEN" default:":8001" rule:"listen" help:"execution API, health, metrics"`
	Token          envcfg.Token  `env:"MCPBOX_SANDBOX_TOKEN" required:"true" help:"accepted from the gateway and the backend"`
	TokenPrevious  envcfg.Token  `env:"MCPBOX_SANDBOX_TOKEN_PREVIOUS" help:"also accepted during a token rotation"`
	WarmWorkers    int           `env:"MCPBOX_SANDBOX_WARM_WORKERS" min:"0" max:"256" help:"idle workers kept ready (default max(4, 2 × GOMAXPROCS))"`
	MaxConcurrent  int           `env:"MCPBOX_SANDBOX_MAX_CONCURRENT" default:"16" min:"1" max:"1024" help:"executions running at once"`
	SpawnConc      int           `env:"MCPBOX_SANDBOX_SPAWN_CONCURRENCY" min:"1" max:"64" help:"workers starting at once (default GOMAXPROCS)"`
	WorkerProcs    int           `env:"MCPBOX_SANDBOX_WORKER_PROCS" default:"2" min:"1" max:"64" help:"GOMAXPROCS inside a worker"`
	WorkerMaxIdle  time.Duration `env:"MCPBOX_SANDBOX_WORKER_MAX_IDLE" default:"5m" help:"age at which an idle worker is replaced"`
	MemoryBudgetMB int           `env:"MCPBOX_SANDBOX_MEMORY_BUDGET_MB" default:"2048" min:"32" max:"1048576" help:"sum of memory_mb of running jobs"`
	MaxMemoryMB    int           `env:"MCPBOX_SANDBOX_MAX_MEMORY_MB" default:"1024" min:"32" max:"65536" help:"ceiling of any job's memory_mb"`
	QueueMax       int           `env:"MCPBOX_SANDBOX_QUEUE_MAX" default:"64" min:"0" max:"100000" help:"executions allowed to wait"`
	QueueWaitMS    int           `env:"MCPBOX_SANDBOX_QUEUE_WAIT_MS" default:"10000" min:"0" max:"600000" help:"longest wait for capacity before 429 saturated"`
	EgressDeny     []string      `env:"MCPBOX_SANDBOX_EGRESS_DENY" help:"extra always-blocked CIDRs and hostnames"`
	DNS            string        `env:"MCPBOX_SANDBOX_DNS" help:"ip:port of the broker's resolver (default: the system resolver)"`
	Cgroup         string        `env:"MCPBOX_SANDBOX_CGROUP" help:"delegated cgroup v2 directory for per-worker cgroups"`
	InsecureDev    bool          `env:"MCPBOX_SANDBOX_INSECURE_DEV" default:"false" help:"dev only: start without seccomp, on a loopback listener only"`
}

func defaults() map[string]string {
	procs := runtime.GOMAXPROCS(0)
	return map[string]string{
		"MCPBOX_SHUTDOWN_TIMEOUT":          "30s",
		"MCPBOX_SANDBOX_WARM_WORKERS":      strconv.Itoa(max(4, 2*procs)),
		"MCPBOX_SANDBOX_SPAWN_CONCURRENCY": strconv.Itoa(procs),
	}
}

// Load reads and validates the configuration, reporting every problem.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	rep := envcfg.Load(&c, getenv, defaults())
	if c.InsecureDev {
		if !c.Dev() {
			rep.Problemf("MCPBOX_SANDBOX_INSECURE_DEV", "only allowed with MCPBOX_MODE=dev")
		}
		if host, _, err := net.SplitHostPort(c.Listen); err == nil && !envcfg.IsLoopbackHost(host) {
			rep.Problemf("MCPBOX_SANDBOX_INSECURE_DEV", "requires a loopback MCPBOX_SANDBOX_LISTEN such as 127.0.0.1:8001")
		}
	}
	c.Warnings = rep.Warnings()
	return c, rep.Err()
}

// ListenAddr returns the main listen address without validating anything
// else (for the healthcheck subcommand).
func ListenAddr(getenv func(string) string) string {
	return cmp.Or(getenv("MCPBOX_SANDBOX_LISTEN"), ":8001")
}

// Doc is the configuration table of the README.
func Doc() string { return envcfg.Doc(Config{}, defaults()) }
