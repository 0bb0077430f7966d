package db

import (
	"context"
	"fmt"
)

// TryLock takes the session-level advisory lock key on a connection of its
// own, without waiting: ok is false when another session holds it. While
// held, the connection stays out of the pool; unlock releases the lock and
// returns the connection. Jobs that must run once per installation across
// replicas (retention, backend.md §14.5) use it, so their work can span many
// short transactions.
func (s *Store) TryLock(ctx context.Context, key int64) (unlock func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("db: lock %d: %w", key, err)
	}
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("db: lock %d: %w", key, mapError(err))
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return func() {
		// Unlock on the same session; a failure (the connection died) drops
		// the lock with the session, so the connection is closed, not reused.
		var released bool
		if err := conn.QueryRow(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key).Scan(&released); err != nil || !released {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}, true, nil
}
