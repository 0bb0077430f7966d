package ui

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The filters of /activity map to the list queries' parameters
// (admin-ui.md §11.8): executions to GET /executions, audit to
// GET /activity?category=audit.
func TestActivityQueryMapping(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const srv = "0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6"
	for _, c := range []struct {
		in   string
		exec string // execValues, encoded
		aud  string // auditValues, encoded
	}{
		{"", "", "category=audit"},
		{"outcome=error&since=24h", "since=2026-04-30T12%3A00%3A00Z&success=false", "category=audit&since=2026-04-30T12%3A00%3A00Z"},
		{"outcome=success", "success=true", "category=audit"},
		{"outcome=timeout", "error_code=timeout&success=false", "category=audit"},
		{"caller=local", "caller_kind=local&is_test=false", "category=audit"},
		{"caller=remote&caller_email=a%40example.com", "caller_email=a%40example.com&caller_kind=remote&is_test=false", "category=audit"},
		{"caller=test", "is_test=true", "category=audit"},
		{
			"server_id=" + srv + "&q=boom&until=2026-05-01T00:00:00Z",
			"q=boom&server_id=" + srv + "&until=2026-05-01T00%3A00%3A00Z",
			"category=audit&q=boom&server_id=" + srv + "&until=2026-05-01T00%3A00%3A00Z",
		},
		{
			"view=audit&actor_kind=llm_local&action=tool.approve&since=7d",
			"since=2026-04-24T12%3A00%3A00Z",
			"action=tool.approve&actor_kind=llm_local&category=audit&since=2026-04-24T12%3A00%3A00Z",
		},
		{
			"since=2026-04-01T00:00:00Z&tool_id=" + srv, "since=2026-04-01T00%3A00%3A00Z&tool_id=" + srv,
			"category=audit&since=2026-04-01T00%3A00%3A00Z&tool_id=" + srv,
		},
	} {
		v, err := url.ParseQuery(c.in)
		if err != nil {
			t.Fatal(err)
		}
		q, bad := parseActivityQuery(v)
		if len(bad) > 0 {
			t.Errorf("%q: problems %v", c.in, bad)
			continue
		}
		if got := q.execValues(now).Encode(); got != c.exec {
			t.Errorf("%q: executions %q, want %q", c.in, got, c.exec)
		}
		if got := q.auditValues(now).Encode(); got != c.aud {
			t.Errorf("%q: audit %q, want %q", c.in, got, c.aud)
		}
		if _, err := q.execFilter(now); err != nil {
			t.Errorf("%q: the executions service refuses %v", c.in, err)
		}
		if _, err := q.auditFilter(now); err != nil {
			t.Errorf("%q: the activity list refuses %v", c.in, err)
		}
		// The URL reproduces the view (U6).
		u, _ := url.Parse(q.url())
		again, _ := parseActivityQuery(u.Query())
		if again != q {
			t.Errorf("%q: round trip %+v, want %+v", c.in, again, q)
		}
	}
}

// Bad values are named for the error summary and left out of the query.
func TestActivityQueryProblems(t *testing.T) {
	t.Parallel()
	v, _ := url.ParseQuery("view=nope&size=7&server_id=x&since=yesterday&until=soon&outcome=Boom!&caller=robot&caller_email=nope&actor_kind=cat")
	q, bad := parseActivityQuery(v)
	fields := map[string]bool{}
	for _, e := range bad {
		fields[e.Field] = true
	}
	for _, f := range []string{"view", "size", "server_id", "since", "until", "outcome", "caller", "caller_email", "actor_kind"} {
		if !fields[f] {
			t.Errorf("no problem for %s (got %v)", f, bad)
		}
	}
	if q.ServerID != "" || q.Since != "" || q.Outcome != "" || q.Caller != "" || q.Email != "" || q.Size != 50 {
		t.Errorf("bad values kept: %+v", q)
	}
	if _, err := q.execFilter(time.Now()); err != nil {
		t.Errorf("what is left is refused: %v", err)
	}
}

func TestActivityFormatting(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"admin:alice": "Admin alice", "llm:local": "LLM (local)", "llm:bob@example.com": "LLM (bob@example.com)", "system": "system"} {
		if got := actorText(in); got != want {
			t.Errorf("actorText(%q) = %q", in, got)
		}
	}
	for ms, want := range map[int64]string{5: "5 ms", 999: "999 ms", 1500: "1.5 s"} {
		if got := durationText(ms); got != want {
			t.Errorf("durationText(%d) = %q", ms, got)
		}
	}
	if got := prettyJSON([]byte(`{"a":[1,2]}`)); got != "{\n  \"a\": [\n    1,\n    2\n  ]\n}" {
		t.Errorf("prettyJSON %q", got)
	}
	if got := prettyJSON([]byte(`not json`)); got != "not json" {
		t.Errorf("prettyJSON of text %q", got)
	}
}

// FuzzActivityQuery: any query parses without panicking; what survives is
// accepted by both list queries and reproduces itself through its URL.
func FuzzActivityQuery(f *testing.F) {
	for _, seed := range []string{
		"", "view=audit&actor_kind=admin", "outcome=error&since=24h&size=25", "since=2026-01-01T00:00:00Z&q=%00",
		"server_id=0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6&caller=remote&caller_email=a@b.co", "q=" + strings.Repeat("x", 300),
		"outcome=_&until=2026-13-01T00:00:00Z", "size=100&cursor=abc",
	} {
		f.Add(seed)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, _ := parseActivityQuery(v)
		ferr := func(err error) {
			for _, e := range ruleErrors(err) {
				// The text filter is the only value left to the services'
				// own rules (NUL, invalid UTF-8).
				if e.Field != "q" {
					t.Fatalf("%q: %s refused after parsing: %s", raw, e.Field, e.Message)
				}
			}
		}
		_, err = q.execFilter(now)
		ferr(err)
		_, err = q.auditFilter(now)
		ferr(err)
		if utf8.ValidString(q.Q) {
			u, perr := url.Parse(q.url())
			if perr != nil {
				t.Fatal(perr)
			}
			again, _ := parseActivityQuery(u.Query())
			if again != q {
				t.Fatalf("%q: round trip %+v != %+v", raw, again, q)
			}
		}
	})
}
