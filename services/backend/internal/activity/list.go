package activity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

// ErrNotFound is an unknown activity id.
var ErrNotFound = errors.New("activity: no such row")

// Row is the Activity resource of backend.md §8.1: every column.
type Row = dbq.ActivityLog

// Filter is GET /activity's query (backend.md §8.2); empty fields match all.
type Filter struct {
	Category, Level, Action, ActorKind string
	ServerID, ToolID                   *uuid.UUID
	RequestID                          string
	Since, Until                       *time.Time
	Q                                  string // a literal substring of message
}

// Allowed values of the enumerated filters.
var (
	categories = []string{Audit, Security, System, Error}               //nolint:gochecknoglobals // read-only
	levels     = []string{"debug", Info, Warning, "error"}              //nolint:gochecknoglobals // read-only
	actorKinds = []string{"admin", "llm_local", "llm_remote", "system"} //nolint:gochecknoglobals // read-only
)

// Validate names the first filter value that breaks its rule.
func (f Filter) Validate() error {
	for _, c := range []struct {
		field, value string
		allowed      []string
	}{
		{"category", f.Category, categories}, {"level", f.Level, levels}, {"actor_kind", f.ActorKind, actorKinds},
	} {
		if c.value != "" && !slices.Contains(c.allowed, c.value) {
			return &proto.RuleError{Field: c.field, Message: "must be one of " + strings.Join(c.allowed, ", ") + "."}
		}
	}
	if len(f.Q) > 200 || strings.ContainsRune(f.Q, 0) {
		return &proto.RuleError{Field: "q", Message: "must be at most 200 characters without NUL."}
	}
	return nil
}

// identity is the filter's part of a cursor.
func (f Filter) identity() string {
	str := func(id *uuid.UUID) string {
		if id == nil {
			return ""
		}
		return id.String()
	}
	tm := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return page.Filter("activity", f.Category, f.Level, f.Action, f.ActorKind, str(f.ServerID), str(f.ToolID),
		f.RequestID, tm(f.Since), tm(f.Until), f.Q)
}

// Page is one page of the log, newest first.
type Page struct {
	Items      []Row
	NextCursor string
}

// likeLiteral escapes s for a LIKE pattern with ESCAPE '\', so % and _ match
// themselves (BE-87).
func likeLiteral(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// List returns a page of the log, newest first by seq.
func List(ctx context.Context, store *db.Store, f Filter, limit int, cursor string) (Page, error) {
	if err := f.Validate(); err != nil {
		return Page{}, err
	}
	filter := f.identity()
	p := dbq.ListActivityParams{
		Category: optional(f.Category), Level: optional(f.Level), Action: optional(f.Action),
		ActorKind: optional(f.ActorKind), ServerID: f.ServerID, ToolID: f.ToolID,
		RequestID: optional(f.RequestID), Since: f.Since, Until: f.Until,
		MaxRows: int32(limit) + 1, //nolint:gosec // limit is 1–200 (page.CheckLimit)
	}
	if f.Q != "" {
		q := likeLiteral(f.Q)
		p.Q = &q
	}
	if cursor != "" {
		var seq int64
		if err := page.Decode(cursor, filter, &seq); err != nil {
			return Page{}, err
		}
		p.BeforeSeq = &seq
	}
	if err := page.CheckLimit(limit); err != nil {
		return Page{}, err
	}
	rows, err := store.ListActivity(ctx, p)
	if err != nil {
		return Page{}, err
	}
	items := make([]Row, len(rows))
	for i, r := range rows {
		items[i] = Row(r)
	}
	items, next := page.Cut(items, limit, filter, func(r Row) []any { return []any{r.Seq} })
	return Page{Items: items, NextCursor: next}, nil
}

// Get returns one row.
func Get(ctx context.Context, store *db.Store, id uuid.UUID) (Row, error) {
	r, err := store.GetActivity(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return Row{}, ErrNotFound
	}
	return Row(r), err
}
