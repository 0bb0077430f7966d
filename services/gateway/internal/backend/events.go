package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// Events consumes GET /internal/v1/events (backend.md §9.2) until ctx ends
// or the stream fails, calling onEvent for each event in order, on the
// calling goroutine. It returns nil only when ctx ended it; otherwise it
// returns why the stream ended, and the caller reconnects with backoff and
// re-syncs (a fetch, and a plan cache DropAll, after every connect: events
// may have been missed). The stream starts with hello, which tells the
// caller it is connected.
//
// Any byte counts as traffic, ": ping" comments included. When no byte
// arrives for the idle limit (45 s; the clock starts before the request is
// sent and stops while onEvent runs) the stream is dead and Events returns
// a *TransportError with Timeout set that wraps ErrEventStreamIdle. A
// non-200 answer is an *HTTPError; a body that is not text/event-stream, or
// a known event whose data does not decode, a *MalformedError (the stream
// cannot be trusted to carry the next invalidation). Events of unknown
// types are skipped, as the rolling-upgrade rule asks (operations.md §6.3).
func (c *Client) Events(ctx context.Context, onEvent func(proto.Event)) (err error) {
	defer func() { c.observe(ctx, EndpointEvents, err) }()
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(c.eventIdle, func() { cancel(ErrEventStreamIdle) })
	defer idle.Stop()

	resp, sent, err := c.send(sctx, call{
		endpoint: EndpointEvents, method: http.MethodGet, path: proto.PathInternalEvents,
		header: http.Header{"Accept": {"text/event-stream"}},
	})
	if err != nil {
		return c.eventsEnd(ctx, sctx, sent.Load(), err)
	}
	defer func() { _ = resp.Body.Close() }()
	idle.Reset(c.eventIdle)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		return newHTTPError(EndpointEvents, resp.StatusCode, body)
	}
	if mt, _, perr := mime.ParseMediaType(resp.Header.Get("Content-Type")); perr != nil || mt != "text/event-stream" {
		return &MalformedError{
			Endpoint: EndpointEvents, Status: resp.StatusCode,
			Err: fmt.Errorf("content type %q, want text/event-stream", resp.Header.Get("Content-Type")),
		}
	}
	rd := newSSEReader(&activityReader{r: resp.Body, touch: func() { idle.Reset(c.eventIdle) }})
	for {
		ev, rerr := rd.next()
		if rerr != nil {
			if errors.Is(rerr, errSSEEventTooLarge) || errors.Is(rerr, errSSELineTooLong) {
				return &MalformedError{Endpoint: EndpointEvents, Status: resp.StatusCode, Err: rerr}
			}
			return c.eventsEnd(ctx, sctx, true, rerr)
		}
		if !knownEvent(ev.name) {
			c.log.DebugContext(ctx, "event stream: skipped an event of an unknown type", slog.String(obs.KeyKind, ev.name))
			continue
		}
		e, perr := proto.ParseEvent(ev.name, ev.data)
		if perr != nil {
			return &MalformedError{Endpoint: EndpointEvents, Status: resp.StatusCode, Err: perr}
		}
		idle.Stop()
		onEvent(e)
		idle.Reset(c.eventIdle)
	}
}

// knownEvent reports whether name is an event type of backend.md §9.2.
func knownEvent(name string) bool {
	switch proto.EventType(name) {
	case proto.EventHello, proto.EventCatalogChanged, proto.EventPolicyChanged, proto.EventSecretsChanged:
		return true
	}
	return false
}

// eventsEnd classifies the end of the stream: nil when the caller's context
// ended it, a *TransportError otherwise (Timeout for the idle limit).
func (c *Client) eventsEnd(ctx, sctx context.Context, sent bool, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	if errors.Is(context.Cause(sctx), ErrEventStreamIdle) {
		return &TransportError{
			Endpoint: EndpointEvents, Sent: sent, Timeout: true,
			Err: fmt.Errorf("%w (%s): %w", ErrEventStreamIdle, c.eventIdle, err),
		}
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("the backend closed the event stream")
	}
	return transportError(sctx, EndpointEvents, sent, err)
}

// activityReader calls touch after every read that returned bytes.
type activityReader struct {
	r     io.Reader
	touch func()
}

// Read implements io.Reader.
func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.touch()
	}
	return n, err // an io.Reader passes io.EOF through unwrapped
}
