// Package egress is the sandbox's egress broker and SSRF policy
// (spec/sandbox.md §12): the only way anything in the sandbox reaches the
// network. It owns
//
//   - the allowlist (allowed_hosts: null = any public host, [] = none, or a
//     list of host and host:port entries normalised with proto.NormalizeHost);
//   - the URL rules checked before DNS (schemes, userinfo, non-canonical IP
//     literals, control characters, backslashes, always-blocked names);
//   - the address classes (Classifier: always blocked, blocked unless
//     approved, public; embedded IPv4 in mapped, NAT64, 6to4 and Teredo
//     addresses decoded) plus the operator's MCPBOX_SANDBOX_EGRESS_DENY;
//   - the guarded dialer: one resolution, every answer checked, and every
//     connection attempt re-checked at connect time (net.Dialer.Control), so
//     DNS rebinding fails even across keep-alive reconnects; never a proxy;
//   - request shaping and caps (§12.5, §12.6), typed refusals (BlockedError,
//     RequestError) whose messages name the next step and never a resolved
//     address, and the broker metrics of §15.1;
//   - Session (one per execution, /v1/fetch call or MCP session: one policy,
//     one transport, one budget) with Do for tool HTTP and Client/RoundTrip
//     for parent-side users, and Broker.Fetch, the core of /v1/fetch.
//
// Changing the policy safely: the tables in addr.go and the names in
// policy.go are the policy; each entry has a table test in
// policy_test.go and an SB-45…SB-58 acceptance test. Add a case before
// changing a range, keep the "always blocked" set a superset of loopback,
// link-local, metadata and multicast, and never relax a check to reach a test
// server: tests map checked addresses to loopback fixtures with WithTestDial
// and answer names with WithResolver, options production wiring never sets.
// New URL or host parsing rules get fuzz seeds under testdata/fuzz.
package egress
