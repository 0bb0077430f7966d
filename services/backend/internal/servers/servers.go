// Package servers manages MCPbox servers (backend.md §8.1, §8.2): listing
// with keyset pagination (§15.2), create, read, rename and describe, delete,
// start and stop.
//
// Every mutation is one READ COMMITTED transaction that locks the server's
// row when it changes an existing server (§4.1), writes its audit row
// (§14.1) and, when the catalog changes (start, stop, rename, delete:
// §9.2), bumps the catalog revision once, so the gateway drops a stopped or
// deleted server's tools at the commit. Name
// and description rules (§2) are checked here and again by the database,
// whose constraint violations are mapped by constraint name (§15.1).
//
// The package is HTTP-agnostic: adminapi maps its errors to the API's.
package servers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
)

// Rules of backend.md §2.
const (
	// MaxDescriptionLen is the longest description, in characters.
	MaxDescriptionLen = 2000
	// MaxQueryLen is the longest q filter, in characters.
	MaxQueryLen = 200
)

// Constraint names of the servers table (db/migrations/00003_servers_tools.sql).
const (
	constraintNameKey          = "servers_name_key"
	constraintNameCheck        = "servers_name_check"
	constraintDescriptionCheck = "servers_description_check"
)

// ErrNotFound is returned for an id that names no server.
var ErrNotFound = errors.New("servers: no such server")

// NameTakenError is a create or rename to a name another server has.
type NameTakenError struct{ Name string }

// Error implements error.
func (e *NameTakenError) Error() string {
	return fmt.Sprintf("servers: a server named %q already exists", e.Name)
}

// Server is the Server resource of backend.md §8.1.
type Server struct {
	ID          uuid.UUID
	Name        string
	Description string
	Status      proto.ServerStatus
	// ToolCount counts the server's tools; LiveToolCount those the catalog
	// serves: approved, enabled, the server running and, for an external
	// tool, its source usable (§9.3, §13.1).
	ToolCount     int
	LiveToolCount int
	// ApprovedHosts are the hosts of the server's approved network requests:
	// "host" for an any-port approval, else "host:port" per approved port,
	// sorted (§6.5). Never nil.
	ApprovedHosts []string
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Audit says who asks for a change, for its audit row.
type Audit struct {
	Actor     string // an actor string of backend.md §2, e.g. admin:alice
	RequestID string
}

// Filter narrows List: Q is a case-insensitive substring of the name or the
// description, Status "stopped" or "running"; empty means any.
type Filter struct {
	Q      string
	Status string
}

// Page is one page of List; NextCursor is "" after the last page.
type Page struct {
	Items      []Server
	NextCursor string
}

// CreateInput is a new server.
type CreateInput struct {
	Name        string
	Description string
}

// UpdateInput changes a server; a nil field is unchanged.
type UpdateInput struct {
	Name        *string
	Description *string
}

// Result is the outcome of a change: the server after it, whether the
// change did anything (start of a running server: no), and the catalog
// revision the change bumped to (0 when it did not change the catalog).
type Result struct {
	Server          Server
	Changed         bool
	CatalogRevision int64
}

// Service manages servers.
type Service struct{ store *db.Store }

// New returns the service.
func New(store *db.Store) *Service { return &Service{store: store} }

// ValidateFilter checks a List filter; failures are *proto.RuleError for
// the fields q and status.
func ValidateFilter(f Filter) error {
	var errs []error
	if !utf8.ValidString(f.Q) || strings.ContainsRune(f.Q, 0) || utf8.RuneCountInString(f.Q) > MaxQueryLen {
		errs = append(errs, &proto.RuleError{Field: "q", Message: fmt.Sprintf(
			"must be text of at most %d characters without NUL.", MaxQueryLen)})
	}
	switch proto.ServerStatus(f.Status) {
	case "", proto.ServerStopped, proto.ServerRunning:
	default:
		errs = append(errs, &proto.RuleError{Field: "status", Message: fmt.Sprintf(
			"must be %q or %q (or absent for both).", proto.ServerStopped, proto.ServerRunning)})
	}
	return errors.Join(errs...)
}

// listFilter is the cursor identity of a List request.
func listFilter(f Filter) string { return page.Filter("servers", f.Q, f.Status) }

// List returns the servers matching f sorted by name (then id), limit of
// them (1–page.MaxLimit) after cursor ("" for the first page). A bad filter,
// limit or cursor is a *proto.RuleError naming q, status, limit or cursor.
func (s *Service) List(ctx context.Context, f Filter, limit int, cursor string) (Page, error) {
	if err := ValidateFilter(f); err != nil {
		return Page{}, err
	}
	if err := page.CheckLimit(limit); err != nil {
		return Page{}, err
	}
	filter := listFilter(f)
	params := dbq.ListServersParams{RowLimit: int32(limit) + 1} //nolint:gosec // G115: limit is 1–200, checked above
	if f.Q != "" {
		params.Q = &f.Q
	}
	if f.Status != "" {
		params.Status = &f.Status
	}
	if cursor != "" {
		var name string
		var id uuid.UUID
		if err := page.Decode(cursor, filter, &name, &id); err != nil {
			return Page{}, err
		}
		params.AfterName, params.AfterID = &name, &id
	}
	var out Page
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		rows, err := q.ListServers(ctx, params)
		if err != nil {
			return err
		}
		rows, out.NextCursor = page.Cut(rows, limit, filter, func(r dbq.ListServersRow) []any { return []any{r.Name, r.ID} })
		ids := make([]uuid.UUID, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		hosts, err := approvedHosts(ctx, q, ids)
		if err != nil {
			return err
		}
		out.Items = make([]Server, len(rows))
		for i, r := range rows {
			out.Items[i] = toServer(dbq.GetServerRow(r), hosts[r.ID])
		}
		return nil
	})
	if err != nil {
		return Page{}, fmt.Errorf("list servers: %w", err)
	}
	return out, nil
}

// Get returns one server, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Server, error) {
	var out Server
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		var err error
		out, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return Server{}, wrap("get server "+id.String(), err)
	}
	return out, nil
}

// Create adds a stopped server. A rule failure is a *proto.RuleError (or a
// join of them) naming name or description; a taken name a *NameTakenError.
func (s *Service) Create(ctx context.Context, a Audit, in CreateInput) (Server, error) {
	if err := errors.Join(validateName(in.Name), validateDescription(in.Description)); err != nil {
		return Server{}, err
	}
	var out Server
	err := s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		row, err := q.CreateServer(ctx, dbq.CreateServerParams{Name: in.Name, Description: in.Description, CreatedBy: a.Actor})
		if err != nil {
			return mapConstraint(err, in.Name)
		}
		if err := audit(ctx, q, a, "server.create", row.ID, fmt.Sprintf("Created server '%s'.", row.Name),
			map[string]any{"name": row.Name, "description": row.Description}); err != nil {
			return err
		}
		out, err = load(ctx, q, row.ID)
		return err
	})
	if err != nil {
		return Server{}, wrap("create server "+in.Name, err)
	}
	return out, nil
}

// Update renames a server or changes its description. At least one field
// must be set. A rename bumps the catalog revision (exposed names change).
func (s *Service) Update(ctx context.Context, a Audit, id uuid.UUID, in UpdateInput) (Result, error) {
	if in.Name == nil && in.Description == nil {
		return Result{}, &proto.RuleError{Message: "no fields to update: send name, description or both."}
	}
	var errs []error
	if in.Name != nil {
		errs = append(errs, validateName(*in.Name))
	}
	if in.Description != nil {
		errs = append(errs, validateDescription(*in.Description))
	}
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}
	var out Result
	err := s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		old, err := q.GetServerForUpdate(ctx, id)
		if err != nil {
			return err
		}
		name, description := old.Name, old.Description
		if in.Name != nil {
			name = *in.Name
		}
		if in.Description != nil {
			description = *in.Description
		}
		changes := map[string]any{}
		if name != old.Name {
			changes["name"] = map[string]string{"old": old.Name, "new": name}
		}
		if description != old.Description {
			changes["description"] = map[string]string{"old": old.Description, "new": description}
		}
		out.Changed = len(changes) > 0
		if out.Changed {
			if _, err := q.UpdateServer(ctx, dbq.UpdateServerParams{ID: id, Name: name, Description: description}); err != nil {
				return mapConstraint(err, name)
			}
		}
		if name != old.Name {
			if out.CatalogRevision, err = revision.Catalog(ctx, q); err != nil {
				return err
			}
		}
		msg := fmt.Sprintf("Updated server '%s'.", name)
		if name != old.Name {
			msg = fmt.Sprintf("Renamed server '%s' to '%s'.", old.Name, name)
		}
		if err := audit(ctx, q, a, "server.update", id, msg, map[string]any{"changes": changes}); err != nil {
			return err
		}
		out.Server, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return Result{}, wrap("update server "+id.String(), err)
	}
	return out, nil
}

// Delete removes a server with its tools (and their versions), secrets,
// external sources and network requests (§4.3); execution records and audit
// rows stay. It bumps the catalog revision and returns it.
func (s *Service) Delete(ctx context.Context, a Audit, id uuid.UUID) (int64, error) {
	var rev int64
	err := s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		if _, err := q.GetServerForUpdate(ctx, id); err != nil {
			return err
		}
		// Counted under the lock: tools cannot be added to a locked server
		// (their foreign key takes a share lock on its row).
		before, err := q.GetServer(ctx, id)
		if err != nil {
			return err
		}
		if _, err := q.DeleteServer(ctx, id); err != nil {
			return err
		}
		if rev, err = revision.Catalog(ctx, q); err != nil {
			return err
		}
		return audit(ctx, q, a, "server.delete", id,
			fmt.Sprintf("Deleted server '%s' (%d tools).", before.Name, before.ToolCount),
			map[string]any{"name": before.Name, "tool_count": before.ToolCount})
	})
	if err != nil {
		return 0, wrap("delete server "+id.String(), err)
	}
	return rev, nil
}

// Start sets a server running; starting a running server changes nothing
// (Changed false, no revision bump). Either way an audit row is written.
func (s *Service) Start(ctx context.Context, a Audit, id uuid.UUID) (Result, error) {
	return s.setStatus(ctx, a, id, proto.ServerRunning)
}

// Stop stops a server, whose tools leave the catalog in the same
// transaction; stopping a stopped server changes nothing.
func (s *Service) Stop(ctx context.Context, a Audit, id uuid.UUID) (Result, error) {
	return s.setStatus(ctx, a, id, proto.ServerStopped)
}

func (s *Service) setStatus(ctx context.Context, a Audit, id uuid.UUID, to proto.ServerStatus) (Result, error) {
	action, verb, already := "server.start", "Started", "running"
	if to == proto.ServerStopped {
		action, verb, already = "server.stop", "Stopped", "stopped"
	}
	var out Result
	err := s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		old, err := q.GetServerForUpdate(ctx, id)
		if err != nil {
			return err
		}
		out.Changed = old.Status != string(to)
		msg := fmt.Sprintf("Server '%s' was already %s.", old.Name, already)
		if out.Changed {
			if _, err := q.SetServerStatus(ctx, dbq.SetServerStatusParams{ID: id, Status: string(to)}); err != nil {
				return err
			}
			if out.CatalogRevision, err = revision.Catalog(ctx, q); err != nil {
				return err
			}
			msg = fmt.Sprintf("%s server '%s'.", verb, old.Name)
		}
		if err := audit(ctx, q, a, action, id, msg, map[string]any{"name": old.Name, "changed": out.Changed}); err != nil {
			return err
		}
		out.Server, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return Result{}, wrap(action+" "+id.String(), err)
	}
	return out, nil
}

// load reads the Server resource of one server.
func load(ctx context.Context, q *dbq.Queries, id uuid.UUID) (Server, error) {
	row, err := q.GetServer(ctx, id)
	if err != nil {
		return Server{}, err
	}
	hosts, err := approvedHosts(ctx, q, []uuid.UUID{id})
	if err != nil {
		return Server{}, err
	}
	return toServer(row, hosts[id]), nil
}

// approvedHosts derives the approved_hosts of each server (§6.5).
func approvedHosts(ctx context.Context, q *dbq.Queries, ids []uuid.UUID) (map[uuid.UUID][]string, error) {
	out := map[uuid.UUID][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.ListServerApprovedHosts(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("approved hosts: %w", err)
	}
	type key struct {
		server uuid.UUID
		host   string
	}
	anyPort := map[key]bool{}
	for _, r := range rows {
		if r.Port == nil {
			anyPort[key{r.ServerID, r.Host}] = true
		}
	}
	for _, r := range rows {
		switch {
		case r.Port == nil:
			out[r.ServerID] = append(out[r.ServerID], r.Host)
		case !anyPort[key{r.ServerID, r.Host}]:
			out[r.ServerID] = append(out[r.ServerID], r.Host+":"+strconv.Itoa(int(*r.Port)))
		}
	}
	for id, hosts := range out {
		slices.Sort(hosts)
		out[id] = slices.Compact(hosts)
	}
	return out, nil
}

func toServer(r dbq.GetServerRow, hosts []string) Server {
	if hosts == nil {
		hosts = []string{}
	}
	return Server{
		ID: r.ID, Name: r.Name, Description: r.Description, Status: proto.ServerStatus(r.Status),
		ToolCount: int(r.ToolCount), LiveToolCount: int(r.LiveToolCount), ApprovedHosts: hosts,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func audit(ctx context.Context, q *dbq.Queries, a Audit, action string, id uuid.UUID, msg string, details map[string]any) error {
	return activity.Write(ctx, q, activity.Entry{
		Category: activity.Audit, Action: action, Actor: a.Actor, Message: msg,
		ServerID: &id, RequestID: a.RequestID, Details: details,
	})
}

// validateName checks a server name (§2) with the message of §15.1.
func validateName(name string) error { return proto.ValidateServerName(name) }

// validateDescription checks a description (§2).
func validateDescription(d string) error {
	if utf8.RuneCountInString(d) > MaxDescriptionLen || strings.ContainsRune(d, 0) {
		return &proto.RuleError{Field: "description", Message: fmt.Sprintf(
			"must be at most %d characters, without NUL.", MaxDescriptionLen)}
	}
	return nil
}

// mapConstraint maps a constraint violation of a write of name to the
// service's errors by constraint name (§15.1).
func mapConstraint(err error, name string) error {
	var conflict *db.ConflictError
	var check *db.CheckError
	switch {
	case errors.As(err, &conflict) && conflict.Constraint == constraintNameKey:
		return &NameTakenError{Name: name}
	case errors.As(err, &check) && check.Constraint == constraintNameCheck:
		if rule := validateName(name); rule != nil {
			return rule
		}
		return &proto.RuleError{Field: "name", Message: fmt.Sprintf(
			"must match %s (lowercase letters and digits, words joined by single underscores), at most %d characters, "+
				"and not start with '%s'.", proto.NamePattern, proto.MaxServerNameLen, proto.ReservedPrefix)}
	case errors.As(err, &check) && check.Constraint == constraintDescriptionCheck:
		return &proto.RuleError{Field: "description", Message: fmt.Sprintf("must be at most %d characters.", MaxDescriptionLen)}
	}
	return err
}

// wrap names the operation on unexpected errors and turns a missing row
// into ErrNotFound; the service's own errors pass unwrapped.
func wrap(op string, err error) error {
	var rule *proto.RuleError
	var taken *NameTakenError
	switch {
	case errors.Is(err, db.ErrNotFound):
		return ErrNotFound
	case errors.As(err, &rule), errors.As(err, &taken):
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
