// Package db owns MCPbox's PostgreSQL schema and every query against it
// (spec/backend.md §4, STYLE.md §8). Only the backend imports it.
//
// # What lives here
//
//   - migrations/NNNNN_name.sql: goose migrations, embedded in the binary and
//     applied by Store.Migrate under a PostgreSQL session advisory lock, so
//     the migrate Job and any number of starting replicas take turns.
//   - queries/<table>.sql: every SQL statement the services run; sqlc
//     generates package dbq from them (committed, never edited by hand).
//   - Store: the pgx pool plus the generated queries. Its DBTX maps driver
//     errors, so no caller imports pgx: no row is ErrNotFound; a unique
//     violation is a *ConflictError (errors.Is ErrConflict), a check
//     violation a *CheckError (ErrCheckViolation), a foreign-key violation a
//     *ForeignKeyError (ErrForeignKeyViolation), each with the constraint's
//     name for the API's error mapping (backend.md §15.1). Multi-statement
//     work runs in Store.InTx, which retries the whole function, at most 3
//     attempts, only on serialization failures at Serializable; state
//     machines lock rows with SELECT … FOR UPDATE at ReadCommitted, and
//     snapshot reads use Store.InSnapshot.
//   - The schema floor: mcpbox_schema_floor holds the oldest migration a
//     binary must know. CheckFloor (also run by Migrate) returns a
//     *FloorError naming both numbers when the binary is older; Schema
//     reports a database ahead of the binary but within the floor (Ahead),
//     which starts with a WARN (operations.md §6.2).
//   - migrationlint (the migration policy), dbtest (a database per test) and
//     cmd/inputshash (is db/dbq current?).
//
// # Schema conventions
//
// Every constraint and index is named, because the API maps errors by name:
// <table>_pkey, <table>_<columns>_key for unique constraints and unique
// indexes, <table>_<column>_check (or _<rule>_check) for checks,
// <table>_<column>_fkey for foreign keys, <table>_<columns>_idx for plain
// indexes. Enumerations are text columns with a named CHECK, never native
// enums. Defaults live in the database. A table with updated_at gets the
// trigger <table>_touch_updated_at (mcpbox_touch_updated_at); an append-only
// table gets <table>_forbid_update (mcpbox_forbid_update).
//
// # Adding a migration
//
//  1. Create migrations/NNNNN_what.sql with the next number, zero-padded to
//     five digits (sqlc reads the files in lexicographic order).
//  2. Start the Up section with `SET LOCAL lock_timeout = '5s';` and
//     `SET LOCAL statement_timeout = '…';` (LOCAL: the setting must end with
//     the transaction, not stay on a pooled connection).
//  3. Only expand: add tables, nullable or defaulted columns, indexes, and
//     constraints created NOT VALID and validated in a later migration.
//     DROP, TRUNCATE, RENAME, type changes and SET NOT NULL need a migration
//     marked `-- mcpbox:contract` that also runs
//     `UPDATE mcpbox_schema_floor SET version = NNNNN`, and only for objects
//     the previous release no longer uses.
//  4. An index on execution_records, activity_log or tool_versions is built
//     with CREATE INDEX CONCURRENTLY, alone in a file marked
//     `-- +goose NO TRANSACTION` (there: plain SET, and RESET at the end).
//  5. Write a Down that undoes the Up exactly: TestOPS36_MigrateUpDownUp
//     compares schema dumps after up → down to 0 → up.
//  6. Run `make generate` (sqlc reads the schema from the migrations), then
//     `go test ./db/...`: the lint (migrationlint) and the migration tests
//     run against a real PostgreSQL.
//
// # Adding a query
//
//  1. Add it to queries/<table>.sql as `-- name: VerbNoun :one|:many|:exec|:execrows`
//     followed by a `-- VerbNoun …` comment line (it becomes the Go doc
//     comment). Queries are static: optional filters use sqlc.narg.
//  2. Run `make generate`. It runs
//     `cd db && GOWORK=off go tool -modfile=../tools/go.mod sqlc generate`
//     and then `go run ./cmd/inputshash write`, which records the hashes of
//     sqlc's inputs and outputs in dbq/INPUTS.sha256.
//  3. Commit the SQL, db/dbq and dbq/INPUTS.sha256 together.
//     TestOPS10_GeneratedCodeIsFresh (and `go run ./cmd/inputshash check`,
//     which `make test` uses to decide whether sqlc must run at all) fails
//     naming each file edited since the last `make generate`.
//
// Tests get a database with dbtest.New(t) (see package dbtest).
package db
