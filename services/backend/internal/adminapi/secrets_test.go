package adminapi_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
)

const shortValueMessage = "value: must be at least 8 bytes; shorter values cannot be reliably redacted from tool output and logs."

func secretsPath(serverID string) string { return "/api/v1/servers/" + serverID + "/secrets" }

// newSecret creates a secret through the API (value "" = none).
func (b *backend) newSecret(t *testing.T, auth []string, serverID, name, value string) map[string]any {
	t.Helper()
	body := map[string]any{"name": name}
	if value != "" {
		body["value"] = value
	}
	r := b.call(t, http.MethodPost, secretsPath(serverID), body, auth...)
	if r.status != http.StatusCreated {
		t.Fatalf("create secret %s: %d %s", name, r.status, r.raw)
	}
	return r.body
}

// notifications collects the payloads that arrive on notes within wait of
// each other, stopping after want of them and a further quiet wait (so an
// extra one is seen too).
func notifications(notes <-chan string, want int, wait time.Duration) []string {
	var got []string
	for {
		d := wait
		if len(got) < want {
			d = 5 * time.Second
		}
		select {
		case p := <-notes:
			got = append(got, p)
		case <-time.After(d):
			return got
		}
	}
}

// BE-56 (admin API half): a lowercase secret name is refused naming the
// field and the rule; a duplicate name is 409 already_exists.
func TestBE56_SecretNameRules(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	id := b.newServer(t, auth, "weather", "")
	for _, name := range []string{"lower", "", "A-B", "1AB", strings.Repeat("A", 65)} {
		r := b.call(t, http.MethodPost, secretsPath(id), map[string]any{"name": name}, auth...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != "name" || !strings.Contains(r.err.Message, proto.SecretNamePattern) {
			t.Fatalf("name %q: %+v", name, r.err)
		}
	}
	r := b.call(t, http.MethodPost, secretsPath(id), map[string]any{"description": "no name"}, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "name" {
		t.Fatalf("missing name: %+v", r.err)
	}
	b.newSecret(t, auth, id, "API_KEY", "")
	r = b.call(t, http.MethodPost, secretsPath(id), map[string]any{"name": "API_KEY", "value": "a-long-value"}, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeAlreadyExists)
	if r.err.Field != "name" || !strings.Contains(r.err.Message, "'API_KEY'") || strings.Contains(r.raw, "a-long-value") {
		t.Fatalf("duplicate: %s", r.raw)
	}
	// The same name on another server is another secret.
	other := b.newServer(t, auth, "mail", "")
	b.newSecret(t, auth, other, "API_KEY", "")
	if n := b.countRows(t, "SELECT count(*) FROM server_secrets WHERE value_enc IS NOT NULL"); n != 0 {
		t.Fatalf("the refused duplicate stored a value (%d)", n)
	}
}

// BE-57 (admin API half): after create with a value, set, list, clear and
// delete, no response body and no activity_log row contains a value.
func TestBE57_NoResponseOrAuditHoldsTheValue(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	id := b.newServer(t, auth, "weather", "")
	const first, second = "first-secret-value-9d1c", "second-secret-value-4b7e"
	var bodies []string
	record := func(r response, status int) response {
		t.Helper()
		if r.status != status {
			t.Fatalf("want %d, got %d %s", status, r.status, r.raw)
		}
		bodies = append(bodies, r.raw)
		return r
	}
	c := record(b.call(t, http.MethodPost, secretsPath(id), map[string]any{"name": "TOKEN", "description": "d", "value": first}, auth...), http.StatusCreated)
	if c.body["has_value"] != true {
		t.Fatalf("create: %s", c.raw)
	}
	record(b.call(t, http.MethodPut, secretsPath(id)+"/TOKEN", map[string]any{"value": second}, auth...), http.StatusOK)
	record(b.call(t, http.MethodGet, secretsPath(id), nil, auth...), http.StatusOK)
	record(b.call(t, http.MethodPatch, secretsPath(id)+"/TOKEN", map[string]any{"description": "rotated"}, auth...), http.StatusOK)
	// Refusals do not echo a value either, whatever its type.
	record(b.call(t, http.MethodPut, secretsPath(id)+"/TOKEN", map[string]any{"value": []string{first}}, auth...), http.StatusBadRequest)
	record(b.call(t, http.MethodPost, secretsPath(id), map[string]any{"name": "TOKEN", "value": second}, auth...), http.StatusConflict)
	record(b.call(t, http.MethodPut, secretsPath(id)+"/NOPE", map[string]any{"value": first}, auth...), http.StatusNotFound)
	cl := record(b.call(t, http.MethodDelete, secretsPath(id)+"/TOKEN/value", nil, auth...), http.StatusOK)
	if cl.body["has_value"] != false || cl.body["value_set_at"] != nil {
		t.Fatalf("clear: %s", cl.raw)
	}
	record(b.call(t, http.MethodDelete, secretsPath(id)+"/TOKEN", nil, auth...), http.StatusNoContent)
	for _, raw := range bodies {
		if strings.Contains(raw, first) || strings.Contains(raw, second) || strings.Contains(raw, `"value":`) {
			t.Fatalf("a response holds a value: %s", raw)
		}
	}
	if logs := b.logs.String(); strings.Contains(logs, first) || strings.Contains(logs, second) {
		t.Fatalf("a log line holds a value:\n%s", logs)
	}
	var audit string
	b.sql(t, "SELECT string_agg(message || details::text, '') FROM activity_log", []any{&audit})
	if strings.Contains(audit, first) || strings.Contains(audit, second) {
		t.Fatalf("activity_log holds a value: %s", audit)
	}
	var actions string
	b.sql(t, `SELECT string_agg(action || ' ' || actor || ' ' || details::text, '|' ORDER BY seq)
		FROM activity_log WHERE action LIKE 'secret.%'`, []any{&actions})
	want := `secret.create admin:admin {"name": "TOKEN", "has_value": true}|` +
		`secret.set admin:admin {"name": "TOKEN", "has_value": true}|` +
		`secret.update admin:admin {"name": "TOKEN", "has_value": true}|` +
		`secret.clear admin:admin {"name": "TOKEN", "has_value": false}|` +
		`secret.delete admin:admin {"name": "TOKEN", "has_value": false}`
	if actions != want {
		t.Fatalf("audit rows\n%s\nwant\n%s", actions, want)
	}
}

// BE-94: a 7-byte value through PUT and through POST with value is 400
// validation_failed, field value, with the rule's message; nothing is
// stored and no NOTIFY is sent. An 8-byte value is accepted.
func TestBE94_ShortValuesRefused(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	id := b.newServer(t, auth, "weather", "")
	b.newSecret(t, auth, id, "KEY", "")
	notes := dbtest.Listen(t, b.url, "mcpbox_secrets")

	for _, r := range []response{
		b.call(t, http.MethodPut, secretsPath(id)+"/KEY", map[string]any{"value": "1234567"}, auth...),
		b.call(t, http.MethodPost, secretsPath(id), map[string]any{"name": "SHORT", "value": "1234567"}, auth...),
		b.call(t, http.MethodPut, secretsPath(id)+"/KEY", map[string]any{"value": ""}, auth...),
	} {
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != "value" || r.err.Message != shortValueMessage ||
			len(r.err.Details) != 1 || r.err.Details[0].Field != "value" || !strings.HasSuffix(shortValueMessage, r.err.Details[0].Message) {
			t.Fatalf("refusal: %s", r.raw)
		}
		if strings.Contains(r.raw, "1234567") {
			t.Fatalf("the refusal echoes the value: %s", r.raw)
		}
	}
	r := b.call(t, http.MethodPut, secretsPath(id)+"/KEY", map[string]any{"value": strings.Repeat("v", 10001)}, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "value" {
		t.Fatalf("10,001 bytes: %s", r.raw)
	}
	if n := b.countRows(t, "SELECT count(*) FROM server_secrets WHERE value_enc IS NOT NULL OR value_set_at IS NOT NULL OR name = 'SHORT'"); n != 0 {
		t.Fatalf("a refused value was stored (%d rows)", n)
	}
	if n := b.countRows(t, "SELECT count(*) FROM activity_log WHERE action LIKE 'secret.%' AND action <> 'secret.create'"); n != 0 {
		t.Fatalf("%d audit rows of refused writes", n)
	}

	// 8 bytes (and a 10,000-byte value) are accepted; the notifications
	// that follow are exactly theirs, so the refusals sent none.
	r = b.call(t, http.MethodPut, secretsPath(id)+"/KEY", map[string]any{"value": "12345678"}, auth...)
	if r.status != http.StatusOK || r.body["has_value"] != true {
		t.Fatalf("8 bytes: %d %s", r.status, r.raw)
	}
	r = b.call(t, http.MethodPost, secretsPath(id), map[string]any{"name": "LONG", "value": strings.Repeat("v", 10000)}, auth...)
	if r.status != http.StatusCreated || r.body["has_value"] != true {
		t.Fatalf("10,000 bytes: %d %s", r.status, r.raw)
	}
	payload := `{"server_id":"` + id + `"}`
	if got := notifications(notes, 2, 300*time.Millisecond); !slices.Equal(got, []string{payload, payload}) {
		t.Fatalf("notifications %q, want two of %s", got, payload)
	}
}

// Every value change and delete NOTIFYs mcpbox_secrets with the server id
// (§9.2); a description-only PATCH and a create without a value do not.
func TestSecretChangesNotify(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	id := b.newServer(t, auth, "weather", "")
	other := b.newServer(t, auth, "mail", "")
	notes := dbtest.Listen(t, b.url, "mcpbox_secrets")
	mine, theirs := `{"server_id":"`+id+`"}`, `{"server_id":"`+other+`"}`
	// The other server's create with a value marks the place of each step:
	// a step that notified would come before the marker.
	marker := 0
	mark := func() {
		t.Helper()
		marker++
		b.newSecret(t, auth, other, fmt.Sprintf("MARK_%d", marker), "marker-value")
	}
	step := func(method, path string, body any, status int) {
		t.Helper()
		r := b.call(t, method, secretsPath(id)+path, body, auth...)
		if r.status != status {
			t.Fatalf("%s %s: %d %s", method, path, r.status, r.raw)
		}
		mark()
	}
	step(http.MethodPost, "", map[string]any{"name": "KEY"}, http.StatusCreated)
	step(http.MethodPatch, "/KEY", map[string]any{"description": "only the description"}, http.StatusOK)
	step(http.MethodPut, "/KEY", map[string]any{"value": "value-one-1"}, http.StatusOK)
	step(http.MethodPut, "/KEY", map[string]any{"value": "value-two-2"}, http.StatusOK)
	step(http.MethodPatch, "/KEY", map[string]any{"description": "again"}, http.StatusOK)
	step(http.MethodDelete, "/KEY/value", nil, http.StatusOK)
	step(http.MethodDelete, "/KEY", nil, http.StatusNoContent)
	step(http.MethodPost, "", map[string]any{"name": "WITH", "value": "value-three"}, http.StatusCreated)
	want := []string{
		theirs,       // create without a value
		theirs,       // description
		mine, theirs, // set
		mine, theirs, // replace
		theirs,       // description
		mine, theirs, // clear
		mine, theirs, // delete
		mine, theirs, // create with a value
	}
	if got := notifications(notes, len(want), 300*time.Millisecond); !slices.Equal(got, want) {
		t.Fatalf("notifications\n%q\nwant\n%q", got, want)
	}
}

// The Secret resource (§8.1): exactly its fields, never a value,
// timestamps in UTC with milliseconds; PATCH changes the description only.
func TestSecretResourceAndPatch(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	id := b.newServer(t, auth, "weather", "")
	ts := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
	s := b.newSecret(t, auth, id, "API_KEY", "")
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"created_at", "description", "has_value", "id", "name", "server_id", "updated_at", "value_set_at"}; !slices.Equal(keys, want) {
		t.Fatalf("fields %v, want %v", keys, want)
	}
	if s["server_id"] != id || s["name"] != "API_KEY" || s["description"] != "" || s["has_value"] != false ||
		s["value_set_at"] != nil || !ts.MatchString(s["created_at"].(string)) || !ts.MatchString(s["updated_at"].(string)) {
		t.Fatalf("secret %v", s)
	}
	if _, err := uuid.Parse(s["id"].(string)); err != nil || strings.ToLower(s["id"].(string)) != s["id"] {
		t.Fatalf("id %v", s["id"])
	}
	r := b.call(t, http.MethodPut, secretsPath(id)+"/API_KEY", map[string]any{"value": "abcdefgh"}, auth...)
	if r.status != http.StatusOK || r.body["has_value"] != true || !ts.MatchString(fmt.Sprint(r.body["value_set_at"])) || r.body["id"] != s["id"] {
		t.Fatalf("set: %s", r.raw)
	}

	r = b.call(t, http.MethodPatch, secretsPath(id)+"/API_KEY", map[string]any{"description": "Forecast key"}, auth...)
	if r.status != http.StatusOK || r.body["description"] != "Forecast key" || r.body["has_value"] != true {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	if n := b.countRows(t, "SELECT count(*) FROM activity_log WHERE action = 'secret.update'"); n != 1 {
		t.Fatalf("%d secret.update rows", n)
	}
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{}, ""},
		{map[string]any{"description": nil}, "description"},
		{map[string]any{"description": 5}, "description"},
		{map[string]any{"description": strings.Repeat("d", 2001)}, "description"},
		{map[string]any{"name": "OTHER"}, "name"},
		{map[string]any{"value": "abcdefghij"}, "value"},
	} {
		r := b.call(t, http.MethodPatch, secretsPath(id)+"/API_KEY", tc.body, auth...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != tc.field || strings.Contains(r.raw, "abcdefgh") {
			t.Fatalf("patch %v: %s", tc.body, r.raw)
		}
	}
	for _, body := range []any{map[string]any{"value": nil}, map[string]any{}, map[string]any{"value": "abcdefgh", "extra": 1}} {
		r := b.call(t, http.MethodPut, secretsPath(id)+"/API_KEY", body, auth...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	}
	r = b.call(t, http.MethodPost, secretsPath(id), map[string]any{"name": "NULLED", "value": nil}, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "value" {
		t.Fatalf("null value: %s", r.raw)
	}
	g := b.call(t, http.MethodGet, secretsPath(id), nil, auth...)
	items := listItems(t, g)
	if len(items) != 1 || items[0]["description"] != "Forecast key" || items[0]["has_value"] != true || g.body["next_cursor"] != nil {
		t.Fatalf("list: %s", g.raw)
	}
}

// Lists are sorted by name and paged by cursor (§15.2); a cursor of another
// server's list, a bad cursor and a bad limit are 400.
func TestSecretPagination(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	id := b.newServer(t, auth, "weather", "")
	other := b.newServer(t, auth, "mail", "")
	for _, n := range []string{"DB_URL", "A", "Z_LAST", "API_KEY", "B2"} {
		b.newSecret(t, auth, id, n, "")
	}
	b.newSecret(t, auth, other, "ELSEWHERE", "")
	var names []string
	path := secretsPath(id) + "?limit=2"
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		r := b.call(t, http.MethodGet, path, nil, auth...)
		if r.status != http.StatusOK {
			t.Fatalf("page: %d %s", r.status, r.raw)
		}
		items := listItems(t, r)
		names = append(names, itemNames(items)...)
		next, ok := r.body["next_cursor"].(string)
		if !ok {
			if len(items) != 1 {
				t.Fatalf("last page of %d", len(items))
			}
			break
		}
		wantError(t, b.call(t, http.MethodGet, secretsPath(other)+"?limit=2&cursor="+next, nil, auth...),
			http.StatusBadRequest, proto.CodeValidationFailed)
		path = secretsPath(id) + "?limit=2&cursor=" + next
	}
	if want := []string{"A", "API_KEY", "B2", "DB_URL", "Z_LAST"}; !slices.Equal(names, want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	if r := b.call(t, http.MethodGet, secretsPath(id), nil, auth...); len(listItems(t, r)) != 5 || r.body["next_cursor"] != nil {
		t.Fatalf("default limit: %s", r.raw)
	}
	for q, field := range map[string]string{"limit=0": "limit", "limit=201": "limit", "limit=x": "limit", "cursor=bogus": "cursor"} {
		r := b.call(t, http.MethodGet, secretsPath(id)+"?"+q, nil, auth...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != field {
			t.Fatalf("%s: %s", q, r.raw)
		}
	}
	r := b.call(t, http.MethodGet, secretsPath(other), nil, auth...)
	if items := listItems(t, r); !slices.Equal(itemNames(items), []string{"ELSEWHERE"}) {
		t.Fatalf("other server: %s", r.raw)
	}
}

// An unknown server (or a malformed id) is 404 on every route, an unknown
// secret 404 naming the secret list; every route needs a signed-in admin.
func TestSecretNotFoundAndUnauthenticated(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	id := b.newServer(t, auth, "weather", "")
	b.newSecret(t, auth, id, "KEY", "")
	type route struct {
		method, suffix string
		body           any
	}
	routes := []route{
		{http.MethodGet, "", nil},
		{http.MethodPost, "", map[string]any{"name": "NEW"}},
		{http.MethodPut, "/KEY", map[string]any{"value": "long-enough"}},
		{http.MethodPatch, "/KEY", map[string]any{"description": "x"}},
		{http.MethodDelete, "/KEY/value", nil},
		{http.MethodDelete, "/KEY", nil},
	}
	for _, server := range []string{uuid.NewString(), "not-a-uuid"} {
		for _, rt := range routes {
			r := b.call(t, rt.method, secretsPath(server)+rt.suffix, rt.body, auth...)
			wantError(t, r, http.StatusNotFound, proto.CodeNotFound)
			if r.err.Message != "No such server; list the servers with GET /api/v1/servers." {
				t.Fatalf("%s %s: %+v", rt.method, rt.suffix, r.err)
			}
		}
	}
	for _, name := range []string{"NOPE", "lower"} {
		for _, rt := range routes[2:] {
			path := strings.Replace(rt.suffix, "KEY", name, 1)
			r := b.call(t, rt.method, secretsPath(id)+path, rt.body, auth...)
			wantError(t, r, http.StatusNotFound, proto.CodeNotFound)
			if !strings.Contains(r.err.Message, "No such secret") {
				t.Fatalf("%s %s: %+v", rt.method, path, r.err)
			}
		}
	}
	for _, rt := range routes {
		wantError(t, b.call(t, rt.method, secretsPath(id)+rt.suffix, rt.body), http.StatusUnauthorized, proto.CodeUnauthenticated)
	}
	if n := b.countRows(t, "SELECT count(*) FROM server_secrets WHERE name <> 'KEY' OR value_enc IS NOT NULL OR description <> ''"); n != 0 {
		t.Fatalf("a refused request wrote (%d rows)", n)
	}
}
