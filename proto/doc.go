// Package proto holds every contract between the MCPbox services: request and
// response types, route paths, header names, error codes and constants.
//
// A change to a contract between services is a change to this module first,
// reviewed as such (ARCHITECTURE.md §3). Changes are additive: release N must
// decode what release N−1 sends, so a field is removed only one release after
// its last use, and the golden JSON under testdata/<release>/ keeps decoding.
//
// Subpackages:
//   - canon: the canonical JSON encoder and the pinned-hash function;
//   - obs: log keys, the logger, request ids, metrics registry helpers;
//   - envcfg: the typed environment loader every service's config uses;
//   - servicetoken: the service-token check with rotation support;
//   - httpserve: listeners, health endpoints and graceful shutdown;
//   - buildinfo: version and revision stamped at link time.
package proto
