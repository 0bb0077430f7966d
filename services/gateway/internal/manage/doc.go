// Package manage serves the 30 management tools (gateway.md §10): the
// remote-editing gate (§6.4), argument validation against the schemas in
// proto with the rules of §8.2 (so a missing or out-of-range field is named
// before the backend is called), forwarding of the 28 backend operations to
// POST /internal/v1/manage/{tool} and the mapping of their answers (§10.2),
// and the two tools the gateway answers itself: mcpbox_find_tools, from the
// catalog snapshot, and mcpbox_run_tool, through the one call path of
// package toolcall.
//
// The definitions themselves (titles, descriptions, schemas, annotations)
// live in proto and are listed by the registrar; this package only runs
// calls. Management calls are never retried: an operation may not be
// idempotent, so a call whose answer was lost says so and names the tool to
// check with.
//
// Metrics: every call counts in mcpbox_gateway_tool_calls_total under
// server "mcpbox" and the tool's name, and in the duration histogram under
// kind "management" (toolcall.Metrics). mcpbox_run_tool counts as the tool
// it ran (server, tool and kind of the inner tool), except when its own
// arguments are refused.
package manage
