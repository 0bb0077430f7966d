package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

// registerActivity adds GET /activity, GET /activity/{id} and the live
// stream GET /activity/stream (backend.md §8.2, §14.1, §14.2).
func (h *handlers) registerActivity(v1 *echo.Group) {
	v1.GET("/activity", h.listActivity, h.authenticate)
	v1.GET("/activity/stream", h.activityStream, h.authenticateStream)
	v1.GET("/activity/:id", h.getActivity, h.authenticate)
}

// Stream timing of backend.md §14.2.
const (
	streamPing    = 15 * time.Second
	streamRecheck = 60 * time.Second
	// streamWrite bounds one write: a client that stops reading is cut off
	// rather than holding the handler.
	streamWrite = 30 * time.Second
)

// streamTypes are the event types a stream may ask for (types=…).
var streamTypes = []string{"activity", "execution", "progress"} //nolint:gochecknoglobals // read-only

// activityStream is GET /activity/stream (backend.md §14.2): SSE of new
// activity rows (event activity, id = seq), new execution records (event
// execution), the progress of this session's long operations (event
// progress, never stored or replayed), a ping comment every 15 s and the
// session re-checked every 60 s (event auth_expired, then the stream ends).
// On reconnect with Last-Event-ID the missed activity rows come first (at
// most 1000). types=… picks event types; without it every type is sent.
func (h *handlers) activityStream(c *echo.Context) error {
	st, err := h.newStream(c)
	if err != nil {
		return err
	}
	defer st.sub.Close()
	r, w := c.Request(), c.Response()
	ctx := r.Context()
	st.rc = http.NewResponseController(w)
	st.w = w
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := st.write(": connected\n\n"); err != nil {
		return nil //nolint:nilerr // the client went away; nothing to answer
	}
	if st.replay {
		if err := st.sendActivity(ctx); err != nil {
			return nil //nolint:nilerr // the stream has started: end it quietly
		}
	}
	ping := time.NewTicker(cmpDuration(h.d.StreamPing, streamPing))
	defer ping.Stop()
	recheck := time.NewTicker(cmpDuration(h.d.StreamRecheck, streamRecheck))
	defer recheck.Stop()
	p := principal(c)
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-st.sub.Slow():
			return nil // fell 256 events behind (§14.2)
		case <-st.sub.Activity():
			err = st.sendActivity(ctx)
		case <-st.sub.Executions():
			err = st.sendExecutions(ctx)
		case ev := <-st.sub.Progress():
			err = st.sendProgress(ev)
		case <-ping.C:
			err = st.write(": ping\n\n")
		case <-recheck.C:
			open, cerr := h.d.Auth.StillOpen(ctx, p)
			if cerr == nil && !open {
				_ = st.write("event: auth_expired\ndata: {}\n\n")
				return nil
			}
		}
		if err != nil {
			return nil //nolint:nilerr // a failed write or read ends the stream; the client reconnects
		}
	}
}

// stream is the state of one activity stream.
type stream struct {
	h                           *handlers
	f                           activity.StreamFilter
	sub                         *activity.Subscription
	rc                          *http.ResponseController
	w                           http.ResponseWriter
	types                       map[string]bool
	lastActivity, lastExecution int64
	replay                      bool
}

// newStream reads the query and Last-Event-ID (400 for a bad one) and
// subscribes before reading the starting points, so nothing written in
// between is missed.
func (h *handlers) newStream(c *echo.Context) (*stream, error) {
	st := &stream{h: h, f: activity.StreamFilter{Category: c.QueryParam("category"), Level: c.QueryParam("level")}}
	if raw := c.QueryParam("server_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			return nil, invalid("server_id", "must be a UUID")
		}
		st.f.ServerID = &id
	}
	if err := st.f.Validate(); err != nil {
		return nil, ruleFailure(err)
	}
	st.types = map[string]bool{}
	if raw := c.QueryParam("types"); raw != "" {
		for _, t := range strings.Split(raw, ",") {
			if !slices.Contains(streamTypes, t) {
				return nil, invalid("types", "must list of %s, comma-separated", strings.Join(streamTypes, ", "))
			}
			st.types[t] = true
		}
	} else {
		for _, t := range streamTypes {
			st.types[t] = true
		}
	}
	r := c.Request()
	if raw := r.Header.Get("Last-Event-ID"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			return nil, invalid("Last-Event-ID", "must be the id of an activity event")
		}
		st.lastActivity, st.replay = n, true
	}
	st.sub = h.d.Activity.Subscribe(principal(c).SessionID)
	ctx := r.Context()
	var err error
	if !st.replay {
		if st.lastActivity, err = h.d.Store.MaxActivitySeq(ctx); err != nil {
			st.sub.Close()
			return nil, err
		}
	}
	if st.lastExecution, err = h.d.Store.MaxExecutionSeq(ctx); err != nil {
		st.sub.Close()
		return nil, err
	}
	return st, nil
}

func (st *stream) write(format string, args ...any) error {
	_ = st.rc.SetWriteDeadline(time.Now().Add(streamWrite))
	if _, err := fmt.Fprintf(st.w, format, args...); err != nil {
		return err
	}
	return st.rc.Flush()
}

func (st *stream) sendActivity(ctx context.Context) error {
	if !st.types["activity"] {
		return nil
	}
	rows, err := activity.After(ctx, st.h.d.Store, st.lastActivity, st.f)
	if err != nil {
		return err
	}
	for _, row := range rows {
		data, err := json.Marshal(toActivityJSON(row))
		if err != nil {
			return err
		}
		if err := st.write("event: activity\nid: %d\ndata: %s\n\n", row.Seq, data); err != nil {
			return err
		}
		st.lastActivity = row.Seq
	}
	return nil
}

// executionEventJSON is the data of an execution event (§14.2).
type executionEventJSON struct {
	ID          uuid.UUID `json:"id"`
	ExposedName string    `json:"exposed_name"`
	Success     bool      `json:"success"`
	DurationMS  int32     `json:"duration_ms"`
	CallerEmail *string   `json:"caller_email"`
	CreatedAt   timestamp `json:"created_at"`
}

func (st *stream) sendExecutions(ctx context.Context) error {
	if !st.types["execution"] {
		return nil
	}
	rows, err := st.h.d.Store.ExecutionsAfter(ctx, dbq.ExecutionsAfterParams{
		After: st.lastExecution, ServerID: st.f.ServerID, MaxRows: activity.Replay,
	})
	if err != nil {
		return err
	}
	for _, r := range rows {
		data, err := json.Marshal(executionEventJSON{
			ID: r.ID, ExposedName: r.ExposedName, Success: r.Success, DurationMS: r.DurationMs,
			CallerEmail: r.CallerEmail, CreatedAt: timestamp(r.CreatedAt),
		})
		if err != nil {
			return err
		}
		if err := st.write("event: execution\ndata: %s\n\n", data); err != nil {
			return err
		}
		st.lastExecution = r.Seq
	}
	return nil
}

// progressEventJSON is the data of a progress event (§14.2).
type progressEventJSON struct {
	RequestID string             `json:"request_id"`
	Operation activity.Operation `json:"operation"`
	Done      int                `json:"done"`
	Total     int                `json:"total"`
}

func (st *stream) sendProgress(ev activity.ProgressEvent) error {
	if !st.types["progress"] {
		return nil
	}
	data, err := json.Marshal(progressEventJSON{RequestID: ev.RequestID, Operation: ev.Operation, Done: ev.Done, Total: ev.Total})
	if err != nil {
		return err
	}
	return st.write("event: progress\ndata: %s\n\n", data)
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// activityJSON is the Activity resource: every column of activity_log.
type activityJSON struct {
	ID        uuid.UUID       `json:"id"`
	Seq       int64           `json:"seq"`
	Category  string          `json:"category"`
	Action    string          `json:"action"`
	Level     string          `json:"level"`
	Actor     string          `json:"actor"`
	Message   string          `json:"message"`
	ServerID  *uuid.UUID      `json:"server_id"`
	ToolID    *uuid.UUID      `json:"tool_id"`
	RequestID *string         `json:"request_id"`
	Details   json.RawMessage `json:"details"`
	CreatedAt timestamp       `json:"created_at"`
}

func toActivityJSON(r activity.Row) activityJSON {
	return activityJSON{
		ID: r.ID, Seq: r.Seq, Category: r.Category, Action: r.Action, Level: r.Level, Actor: r.Actor,
		Message: r.Message, ServerID: r.ServerID, ToolID: r.ToolID, RequestID: r.RequestID,
		Details: json.RawMessage(r.Details), CreatedAt: timestamp(r.CreatedAt),
	}
}

// activityFilter reads the query; each malformed value is a 400 naming it.
func activityFilter(c *echo.Context) (activity.Filter, error) {
	f := activity.Filter{
		Category: c.QueryParam("category"), Level: c.QueryParam("level"), Action: c.QueryParam("action"),
		ActorKind: c.QueryParam("actor_kind"), RequestID: c.QueryParam("request_id"), Q: c.QueryParam("q"),
	}
	for _, p := range []struct {
		name string
		dst  **uuid.UUID
	}{{"server_id", &f.ServerID}, {"tool_id", &f.ToolID}} {
		if raw := c.QueryParam(p.name); raw != "" {
			id, err := uuid.Parse(raw)
			if err != nil {
				return f, invalid(p.name, "must be a UUID")
			}
			*p.dst = &id
		}
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if raw := c.QueryParam(p.name); raw != "" {
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				return f, invalid(p.name, "must be an RFC 3339 time such as 2026-11-27T10:00:00Z")
			}
			*p.dst = &t
		}
	}
	return f, nil
}

func (h *handlers) listActivity(c *echo.Context) error {
	limit, err := page.ParseLimit(c.QueryParam("limit"))
	if err != nil {
		return ruleFailure(err)
	}
	f, err := activityFilter(c)
	if err != nil {
		return err
	}
	res, err := activity.List(c.Request().Context(), h.d.Store, f, limit, c.QueryParam("cursor"))
	if e := ruleFailure(err); e != nil {
		return e
	}
	if err != nil {
		return err
	}
	out := struct {
		Items      []activityJSON `json:"items"`
		NextCursor *string        `json:"next_cursor"`
	}{Items: make([]activityJSON, len(res.Items))}
	for i, r := range res.Items {
		out.Items[i] = toActivityJSON(r)
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) getActivity(c *echo.Context) error {
	notFound := fail(http.StatusNotFound, proto.CodeNotFound, "No activity row with this id.")
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return notFound
	}
	r, err := activity.Get(c.Request().Context(), h.d.Store, id)
	if errors.Is(err, activity.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toActivityJSON(r))
}
