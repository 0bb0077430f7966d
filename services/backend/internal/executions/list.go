package executions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

// MaxQueryChars is the longest q filter.
const MaxQueryChars = 200

// Record is the Execution resource (backend.md §8.1): every column of
// execution_records; Seq orders them and is not part of the resource.
type Record struct {
	ID          uuid.UUID
	Seq         int64
	ToolID      *uuid.UUID
	ServerID    *uuid.UUID
	ToolVersion *int32
	ToolHash    *string
	ExposedName string
	Via         proto.Via
	IsTest      bool
	CallerKind  proto.CallerKind
	CallerEmail *string
	CallerSub   *string
	Success     bool
	ErrorCode   *string
	Error       *string
	// InputArgs and Result are stored JSON, nil when absent.
	InputArgs  json.RawMessage
	Result     json.RawMessage
	Stdout     *string
	DurationMS int32
	StartedAt  time.Time
	RequestID  *string
	CreatedAt  time.Time
}

// Filter narrows List (GET /executions, backend.md §8.2); a nil or empty
// field means any. Since is inclusive and Until exclusive (created_at); Q
// is a case-insensitive literal substring of exposed_name or error;
// CallerEmail matches case-insensitively; After keeps only the records
// stored after that record (live tails).
type Filter struct {
	ToolID      *uuid.UUID
	ServerID    *uuid.UUID
	Success     *bool
	ErrorCode   string
	Via         proto.Via
	CallerKind  proto.CallerKind
	CallerEmail string
	IsTest      *bool
	Version     *int32
	Since       *time.Time
	Until       *time.Time
	Q           string
	After       *uuid.UUID
}

// Page is one page of List; NextCursor is "" after the last page.
type Page struct {
	Items      []Record
	NextCursor string
}

// ParseFilter reads the query parameters of GET /executions. Every bad
// value is a *proto.RuleError naming its parameter (joined when several
// are bad); unknown parameters are ignored, as limit and cursor are read
// by the caller.
func ParseFilter(v url.Values) (Filter, error) {
	var f Filter
	var errs []error
	bad := func(field, msg string) { errs = append(errs, &proto.RuleError{Field: field, Message: msg}) }
	ids := map[string]**uuid.UUID{"tool_id": &f.ToolID, "server_id": &f.ServerID, "after": &f.After}
	for _, name := range []string{"tool_id", "server_id", "after"} {
		if raw := v.Get(name); raw != "" {
			id, err := uuid.Parse(raw)
			if err != nil || len(raw) != 36 {
				bad(name, "must be a UUID such as 0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6.")
				continue
			}
			*ids[name] = &id
		}
	}
	bools := map[string]**bool{"success": &f.Success, "is_test": &f.IsTest}
	for _, name := range []string{"success", "is_test"} {
		switch v.Get(name) {
		case "":
		case "true":
			t := true
			*bools[name] = &t
		case "false":
			b := false
			*bools[name] = &b
		default:
			bad(name, `must be "true" or "false" (or absent for both).`)
		}
	}
	if f.ErrorCode = v.Get("error_code"); f.ErrorCode != "" && !validErrorCode(f.ErrorCode) {
		bad("error_code", "must match ^[a-z_]{1,40}$, such as timeout or tool_error.")
	}
	switch f.Via = proto.Via(v.Get("via")); f.Via {
	case "", proto.ViaDirect, proto.ViaRunTool, proto.ViaTest:
	default:
		bad("via", fmt.Sprintf("must be %q, %q or %q (or absent for all).", proto.ViaDirect, proto.ViaRunTool, proto.ViaTest))
	}
	switch f.CallerKind = proto.CallerKind(v.Get("caller_kind")); f.CallerKind {
	case "", proto.CallerLocal, proto.CallerRemote, proto.CallerAdmin:
	default:
		bad("caller_kind", fmt.Sprintf("must be %q, %q or %q (or absent for all).",
			proto.CallerLocal, proto.CallerRemote, proto.CallerAdmin))
	}
	if f.CallerEmail = v.Get("caller_email"); f.CallerEmail != "" && !proto.ValidEmail(f.CallerEmail) {
		bad("caller_email", "must be an email address such as alice@example.com.")
	}
	if raw := v.Get("version"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 32)
		if err != nil || n < 1 || strconv.FormatInt(n, 10) != raw {
			bad("version", "must be a version number of at least 1.")
		} else {
			version := int32(n)
			f.Version = &version
		}
	}
	times := map[string]**time.Time{"since": &f.Since, "until": &f.Until}
	for _, name := range []string{"since", "until"} {
		if raw := v.Get(name); raw != "" {
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				bad(name, "must be an RFC 3339 time such as 2024-05-01T12:00:00Z.")
				continue
			}
			*times[name] = &t
		}
	}
	f.Q = v.Get("q")
	if !utf8.ValidString(f.Q) || strings.ContainsRune(f.Q, 0) || utf8.RuneCountInString(f.Q) > MaxQueryChars {
		bad("q", fmt.Sprintf("must be text of at most %d characters without NUL.", MaxQueryChars))
	}
	return f, errors.Join(errs...)
}

// identity is the cursor identity of a List request: every filter value in
// a canonical form.
func (f Filter) identity() string {
	id := func(u *uuid.UUID) string {
		if u == nil {
			return ""
		}
		return u.String()
	}
	b := func(v *bool) string {
		if v == nil {
			return ""
		}
		return strconv.FormatBool(*v)
	}
	t := func(v *time.Time) string {
		if v == nil {
			return ""
		}
		return v.UTC().Format(time.RFC3339Nano)
	}
	version := ""
	if f.Version != nil {
		version = strconv.Itoa(int(*f.Version))
	}
	return page.Filter("executions", id(f.ToolID), id(f.ServerID), b(f.Success), f.ErrorCode, string(f.Via),
		string(f.CallerKind), strings.ToLower(f.CallerEmail), b(f.IsTest), version, t(f.Since), t(f.Until), f.Q, id(f.After))
}

// List returns the records matching f, newest first (by seq), limit of them
// (1–page.MaxLimit) after cursor ("" for the first page). A bad limit or
// cursor, or an After that names no record, is a *proto.RuleError naming
// limit, cursor or after.
func (s *Service) List(ctx context.Context, f Filter, limit int, cursor string) (Page, error) {
	if err := page.CheckLimit(limit); err != nil {
		return Page{}, err
	}
	filter := f.identity()
	params := dbq.ListExecutionsParams{
		ToolID: f.ToolID, ServerID: f.ServerID, Success: f.Success, IsTest: f.IsTest, Version: f.Version,
		Since: f.Since, Until: f.Until,
		ErrorCode: optional(f.ErrorCode), Via: optional(string(f.Via)), CallerKind: optional(string(f.CallerKind)),
		CallerEmail: optional(f.CallerEmail), Q: optional(f.Q),
		RowLimit: int32(limit) + 1, //nolint:gosec // G115: limit is 1–200, checked above
	}
	if cursor != "" {
		var seq int64
		if err := page.Decode(cursor, filter, &seq); err != nil {
			return Page{}, err
		}
		params.BeforeSeq = &seq
	}
	var out Page
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		if f.After != nil {
			after, err := q.GetExecution(ctx, *f.After)
			if errors.Is(err, db.ErrNotFound) {
				return &proto.RuleError{Field: "after", Message: "names no execution record (it may have been deleted " +
					"by retention); start the tail again without after."}
			}
			if err != nil {
				return err
			}
			params.AfterSeq = &after.Seq
		}
		rows, err := q.ListExecutions(ctx, params)
		if err != nil {
			return err
		}
		rows, out.NextCursor = page.Cut(rows, limit, filter, func(r dbq.ExecutionRecord) []any { return []any{r.Seq} })
		out.Items = make([]Record, len(rows))
		for i, r := range rows {
			out.Items[i] = toRecord(r)
		}
		return nil
	})
	var rule *proto.RuleError
	if errors.As(err, &rule) {
		return Page{}, rule
	}
	if err != nil {
		return Page{}, fmt.Errorf("list execution records: %w", err)
	}
	return out, nil
}

// Get returns one record; ErrNotFound when no record has the id.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Record, error) {
	r, err := s.store.GetExecution(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("get execution record %s: %w", id, err)
	}
	return toRecord(r), nil
}

func toRecord(r dbq.ExecutionRecord) Record {
	return Record{
		ID: r.ID, Seq: r.Seq, ToolID: r.ToolID, ServerID: r.ServerID, ToolVersion: r.ToolVersion, ToolHash: r.ToolHash,
		ExposedName: r.ExposedName, Via: proto.Via(r.Via), IsTest: r.IsTest, CallerKind: proto.CallerKind(r.CallerKind),
		CallerEmail: r.CallerEmail, CallerSub: r.CallerSub, Success: r.Success, ErrorCode: r.ErrorCode, Error: r.Error,
		InputArgs: jsonOrNil(r.InputArgs), Result: jsonOrNil(r.Result), Stdout: r.Stdout, DurationMS: r.DurationMs, StartedAt: r.StartedAt,
		RequestID: r.RequestID, CreatedAt: r.CreatedAt,
	}
}

// jsonOrNil returns nil for an absent document: pgx scans a NULL jsonb as
// the JSON null.
func jsonOrNil(b []byte) json.RawMessage {
	if b == nil || string(b) == "null" {
		return nil
	}
	return b
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
