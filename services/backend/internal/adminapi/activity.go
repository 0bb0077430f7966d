package adminapi

import (
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

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

// registerActivity adds GET /activity, GET /activity/{id} and the live
// stream GET /activity/stream (backend.md §8.2, §14.1, §14.2).
func (h *handlers) registerActivity(v1 *echo.Group) {
	v1.GET("/activity", h.listActivity, h.authenticate)
	v1.GET("/activity/stream", h.activityStream, h.authenticate)
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

// activityStream is GET /activity/stream: SSE of new activity rows (event
// activity, id = seq), a ping comment every 15 s, the session re-checked
// every 60 s (event auth_expired, then the stream ends), and on reconnect
// with Last-Event-ID the missed rows first (at most 1000). execution and
// progress events are not produced yet; asking for them is allowed.
func (h *handlers) activityStream(c *echo.Context) error {
	f := activity.StreamFilter{Category: c.QueryParam("category"), Level: c.QueryParam("level")}
	if raw := c.QueryParam("server_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			return invalid("server_id", "must be a UUID")
		}
		f.ServerID = &id
	}
	if err := f.Validate(); err != nil {
		return ruleFailure(err)
	}
	wantActivity := true
	if raw := c.QueryParam("types"); raw != "" {
		wantActivity = false
		for _, t := range strings.Split(raw, ",") {
			if !slices.Contains(streamTypes, t) {
				return invalid("types", "must list of %s, comma-separated", strings.Join(streamTypes, ", "))
			}
			wantActivity = wantActivity || t == "activity"
		}
	}
	r, w := c.Request(), c.Response()
	ctx := r.Context()
	last, replay := int64(0), false
	if raw := r.Header.Get("Last-Event-ID"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			return invalid("Last-Event-ID", "must be the id of an activity event")
		}
		last, replay = n, true
	} else {
		n, err := h.d.Store.MaxActivitySeq(ctx)
		if err != nil {
			return err
		}
		last = n
	}
	wake, stop := h.d.Activity.Subscribe()
	defer stop()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(format string, args ...any) error {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWrite))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}
	send := func() error {
		if !wantActivity {
			return nil
		}
		rows, err := activity.After(ctx, h.d.Store, last, f)
		if err != nil {
			return err
		}
		for _, row := range rows {
			data, err := json.Marshal(toActivityJSON(row))
			if err != nil {
				return err
			}
			if err := write("event: activity\nid: %d\ndata: %s\n\n", row.Seq, data); err != nil {
				return err
			}
			last = row.Seq
		}
		return nil
	}
	if err := write(": connected\n\n"); err != nil {
		return nil //nolint:nilerr // the client went away; nothing to answer
	}
	if replay {
		if err := send(); err != nil {
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
		case <-wake:
			err = send()
		case <-ping.C:
			err = write(": ping\n\n")
		case <-recheck.C:
			open, cerr := h.d.Auth.StillOpen(ctx, p)
			if cerr == nil && !open {
				_ = write("event: auth_expired\ndata: {}\n\n")
				return nil
			}
		}
		if err != nil {
			return nil //nolint:nilerr // a failed write or read ends the stream; the client reconnects
		}
	}
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
