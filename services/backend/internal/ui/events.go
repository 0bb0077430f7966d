package ui

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// Event stream limits (admin-ui.md §6).
const (
	// maxStreams is the most streams one session holds; a ninth closes the
	// oldest.
	maxStreams = 8
	// eventWrite bounds one write: a client that stops reading is cut off.
	eventWrite = 30 * time.Second
	// retryMS is the reconnection delay the stream announces.
	retryMS = 3000
)

// events is GET /ui/events (admin-ui.md §6): Server-Sent Events that
// notify a tab of changes, never carrying user content. On connect:
// retry, hello and the pending-approvals count; then activity (an audit
// row or an execution record was written), approvals (the pending count
// changed), servers (a server.* audit row), settings (a settings.* audit
// row), progress (this session's long operations), a heartbeat comment and,
// when the session ends, session {state: "ended"} before the stream closes.
// The session is re-checked on a timer and after every auth.* row.
func (h *handler) events(w http.ResponseWriter, r *http.Request, st *state) error {
	p := *st.p
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	leave := h.hub.join(p.SessionID, cancel)
	defer leave()
	// Subscribe before reading the starting points, so nothing written in
	// between is missed.
	sub := h.d.Activity.Subscribe(p.SessionID)
	defer sub.Close()
	lastSeq, err := h.d.Store.MaxActivitySeq(ctx)
	if err != nil {
		return err
	}
	lastExec, err := h.d.Store.MaxExecutionSeq(ctx)
	if err != nil {
		return err
	}
	pending, err := h.pending(r)
	if err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("X-Accel-Buffering", "no")
	hdr.Del("Vary")
	w.WriteHeader(http.StatusOK)
	es := &eventWriter{w: w, rc: http.NewResponseController(w)}
	if es.raw(fmt.Sprintf("retry: %d\n\n", retryMS)) != nil ||
		es.send("hello", struct{}{}) != nil ||
		es.send("approvals", approvalsEvent{Pending: pending}) != nil {
		return nil
	}
	heartbeat := time.NewTicker(cmp.Or(h.d.Heartbeat, defaultHeartbeat))
	defer heartbeat.Stop()
	recheck := time.NewTicker(cmp.Or(h.d.Recheck, defaultRecheck))
	defer recheck.Stop()
	for {
		var err error
		checkSession := false
		select {
		case <-ctx.Done():
			return nil
		case <-sub.Slow():
			return nil // fell behind: the client reconnects and re-fetches
		case <-sub.Activity():
			var authRow bool
			lastSeq, pending, authRow, err = h.sendActivity(ctx, r, es, lastSeq, pending)
			checkSession = authRow
		case <-sub.Executions():
			var n int64
			if n, err = h.d.Store.MaxExecutionSeq(ctx); err == nil && n > lastExec {
				lastExec = n
				err = es.send("activity", activityEvent{Kind: "execution"})
			}
		case ev := <-sub.Progress():
			err = es.send("progress", progressEvent{RequestID: ev.RequestID, Operation: string(ev.Operation), Done: ev.Done, Total: ev.Total})
		case <-heartbeat.C:
			err = es.raw(": heartbeat\n\n")
		case <-recheck.C:
			checkSession = true
		}
		if err != nil {
			return nil //nolint:nilerr // a failed write or read ends the stream; the client reconnects
		}
		if checkSession {
			if open, cerr := h.d.Auth.StillOpen(ctx, p); cerr == nil && !open {
				_ = es.send("session", sessionEvent{State: "ended"})
				return nil
			}
		}
	}
}

// Event payloads: identifiers and counts only.
type (
	approvalsEvent struct {
		Pending int64 `json:"pending"`
	}
	activityEvent struct {
		Kind     string     `json:"kind"` // audit or execution
		ServerID *uuid.UUID `json:"server_id"`
		ToolID   *uuid.UUID `json:"tool_id"`
	}
	serversEvent struct {
		ServerID *uuid.UUID `json:"server_id"`
	}
	progressEvent struct {
		RequestID string `json:"request_id"`
		Operation string `json:"operation"`
		Done      int    `json:"done"`
		Total     int    `json:"total"`
	}
	sessionEvent struct {
		State string `json:"state"`
	}
)

// sendActivity reads the activity rows after seq and sends, per batch: one
// activity event per distinct (server, tool) of its audit rows, servers
// for server.* rows, settings for settings.* rows, and approvals when the
// pending count changed. authRow reports an auth.* row (a sign-out, a
// password change): the caller re-checks the session at once.
func (h *handler) sendActivity(ctx context.Context, r *http.Request, es *eventWriter, seq, pending int64) (newSeq, newPending int64, authRow bool, err error) {
	for {
		rows, err := activity.After(ctx, h.d.Store, seq, activity.StreamFilter{})
		if err != nil || len(rows) == 0 {
			return seq, pending, authRow, err
		}
		seen := map[string]bool{}
		settings := false
		for _, row := range rows {
			seq = row.Seq
			if row.Category != activity.Audit {
				continue
			}
			key := idKey(row.ServerID) + "/" + idKey(row.ToolID)
			if !seen[key] {
				seen[key] = true
				if err := es.send("activity", activityEvent{Kind: "audit", ServerID: row.ServerID, ToolID: row.ToolID}); err != nil {
					return seq, pending, authRow, err
				}
			}
			switch obj, _, _ := strings.Cut(row.Action, "."); obj {
			case "server":
				if err := es.send("servers", serversEvent{ServerID: row.ServerID}); err != nil {
					return seq, pending, authRow, err
				}
			case "settings":
				settings = true
			case "auth":
				authRow = true
			}
		}
		if settings {
			if err := es.send("settings", struct{}{}); err != nil {
				return seq, pending, authRow, err
			}
		}
		n, err := h.pending(r.WithContext(ctx))
		if err != nil {
			return seq, pending, authRow, err
		}
		if n != pending {
			pending = n
			if err := es.send("approvals", approvalsEvent{Pending: n}); err != nil {
				return seq, pending, authRow, err
			}
		}
		if len(rows) < activity.Replay {
			return seq, pending, authRow, nil
		}
	}
}

func idKey(id *uuid.UUID) string {
	if id == nil {
		return "-"
	}
	return id.String()
}

// eventWriter writes Server-Sent Events, flushing each.
type eventWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (e *eventWriter) send(event string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return e.raw("event: " + event + "\ndata: " + string(raw) + "\n\n")
}

func (e *eventWriter) raw(s string) error {
	_ = e.rc.SetWriteDeadline(time.Now().Add(eventWrite))
	if _, err := e.w.Write([]byte(s)); err != nil {
		return err
	}
	return e.rc.Flush()
}

// hub counts the event streams of each session on this replica.
type hub struct {
	mu      sync.Mutex
	streams map[uuid.UUID][]*member
}

type member struct{ cancel func() }

func newHub() *hub { return &hub{streams: map[uuid.UUID][]*member{}} }

// join registers a stream of session; with maxStreams already open, the
// oldest is closed. leave unregisters it.
func (h *hub) join(session uuid.UUID, cancel func()) (leave func()) {
	m := &member{cancel: cancel}
	h.mu.Lock()
	list := h.streams[session]
	list = append(list, m)
	for len(list) > maxStreams {
		list[0].cancel()
		list = list[1:]
	}
	h.streams[session] = list
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		list := h.streams[session]
		for i, x := range list {
			if x == m {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(h.streams, session)
		} else {
			h.streams[session] = list
		}
	}
}

// count is the number of open streams of session (tests).
func (h *hub) count(session uuid.UUID) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.streams[session])
}
