package db

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// querier is what both *pgxpool.Pool and pgx.Tx offer to sqlc.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// mapped is the dbq.DBTX handed to sqlc: it forwards to the pool or the
// transaction and maps every error through mapError, so callers never see pgx.
type mapped struct{ q querier }

func (m mapped) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := m.q.Exec(ctx, sql, args...)
	return tag, mapError(err)
}

func (m mapped) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := m.q.Query(ctx, sql, args...)
	if err != nil {
		return rows, mapError(err)
	}
	return mappedRows{rows}, nil
}

func (m mapped) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return mappedRow{m.q.QueryRow(ctx, sql, args...)}
}

// mappedRows maps the error that pgx reports after iteration (a query's
// failure, such as a unique violation in INSERT … RETURNING, surfaces there).
type mappedRows struct{ pgx.Rows }

func (r mappedRows) Err() error { return mapError(r.Rows.Err()) }

type mappedRow struct{ row pgx.Row }

func (r mappedRow) Scan(dest ...any) error { return mapError(r.row.Scan(dest...)) }
