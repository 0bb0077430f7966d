package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationsDir is the directory of the embedded migrations.
const migrationsDir = "migrations"

// Session-lock polling: one try a second for up to five minutes, so replicas
// starting together take turns quickly.
const (
	lockPollSeconds = 1
	lockPollTries   = 300
)

// Migrations returns the embedded goose migrations (NNNNN_name.sql files at
// the root of the returned FS).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, migrationsDir)
	if err != nil {
		// fs.Sub fails only for an invalid path; migrationsDir is a constant.
		panic(err)
	}
	return sub
}

// NewestMigration returns the version of the newest embedded migration.
func NewestMigration() int64 {
	entries, err := fs.ReadDir(migrationFiles, migrationsDir)
	if err != nil {
		return 0
	}
	var newest int64
	for _, e := range entries {
		if v, ok := migrationVersion(e.Name()); ok && v > newest {
			newest = v
		}
	}
	return newest
}

// migrationVersion parses the version of a goose file name "00012_name.sql".
func migrationVersion(name string) (int64, bool) {
	if path.Ext(name) != ".sql" {
		return 0, false
	}
	num, _, ok := strings.Cut(name, "_")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 1 {
		return 0, false
	}
	return v, true
}

func newVersionStore() (database.Store, error) {
	vs, err := database.NewStore(goose.DialectPostgres, goose.DefaultTablename)
	if err != nil {
		return nil, fmt.Errorf("db: goose version store: %w", err)
	}
	return vs, nil
}

func newMigrator(sqlDB *sql.DB) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(lockPollSeconds, lockPollTries))
	if err != nil {
		return nil, fmt.Errorf("db: migration lock: %w", err)
	}
	// goose stays silent (its log keys are not those of operations.md §3.1);
	// Migrate and MigrateDown log each migration themselves.
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, Migrations(),
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("db: load migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration under the PostgreSQL session
// advisory lock, so concurrent callers take turns and each migration is applied
// once. It returns the versions it applied (none when up to date). It refuses,
// with a *FloorError, a database whose schema floor is newer than this binary.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) {
	if err := s.CheckFloor(ctx); err != nil {
		return nil, err
	}
	res, err := s.migrator.Up(ctx)
	s.logResults(ctx, "migration applied", res)
	if err != nil {
		return appliedVersions(res), fmt.Errorf("db: migrate up: %w", err)
	}
	return appliedVersions(res), nil
}

// MigrateDown rolls back, newest first, every applied migration above
// toVersion (0 rolls back everything). It returns the versions rolled back.
// The caller decides whether that is allowed (dev mode or --force).
func (s *Store) MigrateDown(ctx context.Context, toVersion int64) ([]int64, error) {
	res, err := s.migrator.DownTo(ctx, toVersion)
	s.logResults(ctx, "migration rolled back", res)
	if err != nil {
		return appliedVersions(res), fmt.Errorf("db: migrate down to %d: %w", toVersion, err)
	}
	return appliedVersions(res), nil
}

// logResults logs each successful migration with the keys of
// operations.md §3.1 ("migration", "duration_ms").
func (s *Store) logResults(ctx context.Context, msg string, res []*goose.MigrationResult) {
	for _, r := range res {
		if r != nil && r.Source != nil && r.Error == nil {
			s.log.InfoContext(ctx, msg, slog.String("migration", path.Base(r.Source.Path)),
				slog.Int64("duration_ms", r.Duration.Milliseconds()))
		}
	}
}

func appliedVersions(res []*goose.MigrationResult) []int64 {
	out := make([]int64, 0, len(res))
	for _, r := range res {
		if r != nil && r.Source != nil && r.Error == nil {
			out = append(out, r.Source.Version)
		}
	}
	return out
}

// MigrationStatus is the state of one embedded migration.
type MigrationStatus struct {
	Version   int64
	Name      string    // file name, e.g. "00001_foundation.sql"
	Applied   bool      // recorded in the database
	AppliedAt time.Time // zero when not applied
}

// MigrateStatus lists every embedded migration with whether it is applied.
func (s *Store) MigrateStatus(ctx context.Context) ([]MigrationStatus, error) {
	st, err := s.migrator.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, m := range st {
		out = append(out, MigrationStatus{
			Version:   m.Source.Version,
			Name:      path.Base(m.Source.Path),
			Applied:   m.State == goose.StateApplied,
			AppliedAt: m.AppliedAt,
		})
	}
	return out, nil
}

// SchemaVersion returns the newest migration applied to the database (0 for
// an empty database). It reads goose's version table without taking the
// migration lock, so it answers while another process migrates.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	v, err := s.versions.GetLatestVersion(ctx, s.sqlDB)
	if errors.Is(err, database.ErrVersionNotFound) || hasSQLState(err, sqlstateUndefinedTable) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("db: schema version: %w", err)
	}
	return v, nil
}

// SchemaFloor returns the database's schema floor (0 before the first
// migration created the table).
func (s *Store) SchemaFloor(ctx context.Context) (int64, error) {
	v, err := s.GetSchemaFloor(ctx)
	if hasSQLState(err, sqlstateUndefinedTable) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("db: schema floor: %w", err)
	}
	return v, nil
}

// SchemaState compares the database's schema with this binary's migrations.
type SchemaState struct {
	Current int64 // newest migration applied to the database
	Newest  int64 // newest migration embedded in this binary
	Floor   int64 // oldest migration a binary must know (mcpbox_schema_floor)
}

// BelowFloor reports whether this binary is too old for the database: it must
// refuse to start (operations.md §6.2).
func (s SchemaState) BelowFloor() bool { return s.Floor > s.Newest }

// Ahead reports whether the database has migrations this binary does not know.
// Within the floor that is allowed (a rolled-back release) and deserves a WARN.
func (s SchemaState) Ahead() bool { return s.Current > s.Newest }

// Pending reports whether this binary has migrations the database lacks
// (/readyz and `migrate check` require that it has none).
func (s SchemaState) Pending() bool { return s.Current < s.Newest }

// Schema reads the database's schema version and floor, without the
// migration lock.
func (s *Store) Schema(ctx context.Context) (SchemaState, error) {
	cur, err := s.SchemaVersion(ctx)
	if err != nil {
		return SchemaState{}, err
	}
	floor, err := s.SchemaFloor(ctx)
	if err != nil {
		return SchemaState{}, err
	}
	return SchemaState{Current: cur, Newest: NewestMigration(), Floor: floor}, nil
}

// FloorError says the database's schema floor is newer than the newest
// migration this binary knows: the binary is too old to run on it.
type FloorError struct {
	Floor  int64 // the database's schema floor
	Binary int64 // the newest migration embedded in this binary
}

// Error implements error.
func (e *FloorError) Error() string {
	return fmt.Sprintf("database schema floor is migration %d, but this binary knows migrations only up to %d: "+
		"a contract migration removed what this release needs; deploy release with migration %d or newer",
		e.Floor, e.Binary, e.Floor)
}

// CheckFloor returns a *FloorError when the database's schema floor is newer
// than the binary's newest migration. A database merely ahead of the binary
// (SchemaState.Ahead) passes; use Schema to detect that case and warn.
func (s *Store) CheckFloor(ctx context.Context) error {
	st, err := s.Schema(ctx)
	if err != nil {
		return err
	}
	if st.BelowFloor() {
		return &FloorError{Floor: st.Floor, Binary: st.Newest}
	}
	return nil
}
