package sandboxapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/ipc"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/pool"
)

// withCode replaces the code of a valid body and re-pins it.
func withCode(t *testing.T, m map[string]any, src string) map[string]any {
	t.Helper()
	hash, err := canon.HashGo(src, m["manifest"].(proto.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	m["code"], m["pinned_hash"] = src, hash
	return m
}

func decodeResponse(t *testing.T, status int, raw string) proto.ExecuteResponse {
	t.Helper()
	var resp proto.ExecuteResponse
	if status != http.StatusOK || json.Unmarshal([]byte(raw), &resp) != nil {
		t.Fatalf("status %d: %s", status, raw)
	}
	return resp
}

const daysTool = "package tool\n\nimport \"context\"\n\ntype Input struct {\n\tDays int `json:\"days\"`\n}\n\n// Main counts days.\nfunc Main(ctx context.Context, in Input) (int, error) { return in.Days, nil }\n"

// SB-62 (API layer): arguments violating the schema are InvalidArguments
// naming the path; no worker is used.
func TestInvalidArgumentsNeedNoWorker(t *testing.T) {
	t.Parallel()
	srv := server(t)
	for _, args := range []map[string]any{{"days": "three"}, {}, {"days": 1, "extra": true}} {
		m := withCode(t, valid(t), daysTool)
		m["arguments"] = args
		status, _, raw := post(t, srv, marshal(t, m))
		resp := decodeResponse(t, status, raw)
		if resp.OK || resp.Error == nil || resp.Error.Type != proto.ErrTypeInvalidArguments || resp.Worker != nil ||
			!strings.HasPrefix(resp.ContentText, "InvalidArguments: ") {
			t.Errorf("args %v: %s", args, raw)
		}
	}
}

// SB-28 and SB-68 (API layer): analysis refusals end the request with
// ok:false and no worker; an opt-in import not listed gets the request hint.
func TestAnalysisRefusalsNeedNoWorker(t *testing.T) {
	t.Parallel()
	srv := server(t)
	cases := map[string]string{
		"package tool\nfunc {": "SyntaxError",
		strings.Replace(code, `import "context"`, "import (\n\t\"context\"\n\t\"compress/gzip\"\n)\n\nvar _ = gzip.NewReader", 1): "ImportError",
	}
	for src, typ := range cases {
		m := withCode(t, valid(t), src)
		m["extra_packages"] = []string{}
		status, _, raw := post(t, srv, marshal(t, m))
		resp := decodeResponse(t, status, raw)
		if resp.OK || resp.Error == nil || string(resp.Error.Type) != typ || resp.Worker != nil {
			t.Errorf("%s: %s", typ, raw)
		}
		if typ == "ImportError" && !strings.Contains(resp.Error.Message, "mcpbox_request_package") {
			t.Errorf("ImportError without the request hint: %s", resp.Error.Message)
		}
	}
}

// fakePool is a hand-written Executor returning a fixed outcome.
type fakePool struct {
	out      pool.Outcome
	err      error
	got      pool.Job
	mu       sync.Mutex
	outcomes []string
}

func (f *fakePool) Execute(_ context.Context, job pool.Job) (pool.Outcome, error) {
	f.got = job
	return f.out, f.err
}

func (f *fakePool) RecordExecution(outcome string, _ time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outcomes = append(f.outcomes, outcome)
}

func TestRespondSuccess(t *testing.T) {
	t.Parallel()
	req := proto.ExecuteRequest{Code: code}
	str := respond(req, pool.Outcome{Result: &ipc.Result{OK: true, JSON: []byte(`"hello <b>"`)}, Duration: time.Millisecond})
	if !str.OK || str.Structured || str.ContentText != "hello <b>" || string(str.Result) != `"hello <b>"` {
		t.Errorf("string result: %+v", str)
	}
	obj := respond(req, pool.Outcome{Result: &ipc.Result{OK: true, JSON: []byte(`{"a": [1, 2]}`)}})
	if !obj.OK || !obj.Structured || obj.ContentText != `{"a":[1,2]}` {
		t.Errorf("object result: %+v", obj)
	}
	big := respond(req, pool.Outcome{Result: &ipc.Result{OK: true, JSON: []byte(`[` + strings.Repeat(`1,`, 1<<20) + `1]`)}})
	if big.OK || big.Error.Type != proto.ErrTypeOutputLimitExceeded || string(big.Result) != "null" {
		t.Errorf("oversized result: ok %v error %+v", big.OK, big.Error)
	}
}

// SB-43 and SB-71 (API layer): secrets are redacted in the result (values
// and keys), stdout, the error message and context; a secret straddling the
// stdout cap leaks no prefix; redact:false keeps values verbatim (SB-72).
func TestRespondRedacts(t *testing.T) {
	t.Parallel()
	secret := "tok-1234567890"
	req := proto.ExecuteRequest{Code: code, Secrets: map[string]*string{"API_KEY": &secret, "UNSET": nil}}
	out := respond(req, pool.Outcome{
		Result: &ipc.Result{OK: true, JSON: []byte(`{"` + secret + `":"x ` + secret + `"}`)},
		Stdout: []byte("printed " + secret + "\n"),
	})
	if strings.Contains(string(out.Result)+out.Stdout+out.ContentText, secret) {
		t.Errorf("secret leaked: %s / %s", out.Result, out.Stdout)
	}
	failed := respond(req, pool.Outcome{Result: &ipc.Result{Error: &ipc.ResultError{Type: proto.ErrTypePanic, Message: "panic: " + secret, Line: 8}}})
	if failed.OK || strings.Contains(failed.Error.Message+failed.ContentText, secret) || failed.Error.Context == nil {
		t.Errorf("error leaked or lacks context: %+v", failed.Error)
	}
	straddle := strings.Repeat("x", proto.MaxStdoutBytes-5) + secret
	capped := respond(req, pool.Outcome{Result: &ipc.Result{OK: true, JSON: []byte(`1`)}, Stdout: []byte(straddle)})
	if strings.Contains(capped.Stdout, secret[:5]) || !capped.StdoutTruncated {
		t.Errorf("a prefix of the secret survived the stdout cap: %q", capped.Stdout[len(capped.Stdout)-60:])
	}
	off := false
	req.Redact = &off
	verbatim := respond(req, pool.Outcome{Result: &ipc.Result{OK: true, JSON: []byte(`"` + secret + `"`)}})
	if verbatim.ContentText != secret {
		t.Errorf("redact:false changed the result: %q", verbatim.ContentText)
	}
}

// An error tied to an HTTP call carries the parent's record of it; a broker
// refusal is EgressDenied only because the parent's record says so.
func TestRespondHTTPFailureAndEgressDenied(t *testing.T) {
	t.Parallel()
	req := proto.ExecuteRequest{Code: code}
	calls := []pool.Call{
		{ID: 1, Method: "GET", URL: "https://api.example.com/x", Status: 503, Header: map[string][]string{"Retry-After": {"3"}, "Set-Cookie": {"s"}}, Preview: "busy"},
		{ID: 2, Method: "GET", URL: "http://10.0.0.1/", Err: &egress.BlockedError{Host: "10.0.0.1", Reason: egress.Reason("private_address")}},
	}
	tool := respond(req, pool.Outcome{Calls: calls, Result: &ipc.Result{Error: &ipc.ResultError{Type: proto.ErrTypeToolError, Message: "upstream busy", HTTPID: 1}}})
	if tool.Error.Type != proto.ErrTypeToolError || tool.Error.HTTP == nil || tool.Error.HTTP.Status != 503 ||
		tool.Error.HTTP.Headers["retry-after"] != "3" || tool.Error.HTTP.Headers["set-cookie"] != "" ||
		!strings.Contains(tool.ContentText, "HTTP 503 from GET https://api.example.com/x") {
		t.Errorf("tool error: %+v\n%s", tool.Error, tool.ContentText)
	}
	denied := respond(req, pool.Outcome{Calls: calls, Result: &ipc.Result{Error: &ipc.ResultError{Type: proto.ErrTypeToolError, Message: "blocked", HTTPID: 2}}})
	if denied.Error.Type != proto.ErrTypeEgressDenied {
		t.Errorf("refusal not confirmed as EgressDenied: %+v", denied.Error)
	}
	forged := respond(req, pool.Outcome{Calls: calls, Result: &ipc.Result{Error: &ipc.ResultError{Type: proto.ErrTypeToolError, Message: "blocked", HTTPID: 1}}})
	if forged.Error.Type == proto.ErrTypeEgressDenied {
		t.Error("a worker claim without a parent refusal became EgressDenied")
	}
}

func TestExecuteThroughAnExecutor(t *testing.T) {
	t.Parallel()
	fp := &fakePool{out: pool.Outcome{Result: &ipc.Result{OK: true, JSON: []byte(`"hi"`)}}}
	srv := serverWith(t, fp)
	status, _, raw := post(t, srv, marshal(t, valid(t)))
	resp := decodeResponse(t, status, raw)
	if !resp.OK || resp.ContentText != "hi" || fp.got.Timeout != 30*time.Second || fp.got.MemoryMB != 128 ||
		fp.got.InputType != "Input" || fp.got.Egress == nil || *fp.got.Secrets["API_KEY"] != "k-12345678" {
		t.Errorf("response %s, job %+v", raw, fp.got)
	}
	fp.out, fp.err = pool.Outcome{}, errors.Join(pool.ErrSaturated)
	status, eb, _ := post(t, srv, marshal(t, valid(t)))
	if status != http.StatusTooManyRequests || eb.Error.Code != proto.CodeSaturated {
		t.Errorf("saturated: %d %+v", status, eb)
	}
	m := valid(t)
	m["code"] = code + " "
	post(t, srv, marshal(t, m))
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if strings.Join(fp.outcomes, ",") != "ok,saturated,hash_mismatch" {
		t.Errorf("recorded outcomes %v", fp.outcomes)
	}
}
