package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"github.com/mcpbox/mcpbox/db/dbq"
)

// DefaultConnectTimeout is how long Open keeps retrying an unreachable
// database unless WithConnectTimeout says otherwise (backend.md §3, step 2).
const DefaultConnectTimeout = 60 * time.Second

const (
	firstBackoff   = 100 * time.Millisecond
	maxBackoff     = 2 * time.Second
	attemptTimeout = 5 * time.Second
)

// Store is the single way into PostgreSQL: a pgx pool plus the generated
// queries, whose errors are mapped to this package's errors. Run
// multi-statement work through InTx.
type Store struct {
	*dbq.Queries

	pool     *pgxpool.Pool
	sqlDB    *sql.DB
	migrator *goose.Provider
	versions database.Store
	log      *slog.Logger
}

// Option configures Open.
type Option func(*options)

type options struct {
	maxConns       int32
	connectTimeout time.Duration
	logger         *slog.Logger
}

// WithMaxConns sets the pool size (MCPBOX_DB_MAX_CONNS). Values below 1 keep
// pgx's default.
func WithMaxConns(n int32) Option {
	return func(o *options) { o.maxConns = n }
}

// WithConnectTimeout sets how long Open retries while the database does not
// answer. Zero or less means a single attempt.
func WithConnectTimeout(d time.Duration) Option {
	return func(o *options) { o.connectTimeout = d }
}

// WithLogger sets the logger for connection retries (WARN) and applied or
// rolled-back migrations (INFO), using only the log keys of operations.md
// §3.1. Without it the store logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// Open creates the pool for url (a pgx DSN) and waits, retrying with
// exponential backoff up to the connect timeout, until the database answers.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o := options{connectTimeout: DefaultConnectTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	logger := o.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("db: parse database URL: %w", err)
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("db: create pool: %w", err)
	}
	if err := waitForDatabase(ctx, pool, o.connectTimeout, logger); err != nil {
		pool.Close()
		return nil, err
	}
	versions, err := newVersionStore()
	if err != nil {
		pool.Close()
		return nil, err
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	migrator, err := newMigrator(sqlDB)
	if err != nil {
		_ = sqlDB.Close()
		pool.Close()
		return nil, err
	}
	return &Store{
		Queries:  dbq.New(mapped{pool}),
		pool:     pool,
		sqlDB:    sqlDB,
		migrator: migrator,
		versions: versions,
		log:      logger,
	}, nil
}

// waitForDatabase pings until the database answers or timeout has passed.
func waitForDatabase(ctx context.Context, pool *pgxpool.Pool, timeout time.Duration, logger *slog.Logger) error {
	start := time.Now()
	deadline := start.Add(timeout)
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := pool.Ping(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("db: connect: %w", errors.Join(ctx.Err(), err))
		}
		wait := min(backoff, time.Until(deadline))
		if wait <= 0 {
			return fmt.Errorf("db: connect: no answer after %d attempts in %s: %w",
				attempt, time.Since(start).Round(time.Millisecond), err)
		}
		logger.WarnContext(ctx, "database not reachable yet, retrying",
			slog.Int("attempt", attempt), slog.String("error", err.Error()))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("db: connect: %w", errors.Join(ctx.Err(), err))
		case <-timer.C:
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// Close closes the migration handle (and with it the database/sql view of the
// pool) and the pool, waiting for connections in use to be released.
func (s *Store) Close() {
	_ = s.migrator.Close()
	s.pool.Close()
}

// Ping checks that the database answers (`SELECT 1` semantics); /readyz
// calls it with a 2 s deadline.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("db: ping: %w", err)
	}
	return nil
}

// PoolStats is a snapshot of the pool for the db_pool metrics.
type PoolStats struct {
	Acquired     int32
	Idle         int32
	Constructing int32
	Max          int32
	// AcquireWait is the total time spent waiting for a connection when
	// none was free.
	AcquireWait time.Duration
}

// Stats returns the pool's current statistics.
func (s *Store) Stats() PoolStats {
	st := s.pool.Stat()
	return PoolStats{
		Acquired:     st.AcquiredConns(),
		Idle:         st.IdleConns(),
		Constructing: st.ConstructingConns(),
		Max:          st.MaxConns(),
		AcquireWait:  st.EmptyAcquireWaitTime(),
	}
}
