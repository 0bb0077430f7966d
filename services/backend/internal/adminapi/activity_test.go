package adminapi_test

import (
	"net/http"
	"net/url"
	"sort"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// activityRows inserts activity rows with the given messages and actors.
func activityRows(t *testing.T, b *backend, rows ...[2]string) {
	t.Helper()
	for _, r := range rows {
		b.sql(t, "INSERT INTO activity_log (category, action, actor, message) VALUES ('audit', 'tool.create', $1, $2)", nil, r[1], r[0])
	}
}

// BE-87: activity search for 50%_off matches the literal text only.
func TestBE87_ActivitySearchIsLiteral(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	tok := b.login(t)
	activityRows(t, b, [2]string{"coupon 50%_off applied", "admin:admin"}, [2]string{"coupon 50% off applied", "admin:admin"},
		[2]string{"coupon 50x_off applied", "admin:admin"}, [2]string{`back\slash 50%_off`, "admin:admin"})
	r := b.call(t, http.MethodGet, "/api/v1/activity?q="+url.QueryEscape("50%_off"), nil, bearer(tok)...)
	if r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}
	items := r.body["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("q=50%%_off matched %d rows: %s", len(items), r.raw)
	}
	for _, it := range items {
		msg := it.(map[string]any)["message"].(string)
		if msg != "coupon 50%_off applied" && msg != `back\slash 50%_off` {
			t.Errorf("matched %q", msg)
		}
	}
	r = b.call(t, http.MethodGet, "/api/v1/activity?q="+url.QueryEscape(`back\slash`), nil, bearer(tok)...)
	if n := len(r.body["items"].([]any)); n != 1 {
		t.Errorf("backslash search matched %d", n)
	}
}

// GET /activity: newest first, actor kinds, category filter, pagination by
// seq, GET /activity/{id}, and 400 naming a bad filter.
func TestActivityListFiltersAndPages(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)        // writes the auth.setup audit row
	tok := b.login(t) // writes the auth.login audit row
	activityRows(t, b, [2]string{"by the local LLM", "llm:local"}, [2]string{"by a remote LLM", "llm:ada@example.com"},
		[2]string{"by the system", "system"}, [2]string{"by policy", "policy"})
	count := func(query string) int {
		t.Helper()
		r := b.call(t, http.MethodGet, "/api/v1/activity?"+query, nil, bearer(tok)...)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", query, r.status, r.raw)
		}
		return len(r.body["items"].([]any))
	}
	for query, want := range map[string]int{
		"actor_kind=admin": 2, "actor_kind=llm_local": 1, "actor_kind=llm_remote": 1, "actor_kind=system": 2,
		"category=audit": 6, "category=security": 0, "action=auth.setup": 1, "action=auth.login": 1,
	} {
		if got := count(query); got != want {
			t.Errorf("%s: %d rows, want %d", query, got, want)
		}
	}
	var seen []float64
	cursor := ""
	for page := 0; page < 5; page++ {
		q := "limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := b.call(t, http.MethodGet, "/api/v1/activity?"+q, nil, bearer(tok)...)
		for _, it := range r.body["items"].([]any) {
			seen = append(seen, it.(map[string]any)["seq"].(float64))
		}
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 6 || !sort.SliceIsSorted(seen, func(i, j int) bool { return seen[i] > seen[j] }) {
		t.Errorf("pages gave seqs %v, want 6 distinct, newest first", seen)
	}
	r := b.call(t, http.MethodGet, "/api/v1/activity?limit=1", nil, bearer(tok)...)
	first := r.body["items"].([]any)[0].(map[string]any)
	one := b.call(t, http.MethodGet, "/api/v1/activity/"+first["id"].(string), nil, bearer(tok)...)
	if one.status != http.StatusOK || one.body["message"] != first["message"] || one.body["details"] == nil {
		t.Errorf("get: %d %s", one.status, one.raw)
	}
	wantError(t, b.call(t, http.MethodGet, "/api/v1/activity/00000000-0000-4000-8000-000000000000", nil, bearer(tok)...), http.StatusNotFound, proto.CodeNotFound)
	for query, field := range map[string]string{"actor_kind=robot": "actor_kind", "server_id=x": "server_id", "since=yesterday": "since", "limit=0": "limit", "cursor=abc": "cursor"} {
		r := b.call(t, http.MethodGet, "/api/v1/activity?"+query, nil, bearer(tok)...)
		if r.status != http.StatusBadRequest || r.err.Field != field {
			t.Errorf("%s: %d %s, want 400 naming %s", query, r.status, r.raw, field)
		}
	}
	wantError(t, b.call(t, http.MethodGet, "/api/v1/activity", nil), http.StatusUnauthorized, proto.CodeUnauthenticated)
}
