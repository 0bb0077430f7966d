package db

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/mcpbox/mcpbox/db/dbq"
)

// IsoLevel is a transaction isolation level.
type IsoLevel = pgx.TxIsoLevel

// Isolation levels, re-exported so callers need not import pgx.
const (
	ReadCommitted  IsoLevel = pgx.ReadCommitted
	RepeatableRead IsoLevel = pgx.RepeatableRead
	Serializable   IsoLevel = pgx.Serializable
)

// maxTxAttempts bounds InTx's retries of serialization failures.
const maxTxAttempts = 3

// InTx runs fn in one transaction at isolation level iso and commits when fn
// returns nil. At Serializable, a serialization failure (SQLSTATE 40001) of any
// statement or of the commit re-runs the whole of fn, at most 3 attempts in all;
// fn must therefore have no effects outside the transaction. No other error and
// no other level is retried. Errors are mapped as for the Store's queries; a
// serialization failure that remains matches ErrSerialization.
func (s *Store) InTx(ctx context.Context, iso IsoLevel, fn func(q *dbq.Queries) error) error {
	return s.inTx(ctx, pgx.TxOptions{IsoLevel: iso}, fn)
}

// InSnapshot runs fn in a REPEATABLE READ READ ONLY transaction: one consistent
// snapshot for reads that span several queries (catalog, export).
func (s *Store) InSnapshot(ctx context.Context, fn func(q *dbq.Queries) error) error {
	return s.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

func (s *Store) inTx(ctx context.Context, opts pgx.TxOptions, fn func(q *dbq.Queries) error) error {
	var err error
	for range maxTxAttempts {
		err = pgx.BeginTxFunc(ctx, s.pool, opts, func(tx pgx.Tx) error {
			return fn(dbq.New(mapped{tx}))
		})
		if opts.IsoLevel != Serializable || !hasSQLState(err, sqlstateSerializationFailure) || ctx.Err() != nil {
			break
		}
	}
	return mapError(err)
}
