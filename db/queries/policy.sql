-- The security policy (backend.md §6.6); its settings rows are read and
-- written with the queries of settings.sql.

-- name: LockPolicyRevision :one
-- LockPolicyRevision takes the revisions row lock and returns the current
-- policy revision: a settings change holds it from its optimistic check to
-- its bump, so two changes never both pass the check of one revision.
SELECT policy FROM revisions WHERE id FOR UPDATE;

-- name: CountPolicyApprovedNetworkRequests :one
-- CountPolicyApprovedNetworkRequests counts the network requests approved
-- automatically under allow_all_public, which stay approved when the policy
-- goes back to approved_hosts_only.
SELECT count(*) FROM network_requests WHERE status = 'approved' AND reviewed_by = 'policy';

-- name: CountPolicyApprovedPackageRequests :one
-- CountPolicyApprovedPackageRequests counts the package requests approved
-- automatically under auto_approve, which stay approved when the mode goes
-- back to require_approval.
SELECT count(*) FROM package_requests WHERE status = 'approved' AND reviewed_by = 'policy';
