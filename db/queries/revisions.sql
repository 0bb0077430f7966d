-- name: GetRevisions :one
-- GetRevisions reads the catalog and policy revisions (backend.md §9.2).
SELECT catalog, policy FROM revisions WHERE id;

-- name: BumpCatalogRevision :one
-- BumpCatalogRevision is called in the transaction that changes the catalog;
-- it returns the new revision.
UPDATE revisions SET catalog = catalog + 1 WHERE id RETURNING catalog;

-- name: BumpPolicyRevision :one
-- BumpPolicyRevision is called in the transaction that changes a policy
-- setting; it returns the new revision.
UPDATE revisions SET policy = policy + 1 WHERE id RETURNING policy;

-- name: Notify :exec
-- Notify sends a NOTIFY on channel with payload; PostgreSQL delivers it when
-- the transaction commits, to every replica's LISTEN connection.
SELECT pg_notify(sqlc.arg(channel)::text, sqlc.arg(payload)::text);
