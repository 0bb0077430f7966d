package sandboxclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// interpret classifies an answer of the sandbox (sandbox.md §4.1) and, for
// a 200 (or a readiness 503), decodes body into out and checks it with
// valid. It returns nil when out holds a valid answer.
func interpret(op Op, status int, h http.Header, body []byte, readiness bool, out any, valid func(status int) error) *Error {
	switch {
	case status == http.StatusOK || (readiness && status == http.StatusServiceUnavailable):
		err := decodeAnswer(body, out)
		if err == nil {
			err = valid(status)
		}
		switch {
		case err == nil:
			return nil
		case status != http.StatusOK: // a 503 without a readiness body: plain unavailability
			return &Error{Op: op, Kind: Unavailable, HTTPStatus: status, RetryAfter: retryAfter(h, 0), Remote: remoteError(body), Err: err}
		}
		return &Error{Op: op, Kind: Malformed, HTTPStatus: status, Err: err}
	case status == http.StatusTooManyRequests:
		return &Error{
			Op: op, Kind: Busy, HTTPStatus: status,
			RetryAfter: retryAfter(h, defaultBusyRetryAfter), Remote: remoteError(body),
		}
	case status >= 500 && status <= 599:
		return &Error{Op: op, Kind: Unavailable, HTTPStatus: status, RetryAfter: retryAfter(h, 0), Remote: remoteError(body)}
	case status >= 400 && status <= 499:
		remote := remoteError(body)
		if remote == nil {
			return &Error{Op: op, Kind: Malformed, HTTPStatus: status, Err: errors.New(
				"the error answer lacks the envelope {\"error\":{\"code\",\"message\"}} of sandbox.md §4.1")}
		}
		return &Error{Op: op, Kind: Refused, HTTPStatus: status, Remote: remote}
	}
	return &Error{Op: op, Kind: Malformed, HTTPStatus: status, Err: fmt.Errorf(
		"unexpected status %d: the sandbox answers 200 or an error status (sandbox.md §4.1)", status)}
}

// decodeAnswer decodes exactly one JSON value into out. Unknown fields are
// allowed, so a newer sandbox may add fields; syntax errors, wrong types
// and trailing data are not.
func decodeAnswer(body []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("decode the answer: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("decode the answer: trailing data after the JSON value")
	}
	return nil
}

// remoteError decodes the error envelope of sandbox.md §4.1, or returns nil
// when body is not one (or has no code).
func remoteError(body []byte) *proto.Error {
	var eb proto.ErrorBody
	if decodeAnswer(body, &eb) != nil || eb.Error.Code == "" {
		return nil
	}
	return &eb.Error
}

// retryAfter reads a Retry-After header (delay seconds or an HTTP date),
// capped at maxRetryAfter and rounded up to whole seconds; def when absent
// or unusable.
func retryAfter(h http.Header, def time.Duration) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return def
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return def
		}
		d = time.Duration(min(n, int(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t).Round(time.Second)
	} else {
		return def
	}
	return min(max(d, time.Second), maxRetryAfter)
}

// Contract checks of the answers (sandbox.md §4). They catch a sandbox that
// decodes but means something else, so callers can trust the fields they
// branch on.

func validAnalyze(r *proto.AnalyzeResponse) error {
	if !strings.HasPrefix(r.CodeSHA256, "sha256:") {
		return errors.New(`code_sha256 must start with "sha256:"`)
	}
	if r.AnalyzerVersion == "" {
		return errors.New("analyzer_version is empty")
	}
	hasError := false
	for i, d := range r.Diagnostics {
		switch d.Severity {
		case proto.SeverityError:
			hasError = true
		case proto.SeverityWarning:
		default:
			return fmt.Errorf("diagnostics[%d].severity must be error or warning", i)
		}
	}
	if r.OK == hasError {
		return errors.New("ok must be true exactly when no diagnostic has severity error")
	}
	for i, im := range r.Imports {
		if im.Path == "" {
			return fmt.Errorf("imports[%d].path is empty", i)
		}
	}
	return nil
}

func validExecute(r *proto.ExecuteResponse) error {
	switch {
	case r.OK && r.Error != nil:
		return errors.New("ok is true but error is set")
	case !r.OK && r.Error == nil:
		return errors.New("ok is false but error is null")
	case r.Error != nil && r.Error.Type == "":
		return errors.New("error.type is empty")
	}
	return nil
}

func validDiscover(r *proto.DiscoverResponse) error {
	switch {
	case !r.OK && r.Error == nil:
		return errors.New("ok is false but error is null")
	case r.Error != nil && r.Error.Type == "":
		return errors.New("error.type is empty")
	}
	for i, t := range r.Tools {
		if t.Name == "" {
			return fmt.Errorf("tools[%d].name is empty", i)
		}
	}
	return nil
}

func validFetch(r *proto.FetchResponse) error {
	switch {
	case r.OK && r.Error != nil:
		return errors.New("ok is true but error is set")
	case r.OK && (r.Status < 100 || r.Status > 599):
		return errors.New("ok is true but status is not an HTTP status")
	case !r.OK && r.Error == nil:
		return errors.New("ok is false but error is null")
	case r.Error != nil && r.Error.Type == "":
		return errors.New("error.type is empty")
	}
	return nil
}

func validCatalogue(r *proto.PackageCatalogue) error {
	if r.CatalogueVersion == "" {
		return errors.New("catalogue_version is empty")
	}
	for i, p := range r.Packages {
		if p.Path == "" {
			return fmt.Errorf("packages[%d].path is empty", i)
		}
		switch p.Tier {
		case proto.TierDefault, proto.TierOptIn, proto.TierNever:
		default:
			return fmt.Errorf("packages[%d].tier must be default, opt_in or never", i)
		}
	}
	return nil
}

// validReadiness also checks the status code: 200 exactly when ready
// (sandbox.md §4.8).
func validReadiness(r *proto.SandboxReadiness, status int) error {
	switch r.Status {
	case proto.ReadinessReady, proto.ReadinessStarting, proto.ReadinessDraining, proto.ReadinessNotReady:
	default:
		return errors.New("status must be ready, starting, draining or not_ready")
	}
	if (status == http.StatusOK) != (r.Status == proto.ReadinessReady) {
		return fmt.Errorf("HTTP %d does not agree with status %q", status, r.Status)
	}
	switch r.Isolation {
	case proto.IsolationFull, proto.IsolationDegraded:
	default:
		return errors.New("isolation must be full or degraded")
	}
	if r.Warm < 0 || r.Busy < 0 || r.Starting < 0 || r.Queued < 0 {
		return errors.New("a pool count is negative")
	}
	return nil
}
