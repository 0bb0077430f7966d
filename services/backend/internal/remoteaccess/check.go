package remoteaccess

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// stepNames returns the steps of admin-ui.md §11.11, in order.
func stepNames() []struct{ id, name string } {
	return []struct{ id, name string }{
		{"R1", "URL"},
		{"R2", "Health"},
		{"R3", "Authentication challenge"},
		{"R4", "Protected-resource metadata"},
		{"R5", "Issuer metadata"},
		{"R6", "Signing keys (JWKS)"},
		{"R7", "Bad token"},
	}
}

// loopbackText is what a step that would contact a loopback address says.
const loopbackText = "loopback addresses are never contacted through the sandbox; use the machine's LAN address"

// check is one run of the self-check: the settings it compares against and
// what the steps learn for the ones after them.
type check struct {
	f    *fetcher
	cfg  Settings
	base *url.URL // the public URL, once R1 passed
	// resourceMetadata is R3's resource_metadata; servers are R4's
	// authorization_servers; issuer is the issuer R5 checks; jwksURI is
	// R5's jwks_uri.
	resourceMetadata string
	servers          []string
	issuer           string
	jwksURI          string
}

// block is why a step does not run.
type block struct{ observed, fix string }

// after blocks the steps that depend on s when s failed or did not run
// (admin-ui.md §11.11: a failed step skips the steps that depend on it).
func after(s Step) *block {
	switch s.Result {
	case Fail:
		return &block{observed: "Not run because " + s.ID + " failed.", fix: "Fix " + s.ID + " first; this step runs once it passes."}
	case Skipped:
		return &block{observed: "Not run because " + s.ID + " did not run.", fix: "See " + s.ID + "."}
	}
	return nil
}

// run runs the seven steps, reporting each one finished to progress.
func (c *check) run(ctx context.Context, progress activity.Progress) []Step {
	names := stepNames()
	steps := make([]Step, 0, len(names))
	add := func(s Step) Step {
		s.ID, s.Name = names[len(steps)].id, names[len(steps)].name
		steps = append(steps, s)
		progress(len(steps), len(names))
		return s
	}
	r1 := add(c.publicURL())
	if r1.Result == Fail || isLoopbackHost(c.base.Hostname()) {
		b := after(r1)
		if b == nil {
			b = &block{observed: loopbackText, fix: "Save the public URL under the machine's LAN address or its public name to check the edge."}
		}
		for len(steps) < len(names) {
			add(skipped(b))
		}
		return steps
	}
	r2 := add(c.step(ctx, nil, c.health))
	r3 := add(c.step(ctx, after(r2), c.challenge))
	r4 := add(c.step(ctx, after(r2), c.protectedResource))
	r5 := add(c.step(ctx, c.issuerKnown(r4), c.issuerMetadata))
	add(c.step(ctx, after(r5), c.keys))
	add(c.step(ctx, after(r3), c.badToken))
	return steps
}

func skipped(b *block) Step { return Step{Result: Skipped, Observed: b.observed, Fix: b.fix} }

// step runs fn unless b blocks it or the check is out of time.
func (c *check) step(ctx context.Context, b *block, fn func(context.Context) Step) Step {
	switch {
	case b != nil:
		return skipped(b)
	case ctx.Err() != nil:
		return skipped(&block{
			observed: fmt.Sprintf("Not run: the check reached its %d s limit.", int(checkLimit.Seconds())),
			fix:      "Look at the step that took long and run the check again.",
		})
	}
	return fn(ctx)
}

func pass(format string, args ...any) Step {
	return Step{Result: Pass, Observed: fmt.Sprintf(format, args...)}
}

func failed(observed, fix string) Step { return Step{Result: Fail, Observed: observed, Fix: fix} }

func unreachable(nr *noReply) Step { return failed(nr.observed, nr.fix) }

// redirected reports a redirect, which the check never follows.
func redirected(method string, u *url.URL, r reply, loc string) Step {
	return failed(
		fmt.Sprintf("%s %s answered %d redirecting to %s; redirects are reported, not followed.", method, u, r.status, quote(loc)),
		"MCP clients expect this address to answer directly: save the address the redirect points to, or remove the redirect from the proxy.")
}

// at is the public URL with path.
func (c *check) at(path string) *url.URL {
	u := *c.base
	u.Path = path
	return &u
}

// R1: the saved public URL parses and follows the rule.
func (c *check) publicURL() Step {
	norm, err := CheckPublicURL(c.cfg.PublicURL)
	if err != nil {
		return failed(fmt.Sprintf("%s (saved: %s)", err, quote(c.cfg.PublicURL)),
			"Save a public URL such as https://mcp.example.com under Expected configuration.")
	}
	c.base, _ = url.Parse(norm)
	if isLoopbackHost(c.base.Hostname()) {
		return pass("%s is a valid loopback address; the check cannot reach it through the sandbox.", norm)
	}
	return pass("%s is an absolute %s URL without path, query or fragment.", norm, c.base.Scheme)
}

// R2: GET /health answers 200 {"status":"ok"}.
func (c *check) health(ctx context.Context) Step {
	u := c.at("/health")
	r, nr := c.f.fetch(ctx, http.MethodGet, u, map[string]string{"Accept": "application/json"}, "")
	if nr != nil {
		nr.observed = "The edge is unreachable: " + nr.observed
		return unreachable(nr)
	}
	if loc, ok := r.location(); ok {
		return redirected(http.MethodGet, u, r, loc)
	}
	switch {
	case r.status == http.StatusOK && healthOK(r.body):
		return pass(`GET %s answered 200 {"status":"ok"}.`, u)
	case r.status == http.StatusOK:
		return failed(fmt.Sprintf(`GET %s answered 200, but the body is not {"status":"ok"}: %s.`, u, quote(r.body)),
			"Another service answers at this address; point the public URL (or the proxy in front of the edge) at the MCPbox edge.")
	case r.status == http.StatusServiceUnavailable:
		return failed(fmt.Sprintf("GET %s answered 503: the edge is starting or draining.", u),
			"Wait for the edge to finish starting (it needs the identity provider's keys) or restart it, and look at its logs.")
	}
	return failed(fmt.Sprintf(`GET %s answered %d, not 200 {"status":"ok"}.`, u, r.status),
		"Point the public URL at the MCPbox edge, which answers GET /health itself.")
}

func healthOK(body string) bool {
	m, err := jsonObject(body)
	if err != nil {
		return false
	}
	s, _, err := stringField(m, "status")
	return err == nil && s == "ok"
}
