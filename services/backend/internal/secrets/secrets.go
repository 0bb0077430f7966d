// Package secrets is the server secrets of backend.md §8.2 and §12: named
// values of a server that its tools read, written only through the admin
// API and never returned by it.
//
// A value is sealed (§12.1) under the purpose
// server_secret:<server_id>:<name> before it is stored in
// server_secrets.value_enc, so a value copied to another secret or server
// does not open, and a secret cannot be renamed. Values have 8–10,000 bytes
// (§12.2): a shorter one is refused before anything is stored, since the
// redaction of tool output only recognises values of 8 bytes or more.
//
// Every mutation is one READ COMMITTED transaction that locks the secret's
// row (and holds a KEY SHARE lock on its server, so the server is not
// deleted under it), writes its audit row (§14.1: details {name, has_value},
// never the value) and, when a value changes or a secret is deleted,
// NOTIFYs mcpbox_secrets with the server id (§9.2) so the gateways refetch
// plans at the commit. Nothing this package returns or logs contains a
// value, except Values, which decrypts for plans and test runs.
//
// The package is HTTP-agnostic: adminapi maps its errors to the API's.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// Rules of backend.md §2 and §12.2.
const (
	// MinValueLen is the shortest value, in bytes: redaction (§12.3)
	// recognises only values this long.
	MinValueLen = 8
	// MaxValueLen is the longest value, in bytes.
	MaxValueLen = 10000
	// MaxDescriptionLen is the longest description, in characters.
	MaxDescriptionLen = 2000
)

// ShortValueMessage is the rule message of a value under MinValueLen
// (backend.md §12.2), without its "value: " prefix.
const ShortValueMessage = "must be at least 8 bytes; shorter values cannot be reliably redacted from tool output and logs."

// Constraint names of the server_secrets table
// (db/migrations/00004_secrets_requests.sql).
const (
	constraintNameKey          = "server_secrets_server_id_name_key"
	constraintNameCheck        = "server_secrets_name_check"
	constraintDescriptionCheck = "server_secrets_description_check"
)

// Errors of a server or secret that does not exist.
var (
	// ErrServerNotFound is returned for a server id that names no server.
	ErrServerNotFound = errors.New("secrets: no such server")
	// ErrSecretNotFound is returned for a name that names no secret of an
	// existing server.
	ErrSecretNotFound = errors.New("secrets: no such secret")
)

// AlreadyExistsError is a create of a name the server already has a secret
// with.
type AlreadyExistsError struct{ Name string }

// Error implements error.
func (e *AlreadyExistsError) Error() string {
	return fmt.Sprintf("secrets: the server already has a secret named %q", e.Name)
}

// Secret is the Secret resource of backend.md §8.1: never a value.
type Secret struct {
	ID          uuid.UUID
	ServerID    uuid.UUID
	Name        string
	Description string
	// ValueSetAt is when the value was last set; nil when the secret has no
	// value.
	ValueSetAt *time.Time
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// HasValue reports whether the secret has a value.
func (s Secret) HasValue() bool { return s.ValueSetAt != nil }

// Audit says who asks for a change, for its audit row.
type Audit struct {
	Actor     string // an actor string of backend.md §2, e.g. admin:alice
	RequestID string
}

// Page is one page of List; NextCursor is "" after the last page.
type Page struct {
	Items      []Secret
	NextCursor string
}

// CreateInput is a new secret; a nil Value creates it without a value.
type CreateInput struct {
	Name        string
	Description string
	Value       *string
}

// Service manages server secrets.
type Service struct {
	store *db.Store
	keys  *seal.Keyring
}

// New returns the service.
func New(store *db.Store, keys *seal.Keyring) *Service { return &Service{store: store, keys: keys} }

// ValidateName checks a secret name (backend.md §2); the error's field is
// "name".
func ValidateName(name string) error { return proto.ValidateSecretName(name) }

// ValidateValue checks a value (backend.md §12.2): 8–10,000 bytes. The
// error is a *proto.RuleError for the field "value" and never contains the
// value.
func ValidateValue(value string) error {
	switch {
	case len(value) < MinValueLen:
		return &proto.RuleError{Field: "value", Message: ShortValueMessage}
	case len(value) > MaxValueLen:
		return &proto.RuleError{Field: "value", Message: fmt.Sprintf("must be at most %d bytes.", MaxValueLen)}
	}
	return nil
}

// ValidateDescription checks a description (backend.md §2).
func ValidateDescription(d string) error {
	if utf8.RuneCountInString(d) > MaxDescriptionLen || strings.ContainsRune(d, 0) {
		return &proto.RuleError{Field: "description", Message: fmt.Sprintf(
			"must be at most %d characters, without NUL.", MaxDescriptionLen)}
	}
	return nil
}

// listFilter is the cursor identity of a List request: a cursor of one
// server's list is refused for another's.
func listFilter(serverID uuid.UUID) string { return page.Filter("server_secrets", serverID.String()) }

// List returns a server's secrets sorted by name (then id), limit of them
// (1–page.MaxLimit) after cursor ("" for the first page). An unknown server
// is ErrServerNotFound; a bad limit or cursor a *proto.RuleError naming
// limit or cursor.
func (s *Service) List(ctx context.Context, serverID uuid.UUID, limit int, cursor string) (Page, error) {
	if err := page.CheckLimit(limit); err != nil {
		return Page{}, err
	}
	filter := listFilter(serverID)
	params := dbq.ListServerSecretsParams{ServerID: serverID, RowLimit: int32(limit) + 1} //nolint:gosec // G115: limit is 1–200, checked above
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
		if _, err := q.ServerNameForSecrets(ctx, serverID); err != nil {
			return serverMissing(err)
		}
		rows, err := q.ListServerSecrets(ctx, params)
		if err != nil {
			return err
		}
		rows, out.NextCursor = page.Cut(rows, limit, filter, func(r dbq.ListServerSecretsRow) []any { return []any{r.Name, r.ID} })
		out.Items = make([]Secret, len(rows))
		for i, r := range rows {
			out.Items[i] = toSecret(r)
		}
		return nil
	})
	if err != nil {
		return Page{}, wrap("list the secrets of server "+serverID.String(), err)
	}
	return out, nil
}

// Create adds a secret to a server, with a value or without one. Rule
// failures are *proto.RuleError (joined, naming name, description and
// value) and nothing is stored; a taken name is an *AlreadyExistsError, an
// unknown server ErrServerNotFound. A value NOTIFYs mcpbox_secrets.
func (s *Service) Create(ctx context.Context, a Audit, serverID uuid.UUID, in CreateInput) (Secret, error) {
	errs := []error{ValidateName(in.Name), ValidateDescription(in.Description)}
	if in.Value != nil {
		errs = append(errs, ValidateValue(*in.Value))
	}
	if err := errors.Join(errs...); err != nil {
		return Secret{}, err
	}
	var sealed []byte
	if in.Value != nil {
		var err error
		if sealed, err = s.seal(serverID, in.Name, *in.Value); err != nil {
			return Secret{}, err
		}
	}
	var out Secret
	err := s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		serverName, err := q.LockServerForSecrets(ctx, serverID)
		if err != nil {
			return serverMissing(err)
		}
		row, err := q.CreateServerSecret(ctx, dbq.CreateServerSecretParams{
			ServerID: serverID, Name: in.Name, Description: in.Description, ValueEnc: sealed, CreatedBy: a.Actor,
		})
		if err != nil {
			return mapConstraint(err, in.Name)
		}
		out = toSecret(dbq.ListServerSecretsRow(row))
		with := "without a value"
		if out.HasValue() {
			with = "with a value"
			if err := revision.Secrets(ctx, q, serverID); err != nil {
				return err
			}
		}
		return audit(ctx, q, a, "secret.create", out, fmt.Sprintf("Created secret '%s' of server '%s' %s.", out.Name, serverName, with))
	})
	if err != nil {
		return Secret{}, wrap("create secret "+in.Name, err)
	}
	return out, nil
}

// SetValue sets or replaces a secret's value and NOTIFYs mcpbox_secrets. A
// value out of 8–10,000 bytes is a *proto.RuleError for "value" and nothing
// is stored or notified; an unknown server is ErrServerNotFound, an unknown
// secret ErrSecretNotFound.
func (s *Service) SetValue(ctx context.Context, a Audit, serverID uuid.UUID, name, value string) (Secret, error) {
	if err := ValidateValue(value); err != nil {
		return Secret{}, err
	}
	if ValidateName(name) != nil {
		// No secret has a name breaking the rule; report the server first.
		return Secret{}, s.missing(ctx, serverID)
	}
	sealed, err := s.seal(serverID, name, value)
	if err != nil {
		return Secret{}, err
	}
	return s.change(ctx, a, serverID, name, "secret.set", func(q *dbq.Queries, old dbq.GetServerSecretForUpdateRow) (Secret, string, error) {
		row, err := q.SetServerSecretValue(ctx, dbq.SetServerSecretValueParams{ID: old.ID, ValueEnc: sealed})
		if err != nil {
			return Secret{}, "", err
		}
		verb := "Set"
		if old.ValueSetAt != nil {
			verb = "Replaced"
		}
		msg := fmt.Sprintf("%s the value of secret '%s' of server '%s'.", verb, old.Name, old.ServerName)
		return toSecret(dbq.ListServerSecretsRow(row)), msg, revision.Secrets(ctx, q, serverID)
	})
}

// ClearValue removes a secret's value and keeps the secret (has_value
// false); it NOTIFYs mcpbox_secrets. Clearing a secret without a value
// succeeds and changes nothing.
func (s *Service) ClearValue(ctx context.Context, a Audit, serverID uuid.UUID, name string) (Secret, error) {
	return s.change(ctx, a, serverID, name, "secret.clear", func(q *dbq.Queries, old dbq.GetServerSecretForUpdateRow) (Secret, string, error) {
		row, err := q.SetServerSecretValue(ctx, dbq.SetServerSecretValueParams{ID: old.ID, ValueEnc: nil})
		if err != nil {
			return Secret{}, "", err
		}
		msg := fmt.Sprintf("Cleared the value of secret '%s' of server '%s'.", old.Name, old.ServerName)
		if old.ValueSetAt == nil {
			msg = fmt.Sprintf("Cleared the value of secret '%s' of server '%s' (it had none).", old.Name, old.ServerName)
		}
		return toSecret(dbq.ListServerSecretsRow(row)), msg, revision.Secrets(ctx, q, serverID)
	})
}

// SetDescription changes a secret's description; the value is untouched
// and nothing is notified.
func (s *Service) SetDescription(ctx context.Context, a Audit, serverID uuid.UUID, name, description string) (Secret, error) {
	if err := ValidateDescription(description); err != nil {
		return Secret{}, err
	}
	return s.change(ctx, a, serverID, name, "secret.update", func(q *dbq.Queries, old dbq.GetServerSecretForUpdateRow) (Secret, string, error) {
		if old.Description == description {
			return toSecret(withoutServer(old)), fmt.Sprintf(
				"Updated secret '%s' of server '%s' (no change).", old.Name, old.ServerName), nil
		}
		row, err := q.SetServerSecretDescription(ctx, dbq.SetServerSecretDescriptionParams{ID: old.ID, Description: description})
		if err != nil {
			return Secret{}, "", mapConstraint(err, name)
		}
		return toSecret(dbq.ListServerSecretsRow(row)),
			fmt.Sprintf("Updated the description of secret '%s' of server '%s'.", old.Name, old.ServerName), nil
	})
}

// Delete removes a secret and NOTIFYs mcpbox_secrets.
func (s *Service) Delete(ctx context.Context, a Audit, serverID uuid.UUID, name string) error {
	_, err := s.change(ctx, a, serverID, name, "secret.delete", func(q *dbq.Queries, old dbq.GetServerSecretForUpdateRow) (Secret, string, error) {
		if _, err := q.DeleteServerSecret(ctx, old.ID); err != nil {
			return Secret{}, "", err
		}
		gone := toSecret(withoutServer(old))
		msg := fmt.Sprintf("Deleted secret '%s' of server '%s'.", old.Name, old.ServerName)
		return gone, msg, revision.Secrets(ctx, q, serverID)
	})
	return err
}

// change runs op on a locked secret in one transaction and writes the audit
// row action with op's message; the audit's has_value is the secret's
// after op (for a delete, before it).
func (s *Service) change(ctx context.Context, a Audit, serverID uuid.UUID, name, action string,
	op func(q *dbq.Queries, old dbq.GetServerSecretForUpdateRow) (Secret, string, error),
) (Secret, error) {
	if ValidateName(name) != nil {
		return Secret{}, s.missing(ctx, serverID)
	}
	var out Secret
	err := s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		old, err := q.GetServerSecretForUpdate(ctx, dbq.GetServerSecretForUpdateParams{ServerID: serverID, Name: name})
		if errors.Is(err, db.ErrNotFound) {
			if _, err := q.ServerNameForSecrets(ctx, serverID); err != nil {
				return serverMissing(err)
			}
			return ErrSecretNotFound
		}
		if err != nil {
			return err
		}
		var msg string
		if out, msg, err = op(q, old); err != nil {
			return err
		}
		return audit(ctx, q, a, action, out, msg)
	})
	if err != nil {
		return Secret{}, wrap(action+" "+name, err)
	}
	return out, nil
}

// missing is the error for a name no secret can have: ErrServerNotFound
// when the server does not exist either, else ErrSecretNotFound.
func (s *Service) missing(ctx context.Context, serverID uuid.UUID) error {
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		_, err := q.ServerNameForSecrets(ctx, serverID)
		return serverMissing(err)
	})
	if err != nil {
		return wrap("find server "+serverID.String(), err)
	}
	return ErrSecretNotFound
}

// Values decrypts the named secrets of a server, for plans and test runs
// (backend.md §12.2). missing lists, in the order of names and once each,
// the names that have no value or no secret (an unknown server has none).
// A value that does not open (wrong key, purpose or corruption) is an
// error naming the secret, never a silent omission.
func (s *Service) Values(ctx context.Context, serverID uuid.UUID, names []string) (map[string]string, []string, error) {
	values := map[string]string{}
	if len(names) == 0 {
		return values, nil, nil
	}
	var rows []dbq.GetServerSecretValuesRow
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		var err error
		rows, err = q.GetServerSecretValues(ctx, dbq.GetServerSecretValuesParams{ServerID: serverID, Names: names})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read the secrets of server %s: %w", serverID, err)
	}
	for _, r := range rows {
		plain, err := s.keys.Open(seal.PurposeServerSecret(serverID.String(), r.Name), r.ValueEnc)
		if err != nil {
			return nil, nil, fmt.Errorf("open secret %s of server %s: %w; check MCPBOX_ENCRYPTION_KEY and "+
				"MCPBOX_ENCRYPTION_OLD_KEYS, or set the value again", r.Name, serverID, err)
		}
		values[r.Name] = string(plain)
		clear(plain)
	}
	var missing []string
	for _, n := range names {
		if _, ok := values[n]; !ok && !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
	}
	return values, missing, nil
}

// seal encrypts a value for server_secrets.value_enc (backend.md §12.1).
func (s *Service) seal(serverID uuid.UUID, name, value string) ([]byte, error) {
	sealed, err := s.keys.Seal(seal.PurposeServerSecret(serverID.String(), name), []byte(value))
	if err != nil {
		return nil, fmt.Errorf("seal secret %s: %w", name, err)
	}
	return sealed, nil
}

func toSecret(r dbq.ListServerSecretsRow) Secret {
	return Secret{
		ID: r.ID, ServerID: r.ServerID, Name: r.Name, Description: r.Description, ValueSetAt: r.ValueSetAt,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// withoutServer drops the server name of a locked row.
func withoutServer(r dbq.GetServerSecretForUpdateRow) dbq.ListServerSecretsRow {
	return dbq.ListServerSecretsRow{
		ID: r.ID, ServerID: r.ServerID, Name: r.Name, Description: r.Description, ValueSetAt: r.ValueSetAt,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// audit writes a secret change's audit row: the name and has_value, never
// the value (§12.2, §14.1).
func audit(ctx context.Context, q *dbq.Queries, a Audit, action string, sec Secret, msg string) error {
	return activity.Write(ctx, q, activity.Entry{
		Category: activity.Audit, Action: action, Actor: a.Actor, Message: msg,
		ServerID: &sec.ServerID, RequestID: a.RequestID,
		Details: map[string]any{"name": sec.Name, "has_value": sec.HasValue()},
	})
}

// serverMissing turns a missing server row into ErrServerNotFound.
func serverMissing(err error) error {
	if errors.Is(err, db.ErrNotFound) {
		return ErrServerNotFound
	}
	return err
}

// mapConstraint maps a constraint violation of a write of name to the
// service's errors by constraint name (§15.1).
func mapConstraint(err error, name string) error {
	var conflict *db.ConflictError
	var check *db.CheckError
	switch {
	case errors.As(err, &conflict) && conflict.Constraint == constraintNameKey:
		return &AlreadyExistsError{Name: name}
	case errors.As(err, &check) && check.Constraint == constraintNameCheck:
		return &proto.RuleError{Field: "name", Message: fmt.Sprintf(
			"must match %s (uppercase letters, digits and underscores, starting with a letter), at most %d characters.",
			proto.SecretNamePattern, proto.MaxSecretNameLen)}
	case errors.As(err, &check) && check.Constraint == constraintDescriptionCheck:
		return &proto.RuleError{Field: "description", Message: fmt.Sprintf("must be at most %d characters.", MaxDescriptionLen)}
	}
	return err
}

// wrap names the operation on unexpected errors; the service's own errors
// pass unwrapped.
func wrap(op string, err error) error {
	var rule *proto.RuleError
	var exists *AlreadyExistsError
	switch {
	case errors.Is(err, ErrServerNotFound), errors.Is(err, ErrSecretNotFound),
		errors.As(err, &rule), errors.As(err, &exists):
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
