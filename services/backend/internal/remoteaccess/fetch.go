package remoteaccess

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

// requestTimeoutMS is the limit of each request of the check
// (admin-ui.md §11.11).
const requestTimeoutMS = 10_000

// fetcher sends the check's requests through the sandbox's brokered fetch
// (sandbox.md §4.7): the backend never dials an edge or an identity
// provider itself, so the sandbox's SSRF rules apply and LAN deployments
// can be checked.
type fetcher struct {
	sandbox   *sandboxclient.Client
	requestID string
}

// reply is an HTTP answer, whatever its status.
type reply struct {
	status    int
	header    http.Header
	body      string
	truncated bool
}

// location is the Location of a redirect, or false when r is not one.
func (r reply) location() (string, bool) {
	if r.status < 300 || r.status > 399 {
		return "", false
	}
	return r.header.Get("Location"), true
}

// noReply is a request that got no HTTP answer: what happened and what to
// do about it, in the words of a step.
type noReply struct {
	observed, fix string
}

// fetch sends one request to u, allowing exactly u's host, and returns the
// answer or why none arrived.
func (f *fetcher) fetch(ctx context.Context, method string, u *url.URL, headers map[string]string, body string) (reply, *noReply) {
	host := strings.ToLower(u.Hostname())
	resp, err := f.sandbox.Fetch(ctx, proto.FetchRequest{
		RequestID: f.requestID, Method: method, URL: u.String(), Headers: headers, Body: body,
		AllowedHosts: proto.OnlyHosts(host), TimeoutMS: requestTimeoutMS, Purpose: proto.FetchSelfcheck,
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return reply{}, &noReply{
			observed: fmt.Sprintf("%s %s: no answer before the check's %d s limit", method, u, int(checkLimit.Seconds())),
			fix:      "Something answers too slowly; run the check again and look at the step that stalled.",
		}
	case err != nil:
		return reply{}, &noReply{
			observed: fmt.Sprintf("%s %s: MCPbox's sandbox did not send the request (%v)", method, u, err),
			fix: "The check sends every request through the sandbox; make sure it is running (Settings › System status) " +
				"and run the check again.",
		}
	case !resp.OK:
		return reply{}, upstreamFailure(method, u, resp.Error)
	}
	h := make(http.Header, len(resp.Headers))
	for k, vs := range resp.Headers {
		key := http.CanonicalHeaderKey(k)
		h[key] = append(h[key], vs...)
	}
	return reply{status: resp.Status, header: h, body: resp.Body, truncated: resp.BodyTruncated}, nil
}

// upstreamFailure explains a fetch that reached no server.
func upstreamFailure(method string, u *url.URL, e *proto.UpstreamError) *noReply {
	host := u.Hostname()
	msg := "no detail"
	var typ proto.SandboxErrorType
	if e != nil {
		typ, msg = e.Type, clip(e.Message, 300)
	}
	switch typ {
	case proto.ErrTypeEgressDenied:
		return &noReply{
			observed: fmt.Sprintf("%s %s: the sandbox refused to contact %s: %s", method, u, host, msg),
			fix: "The sandbox never contacts loopback or cloud-metadata addresses, and reaches a private (LAN) address only " +
				"through an IP address or a private-looking name (.lan, .local, .internal, .home.arpa); " +
				"use such an address, or make " + host + " resolve to a public address.",
		}
	case proto.ErrTypeTimeout:
		return &noReply{
			observed: fmt.Sprintf("%s %s: no answer within %d s", method, u, requestTimeoutMS/1000),
			fix:      "Check that the service at " + host + " is up and that no firewall drops the connection.",
		}
	default:
		return &noReply{
			observed: fmt.Sprintf("%s %s: could not connect: %s", method, u, msg),
			fix: "Check that " + host + " resolves (DNS), that the service listens on port " + portOf(u) +
				" and that its TLS certificate is valid for " + host + ".",
		}
	}
}

// portOf is u's port, defaulted from the scheme.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}
