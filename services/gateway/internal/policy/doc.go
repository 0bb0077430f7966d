// Package policy applies the backend's remote-access policy to callers
// (gateway.md §6.3–§6.5): which remote callers are limited to the anonymous
// methods, which management tools the remote-editing flag gates, and the
// per-caller rate limits. It holds no policy itself: every decision takes
// the current proto.Policy snapshot, so an admin's change applies from the
// next request on.
package policy
