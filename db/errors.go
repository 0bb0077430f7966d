package db

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes the store maps to its own errors.
const (
	sqlstateUniqueViolation      = "23505"
	sqlstateCheckViolation       = "23514"
	sqlstateForeignKeyViolation  = "23503"
	sqlstateSerializationFailure = "40001"
	sqlstateUndefinedTable       = "42P01"
)

// Sentinel errors. Compare with errors.Is; the typed errors below match them.
var (
	// ErrNotFound is returned when a query that must return a row returned none.
	ErrNotFound = errors.New("db: not found")
	// ErrConflict is matched by a *ConflictError (unique violation, SQLSTATE 23505).
	ErrConflict = errors.New("db: conflict")
	// ErrCheckViolation is matched by a *CheckError (check violation, SQLSTATE 23514).
	ErrCheckViolation = errors.New("db: check violation")
	// ErrForeignKeyViolation is matched by a *ForeignKeyError (SQLSTATE 23503).
	ErrForeignKeyViolation = errors.New("db: foreign key violation")
	// ErrSerialization marks a serialization failure (SQLSTATE 40001) that
	// remained after InTx's retries, or that happened outside Serializable.
	ErrSerialization = errors.New("db: serialization failure")
)

// ConflictError is a unique violation. Constraint is the name of the unique
// constraint or unique index (e.g. "servers_name_key"), which the API maps to
// its error codes (backend.md §15.1).
type ConflictError struct {
	Table      string
	Constraint string
	cause      error
}

// Error implements error.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("db: unique constraint %q violated on table %q", e.Constraint, e.Table)
}

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Unwrap returns the driver error, for logging.
func (e *ConflictError) Unwrap() error { return e.cause }

// CheckError is a check-constraint violation; Constraint is its name
// (e.g. "servers_name_check").
type CheckError struct {
	Table      string
	Constraint string
	cause      error
}

// Error implements error.
func (e *CheckError) Error() string {
	return fmt.Sprintf("db: check constraint %q violated on table %q", e.Constraint, e.Table)
}

// Is reports whether target is ErrCheckViolation.
func (e *CheckError) Is(target error) bool { return target == ErrCheckViolation }

// Unwrap returns the driver error, for logging.
func (e *CheckError) Unwrap() error { return e.cause }

// ForeignKeyError is a foreign-key violation; Constraint is its name
// (e.g. "tools_server_id_fkey").
type ForeignKeyError struct {
	Table      string
	Constraint string
	cause      error
}

// Error implements error.
func (e *ForeignKeyError) Error() string {
	return fmt.Sprintf("db: foreign key %q violated on table %q", e.Constraint, e.Table)
}

// Is reports whether target is ErrForeignKeyViolation.
func (e *ForeignKeyError) Is(target error) bool { return target == ErrForeignKeyViolation }

// Unwrap returns the driver error, for logging.
func (e *ForeignKeyError) Unwrap() error { return e.cause }

// serializationError marks a 40001 failure while keeping the driver error.
type serializationError struct{ cause error }

func (e *serializationError) Error() string { return "db: serialization failure: " + e.cause.Error() }

func (e *serializationError) Is(target error) bool { return target == ErrSerialization }

func (e *serializationError) Unwrap() error { return e.cause }

// mapError turns driver errors into the store's errors. Errors it already
// mapped, and errors that are not from the driver, pass through unchanged.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrCheckViolation) ||
		errors.Is(err, ErrForeignKeyViolation) || errors.Is(err, ErrSerialization) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case sqlstateUniqueViolation:
		return &ConflictError{Table: pgErr.TableName, Constraint: pgErr.ConstraintName, cause: err}
	case sqlstateCheckViolation:
		return &CheckError{Table: pgErr.TableName, Constraint: pgErr.ConstraintName, cause: err}
	case sqlstateForeignKeyViolation:
		return &ForeignKeyError{Table: pgErr.TableName, Constraint: pgErr.ConstraintName, cause: err}
	case sqlstateSerializationFailure:
		return &serializationError{cause: err}
	default:
		return err
	}
}

// hasSQLState reports whether err carries a PostgreSQL error with code.
func hasSQLState(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
