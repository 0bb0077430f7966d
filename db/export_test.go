package db

import "context"

// ExecForTest runs sql on the store's pool through the error-mapping DBTX,
// for tests that need a statement no query in db/queries offers. Without
// arguments pgx uses the simple protocol, so sql may hold several statements,
// which then run in one implicit transaction.
func ExecForTest(ctx context.Context, s *Store, sql string, args ...any) error {
	_, err := mapped{s.pool}.Exec(ctx, sql, args...)
	return err
}

// ScanForTest runs a one-row query through the error-mapping DBTX.
func ScanForTest(ctx context.Context, s *Store, sql string, args []any, dest ...any) error {
	return mapped{s.pool}.QueryRow(ctx, sql, args...).Scan(dest...)
}

// QueryForTest runs a query through the error-mapping DBTX, reads every row
// and returns the error reported after iteration, where pgx puts a failure of
// a multi-row statement.
func QueryForTest(ctx context.Context, s *Store, sql string, args ...any) error {
	rows, err := mapped{s.pool}.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	_ = n
	return rows.Err()
}
