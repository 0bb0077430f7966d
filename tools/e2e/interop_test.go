package e2e

import "testing"

// The interoperability tests of gateway.md §16: each real client runs the
// §16 flow against the whole stack (PostgreSQL, backend, sandbox, gateway)
// from bin/, one stack per session mode shared by every client. The stacks
// use the e2e ports, so these tests do not run in parallel with each other
// or with the other stack tests (the parallel ones start after them). After
// the clients, the conformance suite's server scenarios that apply to the
// gateway run against the same stack's local listener (runConformance).

// GW-96, GW-97, GW-98 in hybrid mode (make run's default): the go-sdk client
// locally and through the remote listener, the TypeScript SDK with its
// list-changed handler, and the Inspector CLI in the initialize era; then
// the conformance suite.
//
//nolint:paralleltest // owns the e2e ports while it runs
func TestGW96_GW97_GW98_InteropHybridMode(t *testing.T) {
	st := startInteropStack(t, "hybrid")
	t.Run("GW98_GoSDK", func(t *testing.T) { runGoSDKLocal(t, st) })                                   // GW-98
	t.Run("GW98_GoSDKRemoteListener", func(t *testing.T) { runGoSDKRemote(t, st) })                    // GW-98
	t.Run("OPS5_GoSDKThroughEdge", func(t *testing.T) { runGoSDKThroughEdge(t, st) })                  // OPS-5
	t.Run("OPS16_RequestIDThroughEveryService", func(t *testing.T) { runRequestIDThroughEdge(t, st) }) // OPS-16
	t.Run("GW96_TypeScriptSDK", func(t *testing.T) { runTypeScriptSDK(t, st) })                        // GW-96
	t.Run("GW97_InspectorCLIInitializeEra", func(t *testing.T) { runInspector(t, st, "legacy") })      // GW-97
	t.Run("Conformance", func(t *testing.T) { runConformance(t, st) })
}

// GW-96, GW-97, GW-98 in stateless mode (the binary's default and the
// Kubernetes setting): the go-sdk client, the TypeScript SDK without
// sessions, and the Inspector CLI in the modern era; then the conformance
// suite.
//
//nolint:paralleltest // owns the e2e ports while it runs
func TestGW96_GW97_GW98_InteropStatelessMode(t *testing.T) {
	st := startInteropStack(t, "stateless")
	t.Run("GW98_GoSDK", func(t *testing.T) { runGoSDKLocal(t, st) })                          // GW-98
	t.Run("GW96_TypeScriptSDK", func(t *testing.T) { runTypeScriptSDK(t, st) })               // GW-96
	t.Run("GW97_InspectorCLIModernEra", func(t *testing.T) { runInspector(t, st, "modern") }) // GW-97
	t.Run("Conformance", func(t *testing.T) { runConformance(t, st) })
}
