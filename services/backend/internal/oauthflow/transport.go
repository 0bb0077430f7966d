package oauthflow

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

// fetchTransport is the http.RoundTripper handed to oauth2 and the go-sdk:
// each request becomes one POST /v1/fetch (sandbox.md §4.7) with purpose
// oauth. A request to the source's own origin carries own (the
// allowed_hosts of discovery, §13.2); any other carries null, so only
// public addresses can be reached through what metadata names.
//
// The libraries flatten transport errors into text, so the transport also
// keeps the last failure of the current step (see reset and failed): the
// service reports a sandbox outage as one and an upstream refusal with its
// host and reason.
type fetchTransport struct {
	sandbox *sandboxclient.Client
	origin  string
	own     proto.AllowedHosts

	mu   sync.Mutex
	last error
}

// newFetchClient returns the transport for requests on behalf of src and
// an http.Client over it that never follows a redirect (the response is
// handed back as is).
func (s *Service) newFetchClient(src source) (*fetchTransport, *http.Client) {
	t := &fetchTransport{sandbox: s.d.Sandbox, origin: src.origin, own: src.own}
	return t, &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// RoundTrip implements http.RoundTripper.
func (t *fetchTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		defer func() { _ = r.Body.Close() }()
	}
	resp, err := t.roundTrip(r)
	if err != nil {
		t.mu.Lock()
		t.last = err
		t.mu.Unlock()
	}
	return resp, err
}

func (t *fetchTransport) roundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Host
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, &fetchError{Host: host, Reason: "method " + r.Method + " cannot be brokered (GET and POST only)"}
	}
	req := proto.FetchRequest{
		Method: r.Method, URL: r.URL.String(), Headers: map[string]string{},
		AllowedHosts: t.allowedHosts(r.URL), TimeoutMS: proto.DefaultFetchTimeoutMS, Purpose: proto.FetchOAuth,
	}
	for name, values := range r.Header {
		req.Headers[name] = strings.Join(values, ", ")
	}
	if r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, proto.MaxFetchRequestBodyBytes+1))
		if err != nil {
			return nil, fmt.Errorf("read the request body for %s: %w", host, err)
		}
		if len(body) > proto.MaxFetchRequestBodyBytes {
			return nil, &fetchError{Host: host, Reason: "the request body is over 64 KiB"}
		}
		req.Body = string(body)
	}
	out, err := t.sandbox.Fetch(r.Context(), req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", host, err)
	}
	if !out.OK {
		f := &fetchError{Host: host, Reason: "no response"}
		if out.Error != nil {
			f.Type, f.Reason = out.Error.Type, out.Error.Message
		}
		return nil, f
	}
	if out.BodyTruncated {
		return nil, &fetchError{Host: host, Reason: "the response is over 1 MiB"}
	}
	header := make(http.Header, len(out.Headers))
	for name, values := range out.Headers {
		header[http.CanonicalHeaderKey(name)] = values
	}
	return &http.Response{
		Status: strconv.Itoa(out.Status) + " " + http.StatusText(out.Status), StatusCode: out.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: header,
		Body: io.NopCloser(strings.NewReader(out.Body)), ContentLength: int64(len(out.Body)), Request: r,
	}, nil
}

// allowedHosts is own for the source's origin, else null (public only).
func (t *fetchTransport) allowedHosts(u *url.URL) proto.AllowedHosts {
	if originOf(u) == t.origin && t.origin != "" {
		return t.own
	}
	return proto.AnyPublicHost()
}

// reset forgets the failures of the previous step.
func (t *fetchTransport) reset() {
	t.mu.Lock()
	t.last = nil
	t.mu.Unlock()
}

// failed returns the last failure since reset (nil: none).
func (t *fetchTransport) failed() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// sandboxDown returns the last failure when it is the sandbox's own (it
// did not perform the request), else nil.
func (t *fetchTransport) sandboxDown() error {
	var se *sandboxclient.Error
	if err := t.failed(); errors.As(err, &se) {
		return err
	}
	return nil
}

// fetchError is a brokered request that got no usable response.
type fetchError struct {
	Host string
	// Type is the sandbox's error type (EgressDenied, ConnectError,
	// Timeout), "" for a failure of the transport itself.
	Type   proto.SandboxErrorType
	Reason string
}

// Error names the host, the type and the reason.
func (f *fetchError) Error() string {
	msg := "the request to " + f.Host + " failed"
	if f.Type != "" {
		msg += " (" + string(f.Type) + ")"
	}
	msg += ": " + f.Reason
	if f.Type == proto.ErrTypeEgressDenied {
		msg += "; authorization servers must have public addresses, and a private source host needs an approved " +
			"network request of its server"
	}
	return msg
}

// originOf is scheme://host:port with the default port filled in and the
// host lowercased ("" for a URL without scheme or host).
func originOf(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	if scheme == "" || host == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
