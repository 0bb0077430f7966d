package egress

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto"
)

// FetchLimits are the caps of one /v1/fetch call (sandbox.md §12.6); the
// timeout is the request's timeout_ms.
func FetchLimits(timeout time.Duration) Limits {
	return Limits{
		MaxRequests: 1, MaxConcurrent: 1,
		MaxRequestBody: proto.MaxFetchRequestBodyBytes, MaxResponseBody: proto.MaxFetchResponseBodyBytes,
		RequestTimeout: timeout,
	}
}

// ValidateFetch checks a /v1/fetch body (sandbox.md §4.7) and returns its
// allowlist and timeout. Every failure is a *proto.RuleError naming the
// field (a 400); errors.Join of them when there are several.
func ValidateFetch(req proto.FetchRequest) (Allowlist, time.Duration, error) {
	var errs []error
	rule := func(field, format string, args ...any) {
		errs = append(errs, &proto.RuleError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if req.Method != http.MethodGet && req.Method != http.MethodPost {
		rule("method", "must be GET or POST.")
	}
	if req.URL == "" {
		rule("url", "is required: an http or https URL.")
	}
	if len(req.Body) > proto.MaxFetchRequestBodyBytes {
		rule("body", "at most %s.", byteSize(proto.MaxFetchRequestBodyBytes))
	}
	if req.TimeoutMS < 0 || req.TimeoutMS > proto.MaxFetchTimeoutMS {
		rule("timeout_ms", "must be from 1 to %d (omit it for %d).", proto.MaxFetchTimeoutMS, proto.DefaultFetchTimeoutMS)
	}
	if req.Purpose != proto.FetchOAuth && req.Purpose != proto.FetchSelfcheck {
		rule("purpose", "must be %q or %q.", proto.FetchOAuth, proto.FetchSelfcheck)
	}
	for name, v := range req.Headers {
		if _, err := ShapeHeader(http.Header{name: {v}}, SourceFetch); err != nil {
			rule("headers."+truncate(name, 64), "%s.", err.Error())
		}
	}
	allow, err := ParseAllowedHosts(req.AllowedHosts)
	if err != nil {
		errs = append(errs, err)
	}
	timeout := time.Duration(req.TimeoutMS) * time.Millisecond
	if req.TimeoutMS == 0 {
		timeout = proto.DefaultFetchTimeoutMS * time.Millisecond
	}
	return allow, timeout, errors.Join(errs...)
}

// Fetch is the core of POST /v1/fetch: one request under the caller's
// allowed_hosts with the fetch caps, redirects returned, not followed. The
// error is a validation failure (a 400, see ValidateFetch); anything that
// happened upstream is in the response: OK with any status when a response
// arrived, else Error of type EgressDenied, ConnectError or Timeout.
func (b *Broker) Fetch(ctx context.Context, req proto.FetchRequest) (proto.FetchResponse, error) {
	allow, timeout, err := ValidateFetch(req)
	if err != nil {
		return proto.FetchResponse{}, err
	}
	s := b.NewSession(allow, SourceFetch, FetchLimits(timeout))
	defer s.Close()
	header := make(http.Header, len(req.Headers))
	for k, v := range req.Headers {
		header.Set(k, v)
	}
	r := Request{Method: req.Method, URL: req.URL, Header: header, Timeout: timeout}
	if req.Body != "" {
		r.Body = []byte(req.Body)
	}
	resp, err := s.Do(ctx, r)
	if err != nil {
		return proto.FetchResponse{Headers: map[string][]string{}, Error: fetchError(err)}, nil
	}
	body := resp.Body
	if resp.Truncated {
		body = trimPartialRune(body)
	}
	headers := map[string][]string(resp.Header)
	if headers == nil {
		headers = map[string][]string{}
	}
	return proto.FetchResponse{
		OK: true, Status: resp.Status, Headers: headers,
		Body: string(body), BodyTruncated: resp.Truncated,
	}, nil
}

// fetchError maps a failed request to the error of a /v1/fetch response.
func fetchError(err error) *proto.UpstreamError {
	var be *BlockedError
	if errors.As(err, &be) {
		return &proto.UpstreamError{Type: proto.ErrTypeEgressDenied, Message: be.Error()}
	}
	if OutcomeOf(err) == OutcomeTimeout {
		return &proto.UpstreamError{Type: proto.ErrTypeTimeout, Message: err.Error()}
	}
	return &proto.UpstreamError{Type: proto.ErrTypeConnectError, Message: err.Error()}
}

// trimPartialRune drops an incomplete UTF-8 sequence the cut left at the end.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			return b
		}
	}
	return b
}
