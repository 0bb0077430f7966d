// Package events serves the gateway's event stream, GET /internal/v1/events
// (backend.md §9.2): a hub fed by the replica's dedicated LISTEN connection
// (db.Listener) fans catalog_changed, policy_changed and secrets_changed out
// to every open stream, each of which starts with hello and the current
// revisions.
//
// Nothing is replayed. A stream that falls behind by more than its buffer is
// closed, and when the LISTEN connection drops every stream is closed and
// new ones are refused (503) until it is back, because notifications sent in
// between are lost: the gateway reconnects, reads hello and resynchronises
// by revision. The NOTIFYs come from package revision inside the changing
// transaction, so they arrive only after commit.
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
)

// Defaults of Options.
const (
	// DefaultPing is the keepalive interval of backend.md §9.2.
	DefaultPing = 15 * time.Second
	// DefaultBuffer is how many events a stream may fall behind before it is
	// closed.
	DefaultBuffer = 256
	// writeTimeout bounds one write to a stream, so a client that stopped
	// reading cannot hold its handler forever (the internal listener has no
	// write timeout, backend.md §3).
	writeTimeout = 30 * time.Second
)

// Reasons a stream is closed by the hub (log values).
const (
	reasonSlow     = "slow_subscriber"
	reasonLost     = "listen_connection_lost"
	reasonShutdown = "shutdown"
)

// Channels returns the NOTIFY channels the hub turns into events.
func Channels() []string {
	return []string{revision.ChannelCatalog, revision.ChannelPolicy, revision.ChannelSecrets}
}

// Revisions reads the current catalog and policy revisions for hello;
// *db.Store satisfies it.
type Revisions interface {
	GetRevisions(ctx context.Context) (dbq.GetRevisionsRow, error)
}

// Options tunes a Hub; zero values mean the defaults.
type Options struct {
	// Ping is the interval of the ": ping" comment.
	Ping time.Duration
	// Buffer is the number of events a stream may have pending.
	Buffer int
}

// Hub fans the notifications of one LISTEN connection out to the event
// streams of this replica. Its zero value is not usable; call New. It starts
// down: streams are refused until Up is called.
type Hub struct {
	revs Revisions
	log  *slog.Logger
	ping time.Duration
	size int

	// subscribers is mcpbox_backend_event_subscribers: open streams.
	subscribers prometheus.Gauge
	// published is mcpbox_backend_events_published_total: notifications
	// received on the LISTEN connection and published to this replica's
	// streams, counted once per notification by event type, however many
	// streams (zero included) were open.
	published *prometheus.CounterVec

	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	up     bool
	closed bool
}

// subscriber is one open stream.
type subscriber struct {
	ch   chan message
	done chan struct{} // closed when the hub ends the stream
	why  string        // set before done is closed
}

// message is an event with its frame, marshalled once for every stream.
type message struct {
	ev    proto.Event
	frame []byte
}

// New returns a hub reading hello's revisions from revs and registering its
// metrics on reg.
func New(revs Revisions, reg prometheus.Registerer, log *slog.Logger, opts Options) *Hub {
	if opts.Ping <= 0 {
		opts.Ping = DefaultPing
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	h := &Hub{
		revs: revs, log: log, ping: opts.Ping, size: opts.Buffer,
		subs: make(map[*subscriber]struct{}),
		subscribers: promauto.With(reg).NewGauge(prometheus.GaugeOpts{
			Namespace: "mcpbox", Subsystem: "backend", Name: "event_subscribers",
			Help: "Open /internal/v1/events streams on this replica.",
		}),
		published: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "backend", Name: "events_published_total",
			Help: "Notifications received on the LISTEN connection and published to this replica's event streams, by event type (once per notification, not per stream).",
		}, []string{"type"}),
	}
	for _, t := range []proto.EventType{proto.EventCatalogChanged, proto.EventPolicyChanged, proto.EventSecretsChanged} {
		h.published.WithLabelValues(string(t))
	}
	return h
}

// Listen returns the db.ListenOptions that feed the hub from a LISTEN
// connection on Channels plus extra (channels the hub ignores, for other
// consumers of the same connection).
func (h *Hub) Listen(extra ...string) db.ListenOptions {
	return db.ListenOptions{
		Channels: append(Channels(), extra...),
		OnNotify: h.Notify,
		OnUp:     h.Up,
		OnLost:   h.Lost,
	}
}

// Up marks the LISTEN connection established: streams are accepted.
func (h *Hub) Up() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.up = true
}

// Lost closes every open stream and refuses new ones until Up: the
// notifications sent while the connection is down are lost.
func (h *Hub) Lost(error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.up = false
	h.dropAll(reasonLost)
}

// Close closes every open stream and refuses new ones for good (shutdown).
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	h.dropAll(reasonShutdown)
}

// Notify publishes one notification to every open stream. A channel the hub
// does not serve is ignored; a payload that does not fit its channel is
// logged and dropped. A stream whose buffer is full is closed, never waited
// for.
func (h *Hub) Notify(n db.Notification) {
	ev, err := Parse(n.Channel, n.Payload)
	if errors.Is(err, ErrUnknownChannel) {
		return
	}
	if err != nil {
		h.log.Warn("NOTIFY payload dropped", slog.String(obs.KeyError, err.Error()))
		return
	}
	frame, err := ev.MarshalSSE()
	if err != nil {
		h.log.Warn("event dropped", slog.String(obs.KeyError, err.Error()))
		return
	}
	h.published.WithLabelValues(string(ev.Type)).Inc()
	msg := message{ev: ev, frame: frame}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- msg:
		default:
			h.drop(s, reasonSlow)
			h.log.Warn("event stream closed: its client fell behind",
				slog.String(obs.KeyReason, reasonSlow), slog.Int(obs.KeyCount, h.size))
		}
	}
}

// Subscribers is the number of open streams (GET /api/v1/system/status).
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// subscribe opens a stream, or returns false while the LISTEN connection is
// down or after Close.
func (h *Hub) subscribe() (*subscriber, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.up || h.closed {
		return nil, false
	}
	s := &subscriber{ch: make(chan message, h.size), done: make(chan struct{})}
	h.subs[s] = struct{}{}
	h.subscribers.Inc()
	return s, true
}

// unsubscribe ends a stream the client closed; a no-op when the hub already
// dropped it.
func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.subscribers.Dec()
	}
}

// drop ends one stream; h.mu is held.
func (h *Hub) drop(s *subscriber, why string) {
	delete(h.subs, s)
	h.subscribers.Dec()
	s.why = why
	close(s.done)
}

// dropAll ends every stream; h.mu is held.
func (h *Hub) dropAll(why string) {
	if n := len(h.subs); n > 0 {
		h.log.Info("closing every event stream", slog.String(obs.KeyReason, why), slog.Int(obs.KeyCount, n))
	}
	for s := range h.subs {
		h.drop(s, why)
	}
}

// ServeHTTP streams events to one client until it disconnects, falls
// behind, the LISTEN connection drops or the hub closes: hello first, then
// every change, and ": ping" every Ping interval.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sub, ok := h.subscribe()
	if !ok {
		w.Header().Set("Retry-After", "1")
		httpserve.WriteError(w, r, http.StatusServiceUnavailable, proto.Error{
			Code:    proto.CodeUnavailable,
			Message: "This backend replica is not receiving change notifications right now; reconnect in a second.",
		})
		return
	}
	defer h.unsubscribe(sub)
	// Subscribed before reading the revisions, so no change committed after
	// the read can be missed; one committed before it may also arrive and is
	// skipped below.
	revs, err := h.revs.GetRevisions(r.Context())
	var frame []byte
	if err == nil {
		hello := proto.Event{Type: proto.EventHello, CatalogRevision: revs.Catalog, PolicyRevision: revs.Policy}
		frame, err = hello.MarshalSSE()
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "event stream: read the revisions for hello", slog.String(obs.KeyError, err.Error()))
		httpserve.WriteError(w, r, http.StatusInternalServerError, proto.Error{
			Code: proto.CodeInternal, Message: "Internal error (request " + obs.RequestID(r.Context()) + ").",
		})
		return
	}

	// The listener's read timeout does not apply: net/http clears the read
	// deadline when it starts watching for the client's disconnection.
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if !send(rc, w, frame) {
		return
	}
	ticker := time.NewTicker(h.ping)
	defer ticker.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.done:
			return
		case msg := <-sub.ch:
			if stale(msg.ev, revs) {
				continue
			}
			if !send(rc, w, msg.frame) {
				return
			}
		case <-ticker.C:
			if !send(rc, w, []byte(proto.SSEPing)) {
				return
			}
		}
	}
}

// stale reports whether ev announces a revision hello already carried.
func stale(ev proto.Event, revs dbq.GetRevisionsRow) bool {
	switch ev.Type {
	case proto.EventCatalogChanged:
		return ev.Revision <= revs.Catalog
	case proto.EventPolicyChanged:
		return ev.Revision <= revs.Policy
	default:
		return false
	}
}

// send writes and flushes one frame within writeTimeout; false means the
// client is gone.
func send(rc *http.ResponseController, w http.ResponseWriter, frame []byte) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := w.Write(frame); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// ErrUnknownChannel is Parse's answer for a channel that carries no event of
// the stream (mcpbox_activity, for instance).
var ErrUnknownChannel = errors.New("events: not an event channel")

// Parse turns a notification of one of Channels into its event: mcpbox_catalog
// and mcpbox_policy carry {"revision":N} with N ≥ 1, mcpbox_secrets
// {"server_id":"<uuid>"} (package revision writes them). The payload is
// stored bytes, so it is checked, never trusted: unknown fields are
// ignored, a missing or malformed value is an error.
func Parse(channel, payload string) (proto.Event, error) {
	var t proto.EventType
	switch channel {
	case revision.ChannelCatalog:
		t = proto.EventCatalogChanged
	case revision.ChannelPolicy:
		t = proto.EventPolicyChanged
	case revision.ChannelSecrets:
		t = proto.EventSecretsChanged
	default:
		return proto.Event{}, fmt.Errorf("%w: %s", ErrUnknownChannel, strconv.Quote(channel))
	}
	ev, err := proto.ParseEvent(string(t), []byte(payload))
	if err != nil {
		return proto.Event{}, fmt.Errorf("events: NOTIFY %s: %w", channel, err)
	}
	switch t {
	case proto.EventSecretsChanged:
		id, err := uuid.Parse(ev.ServerID)
		if err != nil || id.String() != ev.ServerID {
			return proto.Event{}, fmt.Errorf("events: NOTIFY %s: server_id %s is not a lowercase UUID", channel, strconv.Quote(ev.ServerID))
		}
	default:
		if ev.Revision < 1 {
			return proto.Event{}, fmt.Errorf("events: NOTIFY %s: revision %d is not a positive integer", channel, ev.Revision)
		}
	}
	return ev, nil
}
