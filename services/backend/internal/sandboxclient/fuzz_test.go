package sandboxclient

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// FuzzInterpret feeds arbitrary answers (status, Retry-After, body) to the
// parser of every op: it never panics, returns nil only for a 200 (or a
// readiness 503) whose body passed the contract check, and classifies by
// status exactly as backend.md §11.1 says.
func FuzzInterpret(f *testing.F) {
	for _, seed := range []struct {
		status int
		retry  string
		body   string
	}{
		{200, "", `{"ok":true,"code_sha256":"sha256:00","analyzer_version":"sandbox dev; catalogue cat-1","diagnostics":[]}`},
		{200, "", `{"ok":false,"error":{"type":"ToolError","message":"boom"},"result":null}`},
		{200, "", `{"ok":true,"status":401,"headers":{"Www-Authenticate":["Bearer"]},"body":""}`},
		{200, "", `{"catalogue_version":"cat-1","packages":[{"path":"fmt","tier":"default"}]}`},
		{200, "", `{"status":"ready","isolation":"full","warm":1}`},
		{503, "2", `{"status":"starting","isolation":"degraded"}`},
		{503, "", `{"error":{"code":"not_ready","message":"starting"}}`},
		{429, "1", `{"error":{"code":"saturated","message":"retry shortly"}}`},
		{429, "Wed, 21 Oct 2015 07:28:00 GMT", ``},
		{409, "", `{"error":{"code":"hash_mismatch","message":"pinned_hash"}}`},
		{400, "", `{"error":{"code":"invalid_request","message":"x","field":"limits.timeout_ms"}}`},
		{400, "", `not json`},
		{200, "", `{"ok":true} trailing`},
		{200, "", `[1,2,3]`},
		{302, "", ``},
		{200, "", `{"ok":true,"error":null,"result":{"a":[1,{"b":null}]},"worker":{"exit":"code:0"}}`},
	} {
		f.Add(seed.status, seed.retry, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, status int, retry string, body []byte) {
		h := http.Header{}
		if retry != "" && !strings.ContainsAny(retry, "\r\n") {
			h.Set("Retry-After", retry)
		}
		for _, op := range ops() {
			var out any
			var valid func(int) error
			switch op {
			case OpAnalyze:
				var r proto.AnalyzeResponse
				out, valid = &r, func(int) error { return validAnalyze(&r) }
			case OpExecute:
				var r proto.ExecuteResponse
				out, valid = &r, func(int) error { return validExecute(&r) }
			case OpDiscover:
				var r proto.DiscoverResponse
				out, valid = &r, func(int) error { return validDiscover(&r) }
			case OpFetch:
				var r proto.FetchResponse
				out, valid = &r, func(int) error { return validFetch(&r) }
			case OpPackages:
				var r proto.PackageCatalogue
				out, valid = &r, func(int) error { return validCatalogue(&r) }
			case OpReadyz:
				var r proto.SandboxReadiness
				out, valid = &r, func(s int) error { return validReadiness(&r, s) }
			}
			readiness := op == OpReadyz
			e := interpret(op, status, h, body, readiness, out, valid)
			if e == nil {
				if status != http.StatusOK && (!readiness || status != http.StatusServiceUnavailable) {
					t.Fatalf("%s: status %d accepted as an answer", op, status)
				}
				if valid(status) != nil {
					t.Fatalf("%s: an answer that breaks the contract was accepted", op)
				}
				continue
			}
			if e.Op != op || e.HTTPStatus != status {
				t.Fatalf("%s: error %v names op %s status %d", op, e, e.Op, e.HTTPStatus)
			}
			var want Kind
			switch {
			case status == http.StatusOK:
				want = Malformed
			case status == http.StatusTooManyRequests:
				want = Busy
			case status >= 500 && status <= 599:
				want = Unavailable
			case status >= 400 && status <= 499:
				want = Refused
				if e.Kind == Malformed {
					want = Malformed // no error envelope
				}
			default:
				want = Malformed
			}
			if e.Kind != want {
				t.Fatalf("%s: status %d gave kind %v, want %v", op, status, e.Kind, want)
			}
			if e.Kind == Refused && (e.Remote == nil || e.Remote.Code == "") {
				t.Fatalf("%s: Refused without the sandbox's error code", op)
			}
			if e.Kind == Busy && (e.RetryAfter <= 0 || e.RetryAfter > maxRetryAfter) {
				t.Fatalf("%s: Busy with RetryAfter %v", op, e.RetryAfter)
			}
			if !errors.Is(e, kindSentinel(e.Kind)) || e.Error() == "" || e.Message() == "" {
				t.Fatalf("%s: %v does not describe itself", op, e)
			}
		}
	})
}

func kindSentinel(k Kind) error {
	switch k {
	case Unavailable:
		return ErrUnavailable
	case Busy:
		return ErrBusy
	case Malformed:
		return ErrMalformed
	}
	return ErrRefused
}
