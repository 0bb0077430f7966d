// Package httpserve runs a service's HTTP listeners the same way in all four
// services: bind every listener first (a taken port fails the start at once),
// serve, and on shutdown turn /readyz to 503, keep serving for the shutdown
// delay, then drain in-flight requests for at most the shutdown timeout
// (operations.md §3.5, STYLE.md §4). It also writes the shared JSON error
// shape and the /healthz and /readyz answers.
package httpserve
