// Package obs is the observability contract shared by the four services: the
// closed list of log keys (operations.md §3.1), the JSON logger that stamps
// service, version and request id on every line, request-id propagation
// (operations.md §3.2), and the per-process Prometheus registry with the Go
// and process collectors and the mcpbox_<service>_build_info gauge.
//
// A new log key is added to Keys first; a test in every service checks that
// its log lines use only these keys.
package obs
