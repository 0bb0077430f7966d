package mcpserve

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/buildinfo"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
	"github.com/mcpbox/mcpbox/services/gateway/internal/config"
)

// Session modes (MCPBOX_GATEWAY_SESSION_MODE, gateway.md §5.3).
const (
	ModeStateless = "stateless"
	ModeHybrid    = "hybrid"
)

// Instructions is the instructions text of initialize and server/discover
// (gateway.md §5.7), verbatim.
const Instructions = "MCPbox serves tools that were written by an LLM and approved by an admin. " +
	"Tools named `<server>__<tool>` are approved tools; call them directly. " +
	"Tools named `mcpbox_*` manage MCPbox: create servers and Go tools, test them, request publication, read logs. " +
	"An admin approves new tools and every change in the MCPbox web UI. " +
	"Your client may not refresh its tool list after an approval: use `mcpbox_find_tools` to find tools and " +
	"`mcpbox_run_tool` to run any approved tool without reconnecting."

// Server identity (serverInfo, gateway.md §5.2); the version is the build's.
const (
	ServerName  = "mcpbox"
	ServerTitle = "MCPbox"
)

// PageSize is the tools/list page size (gateway.md §5.1, §7.5).
const PageSize = 100

// Limits announced as the progress total of the long management tools
// (gateway.md §5.6): the backend timeouts the gateway forwards them with
// (§10.1). The run inside mcpbox_test_code may be shorter (the tool's own
// timeout), but the gateway does not know it, and the forwarding timeout
// is the bound the caller actually waits for.
const (
	TestCodeLimit      = 330 * time.Second
	DiscoverToolsLimit = 90 * time.Second
)

// DefaultPruneInterval is how often the session index is checked against
// the SDK's live sessions (gateway.md §5.5).
const DefaultPruneInterval = 30 * time.Second

// Catalog is what mcpserve needs from the catalog cache (*catalog.Cache
// implements it): the current snapshot (progress totals), the policy
// (initial remote-editing flag), the change feeds the registrar follows,
// and where to report definitions the SDK refused.
type Catalog interface {
	Current() *catalog.Snapshot
	Policy() (proto.Policy, bool)
	OnSnapshot(fn func(prev, next *catalog.Snapshot))
	OnPolicy(fn func(prev, next proto.Policy))
	RejectedBySDK(name string, cause error)
}

// Options configures a Gateway.
type Options struct {
	// Listeners are the enabled listeners: caller.ListenerLocal and/or
	// caller.ListenerRemote. Each gets its servers and an Endpoint.
	Listeners []string
	// Mode is ModeStateless or ModeHybrid.
	Mode string
	// Version is serverInfo.version; empty means buildinfo.Version.
	Version string
	// MaxBodyBytes is MCPBOX_GATEWAY_MAX_BODY_BYTES, the SDK handlers'
	// MaxRequestBodyBytes (the listener enforces it first).
	MaxBodyBytes int64
	// SessionIdle is the hybrid session idle timeout (SDK SessionTimeout).
	SessionIdle time.Duration
	// MaxSessions caps hybrid sessions over all listeners;
	// MaxSessionsPerCaller caps them per caller key, and also caps the
	// subscriptions/listen streams a caller holds on this replica.
	MaxSessions, MaxSessionsPerCaller int
	// SSEKeepalive is the idle time after which an SSE stream gets a
	// ": keepalive" comment; ProgressInterval the period of progress
	// notifications.
	SSEKeepalive, ProgressInterval time.Duration
	// PruneInterval is the session index check period; 0 means
	// DefaultPruneInterval.
	PruneInterval time.Duration
	// Catalog is the catalog cache; Calls runs tool calls.
	Catalog Catalog
	Calls   Calls
	// Registerer takes the session metrics; Log the SDK's warnings and the
	// registrar's lines.
	Registerer prometheus.Registerer
	Log        *slog.Logger
}

// FromConfig returns the settings of cfg (listeners, mode, caps, timings);
// the caller adds Catalog, Calls, Registerer and Log.
func FromConfig(cfg config.Config) Options {
	var listeners []string
	if cfg.LocalListen != config.Off {
		listeners = append(listeners, caller.ListenerLocal)
	}
	if cfg.RemoteListen != config.Off {
		listeners = append(listeners, caller.ListenerRemote)
	}
	return Options{
		Listeners:            listeners,
		Mode:                 cfg.SessionMode,
		MaxBodyBytes:         int64(cfg.MaxBodyBytes),
		SessionIdle:          cfg.SessionIdle,
		MaxSessions:          cfg.MaxSessions,
		MaxSessionsPerCaller: cfg.MaxSessionsPerCaller,
		SSEKeepalive:         cfg.SSEKeepalive,
		ProgressInterval:     cfg.ProgressInterval,
	}
}

// validate checks the options and fills defaults.
func (o *Options) validate() error {
	var errs []error
	if len(o.Listeners) == 0 {
		errs = append(errs, errors.New("no listener enabled"))
	}
	for _, l := range o.Listeners {
		if l != caller.ListenerLocal && l != caller.ListenerRemote {
			errs = append(errs, fmt.Errorf("unknown listener %q", l))
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(o.Listeners)))) != len(o.Listeners) {
		errs = append(errs, errors.New("a listener is listed twice"))
	}
	if o.Mode != ModeStateless && o.Mode != ModeHybrid {
		errs = append(errs, fmt.Errorf("session mode %q (want %s or %s)", o.Mode, ModeStateless, ModeHybrid))
	}
	if o.MaxBodyBytes <= 0 || o.MaxSessions <= 0 || o.MaxSessionsPerCaller <= 0 ||
		o.SSEKeepalive <= 0 || o.ProgressInterval <= 0 || (o.Mode == ModeHybrid && o.SessionIdle <= 0) {
		errs = append(errs, errors.New("body cap, session caps, keepalive, progress interval and (hybrid) session idle must be positive"))
	}
	if o.Catalog == nil || o.Calls == nil || o.Registerer == nil || o.Log == nil {
		errs = append(errs, errors.New("every one of Catalog, Calls, Registerer and Log is required"))
	}
	if o.Version == "" {
		o.Version = buildinfo.Version
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = DefaultPruneInterval
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mcpserve options: %w", err)
	}
	return nil
}
