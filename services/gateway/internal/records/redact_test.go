package records_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/records"
)

// planSecret is a plan's secret value in the tests.
const planSecret = "pl4n-s3cret-V4LUE"

// GW-76 (record level): the sensitive-key values and the plan secret are
// [REDACTED], a 5,000-character string is cut to 1,000 plus the marker, key
// order and a big integer survive, and the record's other fields (caller,
// tool id, version, via, duration, outcome) pass through unchanged.
func TestGW76_PrepareRedactsAndTruncatesARecord(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 5000)
	args := `{"query":"weather","api_key":"k-123","headers":{"Authorization":"Bearer abc","Accept":"json"},` +
		`"login":{"user":"ann","password":"hunter2"},"note":"token is ` + planSecret + `!",` +
		`"big":9007199254740993,"long":"` + long + `"}`
	rec := proto.ExecutionRecord{
		ID: "0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6", RequestID: "req-1",
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DurationMS: 42,
		ToolID: "11111111-1111-4111-8111-111111111111", ServerID: "22222222-2222-4222-8222-222222222222",
		ToolVersion: 3, ToolHash: "sha256:ab", ExposedName: "weather__forecast", Via: proto.ViaRunTool,
		Caller:  proto.Caller{Kind: proto.CallerRemote, Email: "ann@example.com", Sub: "sub-1"},
		Success: false, ErrorCode: "tool_error",
		Error:     "auth failed with " + planSecret,
		InputArgs: json.RawMessage(args),
		Result:    json.RawMessage(`{"echo":"` + planSecret + `","n":9007199254740993}`),
		Stdout:    "sending " + base64.StdEncoding.EncodeToString([]byte("user:"+planSecret)) + "\n",
	}
	got := records.Prepare(rec, []string{planSecret, "short"})

	wantArgs := `{"query":"weather","api_key":"[REDACTED]","headers":{"Authorization":"[REDACTED]","Accept":"json"},` +
		`"login":{"user":"ann","password":"[REDACTED]"},"note":"token is [REDACTED]!",` +
		`"big":9007199254740993,"long":"` + strings.Repeat("x", 1000) + `…[truncated 4000 chars]"}`
	if string(got.InputArgs) != wantArgs {
		t.Errorf("input_args:\n got %s\nwant %s", got.InputArgs, wantArgs)
	}
	if want := `{"echo":"[REDACTED]","n":9007199254740993}`; string(got.Result) != want {
		t.Errorf("result = %s, want %s", got.Result, want)
	}
	if want := "auth failed with [REDACTED]"; got.Error != want {
		t.Errorf("error = %q, want %q", got.Error, want)
	}
	if strings.Contains(got.Stdout, base64.StdEncoding.EncodeToString([]byte(planSecret))[:12]) ||
		!strings.Contains(got.Stdout, "[REDACTED]") {
		t.Errorf("stdout keeps the base64 form of the secret: %q", got.Stdout)
	}
	// Everything else is the record as built.
	got.InputArgs, got.Result, got.Error, got.Stdout = rec.InputArgs, rec.Result, rec.Error, rec.Stdout
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(rec)
	if string(a) != string(b) {
		t.Errorf("other fields changed:\n got %s\nwant %s", a, b)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, in, want string }{
		{
			"order, duplicates and numbers survive", `{"b":1,"a":{"z":true,"y":null},"b":[1.50,-0,1e400,"x"]}`,
			`{"b":1,"a":{"z":true,"y":null},"b":[1.50,-0,1e400,"x"]}`,
		},
		{"whitespace is compacted", " {\n \"a\" : [ 1 , 2 ] }\n", `{"a":[1,2]}`},
		{
			"sensitive values of any type", `{"token":{"a":[1,2]},"secret":null,"session":7,"author":"me"}`,
			`{"token":"[REDACTED]","secret":"[REDACTED]","session":"[REDACTED]","author":"me"}`,
		},
		{
			"sensitive keys inside arrays", `[{"clientSecret":"x"},{"X-Auth-Token":"y","monkey":"z"}]`,
			`[{"clientSecret":"[REDACTED]"},{"X-Auth-Token":"[REDACTED]","monkey":"z"}]`,
		},
		{"secret in a key", `{"` + planSecret + `":1}`, `{"[REDACTED]":1}`},
		{"secret in a key that becomes sensitive", `{"x` + planSecret + `":{"deep":1}}`, `{"x[REDACTED]":{"deep":1}}`},
		{"HTML characters stay", `{"h":"<b>&amp;</b>","u":"\u2028"}`, `{"h":"<b>&amp;</b>","u":"\u2028"}`},
		{"scalar", `"say ` + planSecret + `"`, `"say [REDACTED]"`},
		{"null", `null`, `null`},
		{"no truncation", `"` + strings.Repeat("é", 2000) + `"`, `"` + strings.Repeat("é", 2000) + `"`},
		{"empty", "", ""},
		{"blank", " \n", ""},
		{"invalid", `{"password":"hunter2"`, `{"_invalid_json":true,"_bytes":21}`},
		{"trailing data", `{} {}`, `{"_invalid_json":true,"_bytes":5}`},
		{"trailing comma", `[1,]`, `{"_invalid_json":true,"_bytes":4}`},
	} {
		got := records.Redact(json.RawMessage(c.in), []string{planSecret})
		if string(got) != c.want {
			t.Errorf("%s: Redact(%s) = %s, want %s", c.name, c.in, got, c.want)
		}
		if c.want == "" && got != nil {
			t.Errorf("%s: Redact(%q) = %q, want nil", c.name, c.in, got)
		}
	}
}

// Every form of proto/redact is found, here the secret inside a Basic
// credential.
func TestRedactFindsEncodedSecrets(t *testing.T) {
	t.Parallel()
	basic := base64.StdEncoding.EncodeToString([]byte("u:" + planSecret))
	got := string(records.Redact(json.RawMessage(`["Basic `+basic+`"]`), []string{planSecret}))
	if !strings.Contains(got, "[REDACTED]") || strings.Contains(got, basic[4:20]) {
		t.Errorf("base64 form kept: %s", got)
	}
}

func TestRedactNumberHoldingASecret(t *testing.T) {
	t.Parallel()
	got := records.Redact(json.RawMessage(`{"account":123456789012,"n":12}`), []string{"123456789012"})
	if want := `{"account":"[REDACTED]","n":12}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestRedactIgnoresShortSecrets(t *testing.T) {
	t.Parallel()
	in := `{"pin":"1234567"}`
	if got := records.Redact(json.RawMessage(in), []string{"1234567", ""}); string(got) != in {
		t.Errorf("a 7-character secret was redacted: %s", got)
	}
}

// Nesting costs no stack; past encoding/json's depth limit (10,000) the
// document is reported as invalid rather than crashing.
func TestRedactDeepNesting(t *testing.T) {
	t.Parallel()
	in := strings.Repeat(`{"a":[`, 4000) + strings.Repeat("]}", 4000)
	if got := records.Redact(json.RawMessage(in), nil); string(got) != in {
		t.Errorf("deep document changed (%d bytes)", len(got))
	}
	in = strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	if got := records.Redact(json.RawMessage(in), nil); !json.Valid(got) {
		t.Errorf("too deep a document gave invalid JSON: %.40s", got)
	}
}

func TestPrepareCapsDocuments(t *testing.T) {
	t.Parallel()
	// 20 strings of 900 characters: none is cut, together over 8 KiB.
	parts := make([]string, 20)
	for i := range parts {
		parts[i] = `"` + strings.Repeat("a", 900) + `"`
	}
	args := `{"password":"` + planSecret + `","items":[` + strings.Join(parts, ",") + `]}`
	got := records.Prepare(proto.ExecutionRecord{InputArgs: json.RawMessage(args), Result: json.RawMessage(args)},
		[]string{planSecret})
	for name, doc := range map[string]json.RawMessage{"input_args": got.InputArgs, "result": got.Result} {
		var cut struct {
			Truncated bool   `json:"_truncated"`
			Bytes     int    `json:"_bytes"`
			Preview   string `json:"_preview"`
		}
		if err := json.Unmarshal(doc, &cut); err != nil || !cut.Truncated {
			t.Fatalf("%s not truncated: %s (%v)", name, doc, err)
		}
		if !strings.HasPrefix(string(doc), `{"_truncated":true,"_bytes":`) {
			t.Errorf("%s: key order: %.60s", name, doc)
		}
		if cut.Bytes <= records.MaxDocumentBytes || len(cut.Preview) != records.PreviewBytes {
			t.Errorf("%s: _bytes %d, preview %d bytes", name, cut.Bytes, len(cut.Preview))
		}
		if strings.Contains(cut.Preview, planSecret) || !strings.HasPrefix(cut.Preview, `{"password":"[REDACTED]"`) {
			t.Errorf("%s: preview %.80s", name, cut.Preview)
		}
	}
	// The limit is inclusive: 8,192 bytes stay, 8,193 do not.
	doc := func(lastChars int) json.RawMessage {
		return json.RawMessage(`[` + strings.Repeat(`"`+strings.Repeat("b", 998)+`",`, 8) + `"` + strings.Repeat("c", lastChars) + `"]`)
	}
	if d := doc(180); len(d) != records.MaxDocumentBytes {
		t.Fatalf("fixture is %d bytes", len(d))
	}
	if r := records.Prepare(proto.ExecutionRecord{Result: doc(180)}, nil).Result; len(r) != records.MaxDocumentBytes {
		t.Errorf("a document of exactly %d bytes changed: %.40s", records.MaxDocumentBytes, r)
	}
	if r := records.Prepare(proto.ExecutionRecord{Result: doc(181)}, nil).Result; !strings.HasPrefix(string(r), `{"_truncated":true,"_bytes":8193,`) {
		t.Errorf("a document of %d bytes was kept: %.40s", records.MaxDocumentBytes+1, r)
	}
}

func TestPrepareCutsStdoutAndErrorOnCharacterBoundaries(t *testing.T) {
	t.Parallel()
	rec := records.Prepare(proto.ExecutionRecord{
		Stdout: "a" + strings.Repeat("é", 5000), // 10,001 bytes; é is 2 bytes
		Error:  planSecret + strings.Repeat("z", 5000),
	}, []string{planSecret})
	if len(rec.Stdout) != records.MaxStdoutBytes-1 || !strings.HasPrefix(rec.Stdout, "aé") {
		t.Errorf("stdout: %d bytes", len(rec.Stdout))
	}
	if len(rec.Error) != records.MaxErrorBytes || !strings.HasPrefix(rec.Error, "[REDACTED]zzz") {
		t.Errorf("error: %d bytes, %.20q", len(rec.Error), rec.Error)
	}
}
