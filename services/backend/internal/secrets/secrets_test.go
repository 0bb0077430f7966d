package secrets_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

const testKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

var who = secrets.Audit{Actor: "admin:alice", RequestID: "req-1"}

type fixture struct {
	url   string
	store *db.Store
	keys  *seal.Keyring
	svc   *secrets.Service
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	url := dbtest.URL(t)
	store, err := db.Open(t.Context(), url, db.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	keys, err := seal.New(1, testKey, "")
	if err != nil {
		t.Fatal(err)
	}
	return fixture{url: url, store: store, keys: keys, svc: secrets.New(store, keys)}
}

func (f fixture) server(t *testing.T, name string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	dbtest.QueryRow(t, f.url, "INSERT INTO servers (name) VALUES ($1) RETURNING id", []any{&id}, name)
	return id
}

func (f fixture) count(t *testing.T, sql string) int {
	t.Helper()
	var n int
	dbtest.QueryRow(t, f.url, sql, []any{&n})
	return n
}

func (f fixture) sealed(t *testing.T, server uuid.UUID, name string) []byte {
	t.Helper()
	var enc []byte
	dbtest.QueryRow(t, f.url, "SELECT value_enc FROM server_secrets WHERE server_id = $1 AND name = $2",
		[]any{&enc}, server, name)
	return enc
}

func ptr(s string) *string { return &s }

// A value is stored sealed under server_secret:<server_id>:<name> (§12.1):
// value_enc is not the plaintext, opens with exactly that purpose, and
// Values returns the plaintext.
func TestValueSealedInTheDatabase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather")
	const value = "sk-live-0123456789abcdef"
	s, err := f.svc.Create(t.Context(), who, srv, secrets.CreateInput{Name: "API_KEY", Description: "Forecast key", Value: ptr(value)})
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasValue() || s.ValueSetAt == nil || s.Name != "API_KEY" || s.ServerID != srv || s.CreatedBy != who.Actor {
		t.Fatalf("created %+v", s)
	}
	enc := f.sealed(t, srv, "API_KEY")
	if bytes.Contains(enc, []byte(value)) || len(enc) != seal.Overhead+len(value) || enc[0] != 0x01 || enc[1] != 1 {
		t.Fatalf("value_enc is not a sealed value: %x", enc)
	}
	purpose := "server_secret:" + srv.String() + ":API_KEY"
	if purpose != seal.PurposeServerSecret(strings.ToLower(srv.String()), "API_KEY") {
		t.Fatal("the purpose must use the lowercase canonical server id")
	}
	plain, err := f.keys.Open(purpose, enc)
	if err != nil || string(plain) != value {
		t.Fatalf("open with the purpose: %q, %v", plain, err)
	}
	if _, err := f.keys.Open("server_secret:"+srv.String()+":OTHER", enc); !errors.Is(err, seal.ErrDecrypt) {
		t.Fatalf("opened under another name's purpose: %v", err)
	}
	vals, missing, err := f.svc.Values(t.Context(), srv, []string{"API_KEY"})
	if err != nil || vals["API_KEY"] != value || len(missing) != 0 {
		t.Fatalf("Values = %v, %v, %v", vals, missing, err)
	}

	// Replacing seals afresh; clearing removes the ciphertext.
	if _, err := f.svc.SetValue(t.Context(), who, srv, "API_KEY", "another-value-42"); err != nil {
		t.Fatal(err)
	}
	if enc2 := f.sealed(t, srv, "API_KEY"); bytes.Equal(enc, enc2) || bytes.Contains(enc2, []byte("another-value-42")) {
		t.Fatalf("replaced value_enc %x", enc2)
	}
	cleared, err := f.svc.ClearValue(t.Context(), who, srv, "API_KEY")
	if err != nil || cleared.HasValue() || cleared.ValueSetAt != nil {
		t.Fatalf("clear: %+v, %v", cleared, err)
	}
	if n := f.count(t, "SELECT count(*) FROM server_secrets WHERE value_enc IS NULL AND value_set_at IS NULL"); n != 1 {
		t.Fatalf("after clear, %d rows without value", n)
	}
	// No audit row holds a value.
	var audit string
	dbtest.QueryRow(t, f.url, "SELECT string_agg(action || message || details::text, '|' ORDER BY seq) FROM activity_log", []any{&audit})
	if strings.Contains(audit, value) || strings.Contains(audit, "another-value-42") {
		t.Fatalf("audit rows contain a value: %s", audit)
	}
	for _, want := range []string{"secret.create", "secret.set", "secret.clear", `"has_value": true`, `"has_value": false`, `"name": "API_KEY"`} {
		if !strings.Contains(audit, want) {
			t.Fatalf("audit rows lack %s: %s", want, audit)
		}
	}
}

// Values decrypts the named secrets; missing lists, once each and in the
// order asked, the names with no value or no secret.
func TestValues(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv, other := f.server(t, "weather"), f.server(t, "mail")
	for _, in := range []secrets.CreateInput{
		{Name: "A_KEY", Value: ptr("aaaaaaaa-1")},
		{Name: "B_KEY", Value: ptr("bbbbbbbb-2")},
		{Name: "EMPTY"},
	} {
		if _, err := f.svc.Create(t.Context(), who, srv, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Create(t.Context(), who, other, secrets.CreateInput{Name: "C_KEY", Value: ptr("cccccccc-3")}); err != nil {
		t.Fatal(err)
	}
	vals, missing, err := f.svc.Values(t.Context(), srv, []string{"NOPE", "B_KEY", "EMPTY", "A_KEY", "NOPE", "C_KEY", "lower"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 2 || vals["A_KEY"] != "aaaaaaaa-1" || vals["B_KEY"] != "bbbbbbbb-2" {
		t.Fatalf("values %v", vals)
	}
	if want := []string{"NOPE", "EMPTY", "C_KEY", "lower"}; !slices.Equal(missing, want) {
		t.Fatalf("missing %v, want %v", missing, want)
	}
	vals, missing, err = f.svc.Values(t.Context(), srv, nil)
	if err != nil || len(vals) != 0 || missing != nil {
		t.Fatalf("no names: %v %v %v", vals, missing, err)
	}
	vals, missing, err = f.svc.Values(t.Context(), uuid.New(), []string{"A_KEY"})
	if err != nil || len(vals) != 0 || !slices.Equal(missing, []string{"A_KEY"}) {
		t.Fatalf("unknown server: %v %v %v", vals, missing, err)
	}
}

// A ciphertext moved to another secret does not open (the purpose binds
// server and name): Values fails naming the secret, never with the value.
func TestValuesRefusesMovedCiphertext(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather")
	for _, name := range []string{"FIRST", "SECOND"} {
		if _, err := f.svc.Create(t.Context(), who, srv, secrets.CreateInput{Name: name, Value: ptr("value-of-" + name)}); err != nil {
			t.Fatal(err)
		}
	}
	dbtest.Exec(t, f.url, `UPDATE server_secrets SET value_enc = (SELECT value_enc FROM server_secrets WHERE name = 'FIRST')
		WHERE name = 'SECOND'`)
	_, _, err := f.svc.Values(t.Context(), srv, []string{"FIRST", "SECOND"})
	if !errors.Is(err, seal.ErrDecrypt) || !strings.Contains(err.Error(), "SECOND") || strings.Contains(err.Error(), "value-of-") {
		t.Fatalf("err = %v", err)
	}
}

// BE-94 (service half): a value under 8 bytes is refused before anything is
// stored; 8 and 10,000 bytes are accepted, 10,001 refused.
func TestValueLength(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n  int
		ok bool
	}{{0, false}, {7, false}, {8, true}, {10000, true}, {10001, false}} {
		err := secrets.ValidateValue(strings.Repeat("x", tc.n))
		var re *proto.RuleError
		if tc.ok != (err == nil) || (err != nil && (!errors.As(err, &re) || re.Field != "value")) {
			t.Fatalf("%d bytes: %v", tc.n, err)
		}
	}
	if got := secrets.ValidateValue("1234567").Error(); got !=
		"value: must be at least 8 bytes; shorter values cannot be reliably redacted from tool output and logs." {
		t.Fatalf("message %q", got)
	}
	// Bytes, not characters: four 2-byte runes are 8 bytes.
	if err := secrets.ValidateValue("éééé"); err != nil {
		t.Fatal(err)
	}

	f := newFixture(t)
	srv := f.server(t, "weather")
	if _, err := f.svc.Create(t.Context(), who, srv, secrets.CreateInput{Name: "KEY"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetValue(t.Context(), who, srv, "KEY", "7-bytes"); err == nil {
		t.Fatal("7 bytes set")
	}
	if _, err := f.svc.Create(t.Context(), who, srv, secrets.CreateInput{Name: "SHORT", Value: ptr("7-bytes")}); err == nil {
		t.Fatal("7 bytes created")
	}
	if n := f.count(t, "SELECT count(*) FROM server_secrets WHERE value_enc IS NOT NULL OR name = 'SHORT'"); n != 0 {
		t.Fatalf("%d rows stored", n)
	}
	if n := f.count(t, "SELECT count(*) FROM activity_log WHERE action <> 'secret.create'"); n != 0 {
		t.Fatalf("%d audit rows of refused writes", n)
	}
}

// Create reports every rule failure at once and stores nothing.
func TestCreateRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather")
	_, err := f.svc.Create(t.Context(), who, srv, secrets.CreateInput{
		Name: "lower", Description: strings.Repeat("d", secrets.MaxDescriptionLen+1), Value: ptr("short"),
	})
	var fields []string
	for _, fe := range proto.FieldErrors(err) {
		fields = append(fields, fe.Field)
	}
	if !slices.Equal(fields, []string{"name", "description", "value"}) {
		t.Fatalf("fields %v (%v)", fields, err)
	}
	for _, name := range []string{"", "A-B", "1ABC", "Abc", strings.Repeat("A", 65)} {
		if _, err := f.svc.Create(t.Context(), who, srv, secrets.CreateInput{Name: name}); err == nil {
			t.Fatalf("name %q accepted", name)
		}
	}
	if _, err := f.svc.Create(t.Context(), who, srv, secrets.CreateInput{Name: strings.Repeat("A", 64)}); err != nil {
		t.Fatalf("64 characters: %v", err)
	}
	if _, err := f.svc.Create(t.Context(), who, srv, secrets.CreateInput{Name: strings.Repeat("A", 64)}); !errors.As(err, new(*secrets.AlreadyExistsError)) {
		t.Fatalf("duplicate: %v", err)
	}
	if n := f.count(t, "SELECT count(*) FROM server_secrets"); n != 1 {
		t.Fatalf("%d rows", n)
	}
}

// An unknown server and an unknown secret are told apart on every call.
func TestNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather")
	ctx := t.Context()
	for _, tc := range []struct {
		server uuid.UUID
		name   string
		want   error
	}{
		{uuid.New(), "KEY", secrets.ErrServerNotFound},
		{uuid.New(), "lower", secrets.ErrServerNotFound},
		{srv, "KEY", secrets.ErrSecretNotFound},
		{srv, "lower", secrets.ErrSecretNotFound},
	} {
		calls := map[string]error{}
		_, calls["set"] = f.svc.SetValue(ctx, who, tc.server, tc.name, "long-enough")
		_, calls["clear"] = f.svc.ClearValue(ctx, who, tc.server, tc.name)
		_, calls["describe"] = f.svc.SetDescription(ctx, who, tc.server, tc.name, "x")
		calls["delete"] = f.svc.Delete(ctx, who, tc.server, tc.name)
		for op, err := range calls {
			if !errors.Is(err, tc.want) {
				t.Fatalf("%s %s: %v, want %v", op, tc.name, err, tc.want)
			}
		}
	}
	if _, err := f.svc.List(ctx, uuid.New(), 50, ""); !errors.Is(err, secrets.ErrServerNotFound) {
		t.Fatalf("list: %v", err)
	}
	if _, err := f.svc.Create(ctx, who, uuid.New(), secrets.CreateInput{Name: "KEY"}); !errors.Is(err, secrets.ErrServerNotFound) {
		t.Fatalf("create: %v", err)
	}
	if n := f.count(t, "SELECT count(*) FROM activity_log"); n != 0 {
		t.Fatalf("%d audit rows", n)
	}
}

// A server's secrets go with it (§4.3); the cursor of one server's list is
// refused for another's.
func TestListPagesAndCascade(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv, other := f.server(t, "weather"), f.server(t, "mail")
	names := []string{"D", "A_B", "B", "A", "C_1"}
	for _, n := range names {
		if _, err := f.svc.Create(t.Context(), who, srv, secrets.CreateInput{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	cursor := ""
	for {
		p, err := f.svc.List(t.Context(), srv, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Items {
			got = append(got, s.Name)
		}
		if p.NextCursor == "" {
			break
		}
		if _, err := f.svc.List(t.Context(), other, 2, p.NextCursor); !isRule(err, "cursor") {
			t.Fatalf("other server's cursor: %v", err)
		}
		cursor = p.NextCursor
	}
	if want := []string{"A", "A_B", "B", "C_1", "D"}; !slices.Equal(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
	if _, err := f.svc.List(t.Context(), srv, 0, ""); !isRule(err, "limit") {
		t.Fatalf("limit 0: %v", err)
	}
	dbtest.Exec(t, f.url, "DELETE FROM servers WHERE id = $1", srv)
	if n := f.count(t, "SELECT count(*) FROM server_secrets"); n != 0 {
		t.Fatalf("%d secrets after the server's delete", n)
	}
}

func isRule(err error, field string) bool {
	var re *proto.RuleError
	return errors.As(err, &re) && re.Field == field
}
