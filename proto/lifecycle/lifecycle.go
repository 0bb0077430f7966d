// Package lifecycle is the start and end of every MCPbox binary: Main turns
// signals into context cancellation and errors into exit codes (2 for an
// invalid configuration, 1 for anything else), Start builds the logger and
// writes the one "config" line, and Healthcheck is the `healthcheck`
// subcommand the container images use.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/mcpbox/mcpbox/proto/buildinfo"
	"github.com/mcpbox/mcpbox/proto/envcfg"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// RunFunc is a service's run: it does all the work and returns when ctx ends.
type RunFunc func(ctx context.Context, args, environ []string, stdout io.Writer) error

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitConfig  = 2
)

// Option changes what Main does before run.
type Option func(getenv func(string) string)

// Main runs run with SIGINT and SIGTERM cancelling its context, then exits
// with ExitCode(err). It is the whole of every service's main.
func Main(service string, run RunFunc, opts ...Option) {
	environ := os.Environ()
	for _, o := range opts {
		o(Getenv(environ))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], environ, os.Stdout)
	stop()
	code := ExitCode(err)
	switch code {
	case ExitConfig:
		reportConfig(os.Stdout, service, err)
	case ExitFailure:
		// The logger may not exist yet (or may be the failure), so the one
		// fatal line goes to stderr as JSON, like every other line.
		fatal := slog.New(slog.NewJSONHandler(os.Stderr, nil))
		fatal.Error("exit", obs.KeyService, service, obs.KeyVersion, buildinfo.Version, obs.KeyError, err.Error())
	}
	os.Exit(code) //nolint:forbidigo // the one exit of every binary
}

// CallPathGCPercent is the GC target of the services every tool call
// crosses (edge, gateway, sandbox) when GOGC is not set.
//
// They keep small live heaps (tens of MiB) and allocate per request, so at
// Go's default of 100 they collect several times a second under load: a
// fifth of the gateway's CPU went to the GC at 150 calls/s. At 400 the
// gateway spent 1.1 instead of 1.6 ms of CPU per call and the whole stack
// 9.5 instead of 11 ms (docs/PERFORMANCE.md). The heap may grow to five
// times the live heap between collections; GOMEMLIMIT, which deploy/k8s sets
// to the container's memory limit, makes the GC work harder near it. The
// backend keeps Go's default: it is off the call's CPU path, and an
// argon2id hash (64 MiB) would let its heap reach five times that.
const CallPathGCPercent = 400

// TuneGC is the Option that sets the GC percent unless GOGC is set
// (GOGC=100 restores Go's default).
func TuneGC(percent int) Option {
	return func(getenv func(string) string) {
		if getenv("GOGC") == "" {
			debug.SetGCPercent(percent)
		}
	}
}

// ExitCode maps run's error to the process exit status.
func ExitCode(err error) int {
	var cfgErr *envcfg.Error
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &cfgErr):
		return ExitConfig
	}
	return ExitFailure
}

// Getenv returns a lookup function over environ ("NAME=value" entries).
func Getenv(environ []string) func(string) string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}

// reportConfig writes one JSON line per configuration problem, each naming
// the variable and the rule.
func reportConfig(stdout io.Writer, service string, err error) {
	log := obs.NewLogger(stdout, service, slog.LevelInfo, "json")
	var cfgErr *envcfg.Error
	if errors.As(err, &cfgErr) {
		for _, p := range cfgErr.Problems {
			name, _, _ := strings.Cut(p, ":")
			log.Error("invalid configuration", obs.KeyVariable, name, obs.KeyError, p)
		}
	}
}

// Start builds the service's logger from common and logs the effective
// configuration cfg once (msg "config"), then every warning: weak values
// accepted in dev mode and unknown MCPBOX_* variables with the nearest
// known name.
func Start(stdout io.Writer, service string, common envcfg.Common, cfg any, environ []string) *slog.Logger {
	level, _ := obs.ParseLevel(common.LogLevel) // validated by the enum tag
	log := obs.NewLogger(stdout, service, level, common.LogFormat)
	log.Info("config",
		slog.Any(obs.KeyConfig, envcfg.LogValue(cfg)),
		slog.String(obs.KeyGoVersion, buildinfo.GoVersion()),
		slog.Int(obs.KeyGOMAXPROCS, runtime.GOMAXPROCS(0)),
		slog.Int64(obs.KeyGOMEMLIMIT, debug.SetMemoryLimit(-1)),
	)
	for _, w := range common.Warnings {
		name, _, _ := strings.Cut(w, ":")
		log.Warn("weak configuration value", obs.KeyVariable, name, obs.KeyReason, w)
	}
	for _, u := range envcfg.UnknownVariables(environ) {
		log.Warn("unknown variable; check its spelling", obs.KeyVariable, u.Name, obs.KeySuggestion, u.Nearest)
	}
	return log
}

// Healthcheck GETs http://<listen>/healthz, where listen is a listen address
// such as ":8001" (all interfaces become 127.0.0.1), and returns nil on 200.
func Healthcheck(ctx context.Context, listen string) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("healthcheck: bad listen address %q: %w", listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %d", resp.StatusCode)
	}
	return nil
}
