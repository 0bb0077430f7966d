// Package catalog is the gateway's view of what may run: the catalog of
// callable user tools and the remote-access policy, both fetched from the
// backend's internal API and cached in memory (gateway.md §6.3, §7.1–§7.4).
//
// It owns:
//   - entry validation (§7.3): BuildSnapshot turns a proto.Catalog into an
//     immutable Snapshot of valid entries, with input schemas normalised to
//     object schemas and the rejected entries counted by reason;
//   - refresh (§7.2): Cache fetches at start, follows the backend's event
//     stream, polls as a fallback and coalesces fetches, so at most one is in
//     flight and one more trails it;
//   - freshness (§6.3, §7.2, §12): the age of the last successful fetch of
//     the catalog and of the policy, the staleness errors and readiness;
//   - the change feed for the rest of the gateway: OnSnapshot (with Diff, for
//     the SDK registrar of §7.4), OnPolicy, OnSecretsChanged and OnResync
//     (for the plan cache of §8.3).
//
// It does not own the HTTP client of the backend (package backend implements
// Source), the SDK registration itself, or the meaning of the policy's
// fields. A call reads one Snapshot through Cache.Current or
// Cache.CheckCatalog and never sees a later one halfway.
package catalog
