package egress

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Default User-Agent values (sandbox.md §12.5).
const (
	// ToolUserAgent is sent when tool code sets no User-Agent.
	ToolUserAgent = "MCPbox-Tool/1"
	// ServiceUserAgent is sent by the parent's own requests (MCP, fetch)
	// when the caller sets none.
	ServiceUserAgent = "MCPbox/1"
)

// allowedMethod reports the methods the broker sends. CONNECT and TRACE
// are never sent.
func allowedMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// droppedHeader reports the request headers the broker never forwards
// (sandbox.md §12.5): Host (the URL decides), hop-by-hop and framing
// headers (recomputed by the transport), proxy headers, and
// Accept-Encoding, so the transport negotiates gzip and decodes it (caps
// then apply to decoded bytes).
func droppedHeader(canonical string) bool {
	switch canonical {
	case "Host", "Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding",
		"Upgrade", "Content-Length", "Expect", "Accept-Encoding":
		return true
	}
	return strings.HasPrefix(canonical, "Proxy-")
}

// ShapeHeader returns the headers to send for in: invalid names or values
// (CR, LF, NUL or other control characters) fail the request, dropped
// headers are removed, and User-Agent defaults by source.
func ShapeHeader(in http.Header, source Source) (http.Header, error) {
	out := make(http.Header, len(in)+1)
	for name, values := range in {
		if !validHeaderName(name) {
			return nil, &RequestError{Kind: OutcomeInvalid, Message: fmt.Sprintf(
				"invalid header: the name %q must be a token (letters, digits and !#$%%&'*+-.^_`|~)", truncate(name, 64))}
		}
		canonical := http.CanonicalHeaderKey(name)
		for _, v := range values {
			if !validHeaderValue(v) {
				return nil, &RequestError{Kind: OutcomeInvalid, Message: fmt.Sprintf(
					"invalid header: the value of %s holds CR, LF, NUL or another control character", canonical)}
			}
		}
		if droppedHeader(canonical) {
			continue
		}
		out[canonical] = append(out[canonical], values...)
	}
	if out.Get("User-Agent") == "" {
		ua := ServiceUserAgent
		if source == SourceTool {
			ua = ToolUserAgent
		}
		out.Set("User-Agent", ua)
	}
	return out, nil
}

// validHeaderName reports an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := range len(name) {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue refuses control characters other than horizontal tab.
func validHeaderValue(v string) bool {
	for i := range len(v) {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// truncate cuts s to n bytes for a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// prepare builds the outgoing request from the caller's method, URL,
// headers and body: method and header rules, the URL checks before DNS,
// the normalised URL (its host decides Host and SNI; a Host header or
// override is ignored).
func (s *Session) prepare(ctx context.Context, method, rawURL string, header http.Header, body io.Reader) (*http.Request, Target, error) {
	if !allowedMethod(method) {
		return nil, Target{}, &RequestError{Kind: OutcomeInvalid, Message: fmt.Sprintf(
			"invalid method %q: use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS", truncate(method, 32))}
	}
	h, err := ShapeHeader(header, s.source)
	if err != nil {
		return nil, Target{}, err
	}
	t, err := s.policy.CheckURL(rawURL)
	if err != nil {
		return nil, Target{}, err
	}
	out, err := http.NewRequestWithContext(ctx, method, t.URL.String(), body)
	if err != nil {
		return nil, Target{}, &RequestError{Kind: OutcomeInvalid, Message: "the request could not be built from the URL", Err: err}
	}
	out.URL, out.Host = t.URL, t.URL.Host // exactly the checked URL
	out.Header = h
	return out, t, nil
}
