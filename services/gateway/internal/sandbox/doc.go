// Package sandbox is the gateway's client of the sandbox (gateway.md §8.4,
// §8.6): POST /v1/execute for go tools and POST /v1/mcp/call for external
// tools, behind one circuit breaker, with the metrics of gateway.md §13.
//
// Every call is sent once (fixed on purpose): tools are not idempotent, so
// the client never retries, never sets Idempotency-Key and never wraps a
// request in anything that could replay it. net/http itself only resends a
// request of which not one byte reached a reused connection.
//
// Failures come back as *Error, whose Kind tells the caller which outcome
// and text of gateway.md §8.5 apply:
//
//	CircuitOpen   the breaker refused the call; nothing was sent
//	Saturated     429 saturated; the tool did not run
//	HashMismatch  409 hash_mismatch; nothing ran (integrity failure)
//	Unreachable   no connection, or not one byte sent; the tool did not run
//	NoResult      sent, but no usable answer: timeout, connection lost,
//	              5xx (503 not_ready included), an unreadable answer; the
//	              tool may have run
//	Rejected      another 4xx (a defect of the gateway's request)
//	Cancelled     the caller's context ended first (client gone, drain)
//
// To change the breaker's rules, edit breaker.go and the table in
// classify.go that says which kinds are failures.
package sandbox
