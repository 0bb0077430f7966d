package mcpclient

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/redact"
)

// Errors returned by Call for requests the API must refuse before anything
// is sent upstream.
var (
	// ErrHashMismatch: pinned_hash differs from the hash of definition and
	// manifest (409 hash_mismatch).
	ErrHashMismatch = errors.New("pinned_hash does not match the definition and manifest")
	// ErrInvalidRequest: a field is malformed (400 invalid_request).
	ErrInvalidRequest = errors.New("invalid request")
)

// Internal failure kinds, classified by upstreamError.
var (
	errProtocol          = errors.New("protocol error")
	errDefinitionChanged = errors.New("definition changed")
	errTooLarge          = errors.New("response too large")
)

// upstreamError classifies a failed operation (sandbox.md §13.4) from the
// SDK's error and what the HTTP layer observed. Every text is redacted.
func (c *Client) upstreamError(ctx context.Context, err error, obs *observer, red *redact.Redactor) *proto.UpstreamError {
	obs.mu.Lock()
	transportErr, status, wwwAuth, contentType, header, preview, tooLarge :=
		obs.transportErr, obs.status, obs.wwwAuth, obs.contentType, obs.header, obs.preview, obs.tooLarge
	obs.mu.Unlock()
	preview = []byte(red.String(string(preview))) // before any cut: no secret prefix survives

	e := classify(ctx, err, transportErr, status, contentType, header, preview, tooLarge, c.isEgressDenied)
	if e.Type == proto.ErrTypeAuthRequired {
		e.WWWAuthenticate = red.String(wwwAuth)
	}
	e.Message = red.String(e.Message)
	return e
}

func classify(ctx context.Context, err, transportErr error, status int, contentType string, header http.Header,
	preview []byte, tooLarge bool, isEgressDenied func(error) bool,
) *proto.UpstreamError {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	wire := rpcErrorOf(err)
	switch {
	case errors.Is(err, errDefinitionChanged):
		return &proto.UpstreamError{Type: proto.ErrTypeDefinitionChanged, Message: strings.TrimPrefix(err.Error(), errDefinitionChanged.Error()+": ")}
	case isEgressDenied != nil && (isEgressDenied(err) || (transportErr != nil && isEgressDenied(transportErr))):
		msg := err.Error()
		if transportErr != nil && isEgressDenied(transportErr) {
			msg = innermost(transportErr)
		}
		return &proto.UpstreamError{Type: proto.ErrTypeEgressDenied, Message: msg}
	case tooLarge || errors.Is(err, errTooLarge):
		return &proto.UpstreamError{Type: proto.ErrTypeResponseTooLarge, Message: fmt.Sprintf(
			"The MCP server's response is larger than %d MiB, the limit; ask for less data.", proto.MaxMCPResultBytes>>20)}
	case transportErr != nil && notDelivered(transportErr):
		return &proto.UpstreamError{Type: proto.ErrTypeConnectError, Message: "Could not connect to the MCP server (" +
			innermost(transportErr) + "); check the URL and that the server is reachable."}
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || isTimeout(transportErr):
		return &proto.UpstreamError{Type: proto.ErrTypeTimeout, Message: "The MCP server did not answer in time; try again or raise timeout_ms."}
	case transportErr != nil:
		return &proto.UpstreamError{Type: proto.ErrTypeConnectError, Message: "The connection to the MCP server failed (" +
			innermost(transportErr) + ")."}
	case status == http.StatusUnauthorized:
		return &proto.UpstreamError{Type: proto.ErrTypeAuthRequired, Status: status, Message: "The MCP server requires authorization (HTTP 401); " +
			"configure a token or connect with OAuth."}
	case status >= 300 && status < 400:
		return &proto.UpstreamError{Type: proto.ErrTypeRedirect, Status: status, Message: fmt.Sprintf(
			"The MCP server answered with a redirect (HTTP %d); redirects are not followed; update the source URL.", status)}
	case mediaType == "text/html" && isChallenge(header, preview):
		return &proto.UpstreamError{Type: proto.ErrTypeCloudflareChallenge, Status: status, Message: "The MCP server is behind a " +
			"bot challenge page (Cloudflare) that server-to-server clients cannot pass; use a token or OAuth, or ask the " +
			"server's operator to allow server-to-server traffic."}
	case wire != nil:
		code := int(wire.Code)
		return &proto.UpstreamError{
			Type: proto.ErrTypeRPCError, RPCCode: &code, Status: okStatus(status),
			Message: fmt.Sprintf("The MCP server returned JSON-RPC error %d: %s", wire.Code, wire.Message),
		}
	case status >= 400:
		return &proto.UpstreamError{Type: proto.ErrTypeHTTPError, Status: status, Message: fmt.Sprintf(
			"The MCP server answered HTTP %d: %s", status, previewText(preview))}
	case errors.Is(err, errProtocol):
		return &proto.UpstreamError{Type: proto.ErrTypeProtocolError, Message: "The server did not answer as an MCP server: " +
			strings.TrimPrefix(err.Error(), errProtocol.Error()+": ")}
	case mediaType != "" && mediaType != "application/json" && mediaType != "text/event-stream":
		return &proto.UpstreamError{Type: proto.ErrTypeProtocolError, Status: okStatus(status), Message: fmt.Sprintf(
			"The server did not answer as an MCP server: unexpected content type %q: %s", mediaType, previewText(preview))}
	default:
		return &proto.UpstreamError{Type: proto.ErrTypeProtocolError, Message: "The server did not answer as an MCP server: " + err.Error()}
	}
}

func okStatus(status int) int {
	if status >= 400 {
		return status
	}
	return 0
}

// isChallenge recognises a bot-challenge page (Cloudflare and look-alikes).
func isChallenge(header http.Header, preview []byte) bool {
	if strings.EqualFold(header.Get("Cf-Mitigated"), "challenge") {
		return true
	}
	body := strings.ToLower(string(preview))
	for _, marker := range []string{"cf-chl", "challenge-platform", "just a moment...", "attention required! | cloudflare", "cf-browser-verification"} {
		if strings.Contains(body, marker) {
			return true
		}
	}
	return false
}

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()))
}

// innermost returns the text of the innermost wrapped error: the cause
// without URLs (url.Error) or addresses (net.OpError) of the outer layers.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// previewText returns the first previewChars characters of a body.
func previewText(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if utf8.RuneCountInString(s) <= previewChars {
		return s
	}
	return string([]rune(s)[:previewChars])
}

// newRedactor redacts the values of the credential headers, and the
// credential part of "Scheme credential" values, from every text.
func newRedactor(headers map[string]string) *redact.Redactor {
	secrets := make([]redact.Secret, 0, 2*len(headers))
	for name, value := range headers {
		secrets = append(secrets, redact.Secret{Name: name, Value: value})
		if _, cred, ok := strings.Cut(value, " "); ok {
			secrets = append(secrets, redact.Secret{Name: name, Value: strings.TrimSpace(cred)})
		}
	}
	return redact.New(secrets, redact.Sandbox)
}

// rpcErrorOf returns the upstream's JSON-RPC error in err's tree, skipping
// the SDK's own "rejected by transport" marker (-32005), which it adds to
// HTTP failures that carried no JSON-RPC error.
func rpcErrorOf(err error) *jsonrpc.Error {
	switch e := err.(type) { //nolint:errorlint // walking the tree by hand.
	case nil:
		return nil
	case *jsonrpc.Error:
		if e.Code == -32005 && e.Message == "rejected by transport" {
			return nil
		}
		return e
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if w := rpcErrorOf(inner); w != nil {
				return w
			}
		}
		return nil
	case interface{ Unwrap() error }:
		return rpcErrorOf(e.Unwrap())
	}
	return nil
}
