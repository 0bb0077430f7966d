package mcpserve

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
	"github.com/mcpbox/mcpbox/services/gateway/internal/policy"
)

// Gateway holds the go-sdk servers of every enabled listener, their
// Endpoints, the registrar state, the hybrid session index and the
// subscriptions/listen registry. Create it with New before the catalog
// cache runs (it subscribes to its change feeds), serve its Endpoints
// through package listen, and run Run for the session pruning.
type Gateway struct {
	opts   Options
	log    *slog.Logger
	sdkLog *slog.Logger
	m      *metrics

	endpoints map[string]*Endpoint
	servers   []*server

	sessions *sessionIndex
	streams  *listenStreams

	// regMu serialises the registrar: snapshots and policy changes are
	// applied one at a time to every server.
	regMu   sync.Mutex
	applied *catalog.Snapshot
	// editing is whether the remote servers list the gated tools without
	// the remote-editing note.
	editing bool
}

// server is one go-sdk server: its listener, handler kind and tool table.
type server struct {
	sdk      *mcp.Server
	listener string
	kind     Kind
	tools    *toolTable
}

// remote reports whether the server belongs to the remote listener.
func (s *server) remote() bool { return s.listener == caller.ListenerRemote }

// New builds the servers and handlers of every listener in o.Listeners,
// registers the 30 management tools on all of them, and subscribes the
// registrar to o.Catalog (OnSnapshot, OnPolicy), so call it before the
// cache runs. A snapshot already current is applied at once.
func New(o Options) (*Gateway, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	g := &Gateway{
		opts:      o,
		log:       o.Log,
		sdkLog:    slog.New(warnOnly{o.Log.Handler()}),
		m:         newMetrics(o.Registerer, o.Listeners),
		endpoints: map[string]*Endpoint{},
	}
	g.sessions = newSessionIndex(o.MaxSessions, o.MaxSessionsPerCaller, g.m)
	g.streams = newListenStreams(o.MaxSessionsPerCaller, g.m)
	if p, ok := o.Catalog.Policy(); ok {
		g.editing = !policy.EditingDisabled(p)
	}
	for _, l := range o.Listeners {
		g.endpoints[l] = g.newEndpoint(l)
	}
	if err := g.registerManagement(); err != nil {
		return nil, err
	}
	o.Catalog.OnSnapshot(func(_, next *catalog.Snapshot) { g.applySnapshot(next) })
	o.Catalog.OnPolicy(func(_, next proto.Policy) { g.applyPolicy(next) })
	if cur := o.Catalog.Current(); cur != nil {
		g.applySnapshot(cur)
	}
	return g, nil
}

// Endpoint returns the endpoint of listener (caller.ListenerLocal or
// caller.ListenerRemote), nil when that listener is not enabled.
func (g *Gateway) Endpoint(listener string) *Endpoint { return g.endpoints[listener] }

// Run prunes the session index against the SDK's live sessions every
// PruneInterval until ctx ends (gateway.md §5.5).
func (g *Gateway) Run(ctx context.Context) {
	t := time.NewTicker(g.opts.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.prune()
		}
	}
}

// CloseStreams ends every subscriptions/listen stream and closes every
// hybrid session (with its GET stream), for shutdown step 4 of gateway.md
// §12: http.Server.Shutdown would wait for them forever. Sessions close in
// the background, since a session with a call in flight closes when the
// call returns.
func (g *Gateway) CloseStreams() {
	g.streams.cancelAll()
	for _, s := range g.servers {
		if s.kind != KindStateful {
			continue
		}
		for ss := range s.sdk.Sessions() {
			go func() { _ = ss.Close() }()
		}
	}
}

// newServer builds one go-sdk server with the options of gateway.md §5.1.
func (g *Gateway) newServer(listener string, kind Kind) *server {
	sdk := mcp.NewServer(&mcp.Implementation{Name: ServerName, Title: ServerTitle, Version: g.opts.Version},
		&mcp.ServerOptions{
			Instructions: Instructions,
			Logger:       g.sdkLog,
			PageSize:     PageSize,
			// Tools with listChanged and nothing else: a non-nil value also
			// drops the SDK's default logging capability. No KeepAlive: a ping
			// to a session without a GET stream is never answered and would
			// close healthy sessions (§5.6 has the keepalive instead).
			Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
		})
	s := &server{sdk: sdk, listener: listener, kind: kind, tools: newToolTable()}
	sdk.AddReceivingMiddleware(g.receiving(s))
	g.servers = append(g.servers, s)
	return s
}

// newHandler builds the streamable HTTP handler of s (gateway.md §5.1),
// wrapped in the SDK's bearer-token middleware whose verifier returns the
// caller of the request's Exchange.
func (g *Gateway) newHandler(s *server) http.Handler {
	opts := &mcp.StreamableHTTPOptions{
		Stateless:                    s.kind == KindStateless,
		JSONResponse:                 false,
		Logger:                       g.sdkLog,
		MaxRequestBodyBytes:          g.opts.MaxBodyBytes,
		PropagateRequestCancellation: true,
		// The edge sets Host to the gateway's address and the service token
		// authenticates (§3.2); the local listener keeps the SDK's check.
		DisableLocalhostProtection: s.remote(),
	}
	if s.kind == KindStateful {
		opts.SessionTimeout = g.opts.SessionIdle
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.sdk }, opts)
	return requireCaller(h)
}

// warnOnly passes on records of level Warn and above: the SDK logs every
// session it connects at Info, which for stateless handlers is every
// request. A list_changed push that a session cannot receive (it holds no
// GET stream, as most clients do) is logged at Debug: push is a courtesy
// (gateway.md §5.6), not a fault worth a warning per session and change.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "list_changed") && strings.Contains(r.Message, "undelivered") {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnOnly{h.Handler.WithAttrs(attrs)}
}

func (h warnOnly) WithGroup(name string) slog.Handler { return warnOnly{h.Handler.WithGroup(name)} }

// errorf is fmt.Errorf with the package prefix.
func errorf(format string, args ...any) error { return fmt.Errorf("mcpserve: "+format, args...) }
