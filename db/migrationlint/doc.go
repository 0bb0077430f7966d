// Package migrationlint checks goose migrations against the migration policy
// of spec/operations.md §6.2 before they reach a database:
//
//   - destructive statements (DROP, TRUNCATE, RENAME, column type changes,
//     SET NOT NULL) only in a migration marked `-- mcpbox:contract`, which must
//     also raise mcpbox_schema_floor;
//   - no plain CREATE INDEX on an append-only table (execution_records,
//     activity_log, tool_versions) except in the migration that creates it;
//     CONCURRENTLY only in a `-- +goose NO TRANSACTION` migration;
//   - lock_timeout (at most 5 s) and statement_timeout set before the first
//     statement, without leaking into pooled connections;
//   - file names NNNNN_name.sql in sequence, each with a working Down.
//
// Only the Up section is checked for policy: Down runs in dev and tests only.
// The checks work on tokens from a small SQL lexer (comments, strings, quoted
// identifiers and dollar-quoted bodies are not mistaken for statements).
// db's tests run LintFS over the embedded migrations, so `make test` fails on
// any finding, naming the file, the line and the rule.
package migrationlint
