package executions

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/redact"
	"github.com/mcpbox/mcpbox/proto/strictjson"
)

// fuzzSecret has only lower-case letters and digits, which the replacement
// text [REDACTED:K] never holds, so no occurrence can be made up of
// replacement text and its neighbours.
const fuzzSecret = "zq9x7w5v3u1t"

func testScrubber() scrubber {
	return scrubber{r: redact.New([]redact.Secret{{Name: "K", Value: fuzzSecret}}, redact.Named)}
}

func TestScrubText(t *testing.T) {
	t.Parallel()
	sc := testScrubber()
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{
		{"a" + fuzzSecret + "b", 100, "a[REDACTED:K]b"},
		{"nul\x00here", 100, "nul\uFFFDhere"},
		{"bad\xffutf8", 100, "bad\uFFFDutf8"},
		{"ééé", 2, "éé"},
		{"abc", 3, "abc"},
		{strings.Repeat("x", 8) + fuzzSecret, 12, "xxxxxxxx[RED"},
	} {
		if got := sc.text(c.in, c.limit); got != c.want {
			t.Errorf("text(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
}

func TestScrubDocuments(t *testing.T) {
	t.Parallel()
	sc := testScrubber()
	for _, c := range []struct {
		in, args, result string
	}{
		{``, ``, ``},
		{`null`, ``, ``},
		{` {"a":1} `, `{"a":1}`, `{"a":1}`},
		{`[1.50,"<&>",true,null]`, `[1.50,"<&>",true,null]`, `[1.50,"<&>",true,null]`},
		{`{"token":{"` + fuzzSecret + `":1}}`, `{"token":"[REDACTED]"}`, `{"token":{"[REDACTED:K]":1}}`},
		{`{"a\u0000b":"c\u0000"}`, "{\"a\uFFFDb\":\"c\uFFFD\"}", "{\"a\uFFFDb\":\"c\uFFFD\"}"},
		{`"` + strings.Repeat("é", 501) + `"`, `"` + strings.Repeat("é", 500) + TruncatedSuffix + `"`, `"` + strings.Repeat("é", 501) + `"`},
	} {
		args, err := sc.args(json.RawMessage(c.in))
		if err != nil || string(args) != c.args {
			t.Errorf("args(%s) = %s, %v; want %s", c.in, args, err, c.args)
		}
		result, err := sc.result(json.RawMessage(c.in))
		if err != nil || string(result) != c.result {
			t.Errorf("result(%s) = %s, %v; want %s", c.in, result, err, c.result)
		}
	}
	exact := `"` + strings.Repeat("x", MaxResultBytes-2) + `"`
	if got, err := sc.result(json.RawMessage(exact)); err != nil || string(got) != exact {
		t.Errorf("a result of exactly %d bytes was changed", MaxResultBytes)
	}
	over := `"` + strings.Repeat("é", MaxResultBytes) + `"`
	got, err := sc.result(json.RawMessage(over))
	want := `{"_preview":"\"` + strings.Repeat("é", ResultPreviewChars-1) + `","_truncated":true}`
	if err != nil || string(got) != want {
		t.Errorf("long result = %.80s…, %v", got, err)
	}
	for _, bad := range []string{`{"n":1e999}`, `{`, `{"a":1}x`} {
		if _, err := sc.args(json.RawMessage(bad)); err == nil {
			t.Errorf("args(%s) accepted", bad)
		}
	}
}

// FuzzScrub: scrubbing any JSON never panics, yields valid JSON without the
// secret value or a NUL, keeps every input_args string within its cut, and
// keeps a result within MaxResultBytes or makes it a preview.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{
		`{"password":"x","items":[{"token":1}],"q":"` + fuzzSecret + `"}`,
		`"` + strings.Repeat("a", 495) + fuzzSecret + `"`,
		`[1,2.5e3,-0,true,false,null,"\u0000"]`,
		`{"` + fuzzSecret + `":{"` + fuzzSecret + `":"` + fuzzSecret + `"}}`,
		`1e400`, `"\ud800"`, `{`, ``,
	} {
		f.Add(s)
	}
	sc := testScrubber()
	f.Fuzz(func(t *testing.T, doc string) {
		for _, isArgs := range []bool{true, false} {
			var out []byte
			var err error
			if isArgs {
				out, err = sc.args(json.RawMessage(doc))
			} else {
				out, err = sc.result(json.RawMessage(doc))
			}
			if err != nil || out == nil {
				continue
			}
			if !json.Valid(out) || !utf8.Valid(out) {
				t.Fatalf("scrub(%q) = invalid JSON %q", doc, out)
			}
			if strings.Contains(string(out), fuzzSecret) || strings.Contains(string(out), `\u0000`) {
				t.Fatalf("scrub(%q) = %q keeps the secret or a NUL", doc, out)
			}
			if !isArgs && len(out) > MaxResultBytes+ResultPreviewChars*6+40 {
				t.Fatalf("result of %d bytes", len(out))
			}
		}
	})
}

// FuzzDecodeRecords: any body either fails as a whole with an error in the
// shared shape, or yields records each of which is refused with a rule
// naming a field or converted to values the table's constraints accept.
func FuzzDecodeRecords(f *testing.F) {
	f.Add(`{"records":[{"id":"0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6","exposed_name":"a__b","caller":{"kind":"local"},` +
		`"started_at":"2024-01-02T03:04:05Z","error_code":"timeout","duration_ms":5,"via":"run_tool"}]}`)
	f.Add(`{"records":[{"id":"x"},{},1,"s",null]}`)
	f.Add(`{"records":[]}`)
	f.Add(`{"records":[{"id":"0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6","exposed_name":"\u0000","started_at":"2024-01-02T03:04:05Z"}]}`)
	f.Add(`[`)
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		raws, perr := decodeBatch([]byte(body))
		if perr != nil {
			if perr.Code == "" || perr.Message == "" {
				t.Fatalf("empty error for %q", body)
			}
			return
		}
		for _, raw := range raws {
			var rec proto.ExecutionRecord
			if strictjson.Decode(raw, &rec, strictjson.Options{MaxDepth: maxRecordDepth}) != nil {
				continue
			}
			p, err := toParams(rec, now)
			if err != nil {
				var rule *proto.RuleError
				if !errors.As(err, &rule) || rule.Field == "" {
					t.Fatalf("toParams error %v is not a rule naming a field", err)
				}
				continue
			}
			if p.ID == uuid.Nil || p.ExposedName == "" || strings.ContainsRune(p.ExposedName, 0) ||
				(p.Via != "direct" && p.Via != "run_tool") || (p.CallerKind != "local" && p.CallerKind != "remote") ||
				p.DurationMs < 0 || p.ErrorCode != nil && !validErrorCode(*p.ErrorCode) || p.StartedAt.After(now.Add(proto.MaxRecordFutureSkew)) {
				t.Fatalf("accepted %+v", p)
			}
		}
	})
}
