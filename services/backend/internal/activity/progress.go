package activity

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
)

// Operation names a long-class operation of the admin API or UI whose
// progress goes on the activity stream as `event: progress` (backend.md §3,
// §14.2).
type Operation string

// The operations of §14.2.
const (
	OpImport        Operation = "import"
	OpImportDryRun  Operation = "import_dry_run"
	OpTestRun       Operation = "test_run"
	OpDiscover      Operation = "discover"
	OpOAuthStart    Operation = "oauth_start"
	OpOAuthExchange Operation = "oauth_exchange"
	OpSelfCheck     Operation = "self_check"
)

// Progress reports that done of total units of a long operation are
// finished (tools for the imports, steps for the self-check). It is never
// nil where a service receives one, may be called as often as convenient
// (the stream sees at most one event a second plus the last), and is safe
// for concurrent use.
type Progress func(done, total int)

// NoProgress is the Progress of a caller that does not watch.
func NoProgress(int, int) {}

// The channels the Broker handles.
const (
	Channel           = revision.ChannelActivity
	ExecutionsChannel = revision.ChannelExecutions
)

// ProgressEvent is one progress report of a long operation. Session is
// the admin session that started it: only that session's streams receive
// it, and it is never sent to a client.
type ProgressEvent struct {
	Session   uuid.UUID `json:"session"`
	RequestID string    `json:"request_id"`
	Operation Operation `json:"operation"`
	Done      int       `json:"done"`
	Total     int       `json:"total"`
}

// progressPayload is the NOTIFY payload of a progress event; an activity
// row's payload is {"seq": n} instead.
type progressPayload struct {
	Progress *ProgressEvent `json:"progress"`
}

// parseProgress reads a progress event from a NOTIFY payload of Channel;
// ok is false for anything else (a row's {"seq"}, or garbage).
func parseProgress(payload string) (ProgressEvent, bool) {
	if !strings.Contains(payload, `"progress"`) {
		return ProgressEvent{}, false
	}
	var p progressPayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil || p.Progress == nil || p.Progress.Session == uuid.Nil {
		return ProgressEvent{}, false
	}
	return *p.Progress, true
}

// Notifier sends a NOTIFY payload on Channel (dbq.Queries and db.Store are
// ones).
type Notifier interface {
	NotifyProgress(ctx context.Context, payload string) error
}

// PublishProgress sends ev to the streams of its session on every replica.
func PublishProgress(ctx context.Context, n Notifier, ev ProgressEvent) error {
	body, err := json.Marshal(progressPayload{Progress: &ev})
	if err != nil {
		return fmt.Errorf("progress event: %w", err)
	}
	if err := n.NotifyProgress(ctx, string(body)); err != nil {
		return fmt.Errorf("progress event: notify: %w", err)
	}
	return nil
}
