// Package dbq holds the queries sqlc generates from db/queries/*.sql over the
// schema of db/migrations. Do not edit it: change the SQL and run
// `make generate` (see package db). Callers use it through db.Store, whose
// DBTX maps driver errors to db.ErrNotFound, db.ErrConflict and friends.
package dbq
