package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/buildinfo"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/gateway/internal/backend"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
	"github.com/mcpbox/mcpbox/services/gateway/internal/config"
	"github.com/mcpbox/mcpbox/services/gateway/internal/listen"
	"github.com/mcpbox/mcpbox/services/gateway/internal/manage"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/plans"
	"github.com/mcpbox/mcpbox/services/gateway/internal/policy"
	"github.com/mcpbox/mcpbox/services/gateway/internal/records"
	"github.com/mcpbox/mcpbox/services/gateway/internal/sandbox"
	"github.com/mcpbox/mcpbox/services/gateway/internal/toolcall"
)

const service = "gateway"

// recordFlush bounds the flush of queued execution records at shutdown
// (gateway.md §12 step 6).
const recordFlush = 5 * time.Second

// run is the gateway's command line: serve (default), config-doc, healthcheck.
func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	return lifecycle.Service{ConfigDoc: config.Doc, HealthAddr: config.HealthAddr, Serve: serve}.Run(ctx, args, environ, stdout)
}

// serve wires the gateway by hand (gateway.md §2): config → logger →
// registry → backend and sandbox clients → catalog, plans, records → the
// call paths → the MCP servers → one /mcp pipeline per listener. The
// background work (catalog refresh, record delivery, session pruning) runs
// on its own context, which outlives the drain of the listeners, so calls
// still in flight during the drain keep their catalog and their records.
func serve(ctx context.Context, _, environ []string, stdout io.Writer) error {
	cfg, err := config.Load(lifecycle.Getenv(environ))
	if err != nil {
		return err
	}
	log := lifecycle.Start(stdout, service, cfg.Common, cfg, environ)
	reg := obs.NewRegistry(service)
	be, err := backend.New(cfg.BackendURL, string(cfg.BackendToken), reg, backend.WithLogger(log))
	if err != nil {
		return err
	}
	sb, err := sandbox.New(cfg.SandboxURL, string(cfg.SandboxToken), sandbox.Options{
		ExecMargin: cfg.ExecMargin, BreakerFailures: cfg.BreakerFailures, BreakerOpen: cfg.BreakerOpen,
	}, reg)
	if err != nil {
		return err
	}
	remote := cfg.RemoteListen != config.Off
	cache := catalog.New(be, catalog.Options{Poll: cfg.CatalogPoll, MaxStaleness: cfg.MaxStaleness, RequirePolicy: remote}, reg, log)
	planCache := plans.New(be.Plan, cfg.PlanCache, reg, nil)
	cache.OnSecretsChanged(planCache.DropServer)
	cache.OnResync(planCache.DropAll)
	queue := records.New(be, records.Options{MaxRecords: cfg.RecordQueue, MaxBytes: cfg.RecordQueueBytes}, reg, log)
	metrics := toolcall.NewMetrics(reg, cache, cfg.MetricsMaxTools, nil)
	calls := toolcall.New(cache, planCache, sb, queue, metrics, log)
	mgmt, err := manage.New(cache, be, calls, metrics, log)
	if err != nil {
		return err
	}
	o := mcpserve.FromConfig(cfg)
	o.Version, o.Catalog, o.Calls, o.Registerer, o.Log = buildinfo.Version, cache, handlers{user: calls, mgmt: mgmt}, reg, log
	gw, err := mcpserve.New(o)
	if err != nil {
		return err
	}

	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	go cache.Run(work)
	go gw.Run(work)
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		queue.Run(work)
	}()

	// §12: /readyz turns 503 at once (Serve marks health draining); after
	// MCPBOX_SHUTDOWN_DELAY /mcp answers 503 and the streams close, so the
	// drain waits only on calls in flight.
	health := httpserve.NewHealth()
	promauto.With(reg).NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mcpbox_gateway_draining",
		Help: "1 from the shutdown signal on, while /readyz answers 503 and calls in flight drain, else 0.",
	}, func() float64 {
		if health.Draining() {
			return 1
		}
		return 0
	})
	var shuttingDown atomic.Bool
	stopStreams := context.AfterFunc(ctx, func() {
		time.Sleep(cfg.ShutdownDelay)
		shuttingDown.Store(true)
		gw.CloseStreams()
	})
	defer stopStreams()

	listeners, err := listeners(cfg, log, reg, gw, cache, health, shuttingDown.Load)
	if err != nil {
		return err
	}
	serveErr := httpserve.Serve(ctx, log, health,
		httpserve.Shutdown{Delay: cfg.ShutdownDelay, Timeout: cfg.ShutdownTimeout}, listeners...)
	// Calls the drain cut off end now (their requests were cancelled) and
	// write their records; then the queue is flushed.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordFlush)
	defer cancel()
	metrics.Wait(flushCtx)
	stopWork()
	flushErr := queue.Close(flushCtx)
	<-delivered
	return errors.Join(httpserve.WithoutDrainDeadline(log, serveErr), flushErr)
}

// listeners builds the /mcp pipeline of each enabled listener (gateway.md
// §4), sharing the rate limiter, the limited-caller check, the auth-failure
// counter and the request metrics.
func listeners(cfg config.Config, log *slog.Logger, reg *prometheus.Registry, gw *mcpserve.Gateway, cache *catalog.Cache,
	health *httpserve.Health, shuttingDown func() bool,
) ([]httpserve.Listener, error) {
	failures := caller.NewAuthFailures(reg)
	base := listen.Options{
		Limiter:      policy.NewLimiter(reg, cfg.LocalRateLimit(), nil),
		Authorizer:   policy.NewAuthorizer(failures),
		MaxBodyBytes: int64(cfg.MaxBodyBytes),
		Draining:     health.Draining,
		ShuttingDown: shuttingDown,
		Ready:        func(context.Context) error { return cache.Ready() },
		Metrics:      obs.MetricsHandler(reg),
		Requests:     listen.NewMetrics(reg),
		Log:          log,
	}
	var out []httpserve.Listener
	if cfg.LocalListen != config.Off {
		o := base
		o.Listener, o.MCP, o.Local = caller.ListenerLocal, gw.Endpoint(caller.ListenerLocal), caller.NewLocalGuard(cfg.LocalHosts, cfg.LocalOrigins, log)
		h, err := listen.New(o)
		if err != nil {
			return nil, err
		}
		out = append(out, httpserve.Listener{Name: caller.ListenerLocal, Addr: cfg.LocalListen, Handler: h})
	}
	if cfg.RemoteListen != config.Off {
		tokens := servicetoken.New(reg, service, string(cfg.Token), string(cfg.TokenPrevious))
		o := base
		o.Listener, o.MCP, o.Policy = caller.ListenerRemote, gw.Endpoint(caller.ListenerRemote), cache.CheckPolicy
		o.Remote = caller.NewRemoteAuth(tokens, caller.NewThrottle(cfg.AuthFailures, nil), failures, cfg.RemoteOrigins, log)
		h, err := listen.New(o)
		if err != nil {
			return nil, err
		}
		out = append(out, httpserve.Listener{Name: caller.ListenerRemote, Addr: cfg.RemoteListen, Handler: h})
	}
	return out, nil
}

// handlers joins the two call paths into what the MCP servers call.
type handlers struct {
	user *toolcall.Service
	mgmt *manage.Service
}

func (h handlers) User(ctx context.Context, c caller.Caller, name string, args json.RawMessage) *mcp.CallToolResult {
	return h.user.User(ctx, c, name, args)
}

func (h handlers) Management(ctx context.Context, c caller.Caller, tool proto.ManagementTool, args json.RawMessage) *mcp.CallToolResult {
	return h.mgmt.Management(ctx, c, tool, args)
}
