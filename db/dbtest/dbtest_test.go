package dbtest

import (
	"context"
	"regexp"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/mcpbox/mcpbox/db"
)

var cloneNameRE = regexp.MustCompile(`^mcpbox_t_[0-9a-f]{8}$`)

func dbName(t *testing.T, dsn string) (name string, version int64) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	err = conn.QueryRow(t.Context(),
		"SELECT current_database(), (SELECT max(version_id) FROM goose_db_version)").Scan(&name, &version)
	if err != nil {
		t.Fatal(err)
	}
	return name, version
}

// TestOPS7_ClonePerTest: each call gets its own fully migrated database,
// cloned from the template named after the migrations' hash.
func TestOPS7_ClonePerTest(t *testing.T) {
	t.Parallel()
	a, b := URL(t), URL(t)
	nameA, versionA := dbName(t, a)
	nameB, versionB := dbName(t, b)
	if nameA == nameB || !cloneNameRE.MatchString(nameA) || !cloneNameRE.MatchString(nameB) {
		t.Errorf("databases %q and %q: want two distinct mcpbox_t_<8 hex> names", nameA, nameB)
	}
	newest := db.NewestMigration()
	if versionA != newest || versionB != newest {
		t.Errorf("schema versions %d and %d, want %d (migrated template)", versionA, versionB, newest)
	}

	srv := connect(t)
	defer srv.close()
	var allowConn bool
	if err := srv.conn.QueryRow(t.Context(), "SELECT datallowconn FROM pg_database WHERE datname = $1",
		TemplateName()).Scan(&allowConn); err != nil {
		t.Fatalf("template %s: %v", TemplateName(), err)
	}
	if allowConn {
		t.Errorf("template %s accepts connections; CREATE DATABASE … TEMPLATE would fail while one is open", TemplateName())
	}

	// A write in one clone is invisible in the other.
	st := New(t)
	if _, err := st.BumpCatalogRevision(t.Context()); err != nil {
		t.Fatal(err)
	}
	other := New(t)
	rev, err := other.GetRevisions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rev.Catalog != 0 {
		t.Errorf("catalog revision in a fresh clone = %d, want 0", rev.Catalog)
	}
}

// TestOPS7_CloneDroppedAfterTest: the clone is dropped in t.Cleanup.
func TestOPS7_CloneDroppedAfterTest(t *testing.T) {
	t.Parallel()
	srv := connect(t)
	var name string
	// The parent's cleanup runs after the subtest and its cleanups finished.
	t.Cleanup(func() {
		defer srv.close()
		exists, err := srv.exists(context.Background(), name)
		if err != nil {
			t.Error(err)
		}
		if name == "" || exists {
			t.Errorf("database %q still exists after its test ended", name)
		}
	})
	t.Run("uses a clone", func(t *testing.T) {
		t.Parallel()
		name, _ = dbName(t, URL(t))
	})
}

// TestOPS7_TemplateKeyedByMigrations: the template name is a function of the
// migrations' names and contents, so a changed migration gets a new template.
func TestOPS7_TemplateKeyedByMigrations(t *testing.T) {
	t.Parallel()
	base := fstest.MapFS{
		"00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE a (id int);\n")},
		"00002_b.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (id int);\n")},
		"README.md":   {Data: []byte("not a migration")},
	}
	edited := fstest.MapFS{
		"00001_a.sql": base["00001_a.sql"],
		"00002_b.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (id bigint);\n")},
	}
	added := fstest.MapFS{
		"00001_a.sql": base["00001_a.sql"],
		"00002_b.sql": base["00002_b.sql"],
		"00003_c.sql": {Data: []byte("-- +goose Up\n")},
	}
	renamed := fstest.MapFS{
		"00001_a.sql":       base["00001_a.sql"],
		"00002_renamed.sql": base["00002_b.sql"],
	}
	names := map[string]string{}
	for label, fsys := range map[string]fstest.MapFS{"base": base, "edited": edited, "added": added, "renamed": renamed} {
		name, err := templateNameFor(fsys)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^mcpbox_t_tpl_[0-9a-f]{8}$`).MatchString(name) {
			t.Errorf("%s: template name %q, want mcpbox_t_tpl_<8 hex>", label, name)
		}
		for other, n := range names {
			if n == name {
				t.Errorf("%s and %s share template %s", label, other, name)
			}
		}
		names[label] = name
	}
	again, err := templateNameFor(base)
	if err != nil || again != names["base"] {
		t.Errorf("same migrations gave %q then %q (%v)", names["base"], again, err)
	}
	if got, err := templateNameFor(db.Migrations()); err != nil || got != TemplateName() {
		t.Errorf("TemplateName() = %q, templateNameFor(db.Migrations()) = %q, %v", TemplateName(), got, err)
	}
}

// TestOPS7_SweepsStaleClones: leftovers older than an hour are dropped,
// younger ones and templates kept, and unmarked ones marked for a later sweep.
func TestOPS7_SweepsStaleClones(t *testing.T) {
	t.Parallel()
	srv := connect(t)
	defer srv.close()
	ctx := t.Context()
	now := time.Now()
	stale := clonePrefix + randomHex(t)
	fresh := clonePrefix + randomHex(t)
	unmarked := clonePrefix + randomHex(t)
	oldTemplate := templatePrefix + "test" + randomHex(t)
	for _, name := range []string{stale, fresh, unmarked, oldTemplate} {
		t.Cleanup(func() { _ = dropDatabase(srv.adminURL, name) })
		if _, err := srv.conn.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE template0"); err != nil {
			t.Fatal(err)
		}
	}
	for name, at := range map[string]time.Time{
		stale: now.Add(-2 * time.Hour), fresh: now.Add(-10 * time.Minute), oldTemplate: now.Add(-48 * time.Hour),
	} {
		if err := srv.markCreated(ctx, name, at); err != nil {
			t.Fatal(err)
		}
	}

	srv.sweep(ctx, t, now)

	got := map[string]bool{}
	for _, name := range []string{stale, fresh, unmarked, oldTemplate} {
		ok, err := srv.exists(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got[name] = ok
	}
	want := map[string]bool{stale: false, fresh: true, unmarked: true, oldTemplate: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exists after sweep mismatch (-want +got):\n%s", diff)
	}
	var comment string
	if err := srv.conn.QueryRow(ctx, "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "+
		"WHERE datname = $1", unmarked).Scan(&comment); err != nil {
		t.Fatal(err)
	}
	m := commentRE.FindStringSubmatch(comment)
	if m == nil {
		t.Fatalf("unmarked leftover has comment %q after the sweep, want a creation time", comment)
	}
	// Marked "now", so a sweep an hour later drops it. (The test does not run
	// that sweep: a sweep with a clock moved forward would drop the live clones
	// of tests running in parallel.)
	if marked, err := time.Parse(time.RFC3339, m[1]); err != nil || marked.Sub(now).Abs() > time.Minute {
		t.Errorf("unmarked leftover marked %q (%v), want about %s", m[1], err, now.UTC().Format(time.RFC3339))
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct{ dsn, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/x?sslmode=disable"},
		{"postgresql://u:p%40ss@h/db", "postgresql://u:p%40ss@h/x"},
		{"postgres://u@h:5433", "postgres://u@h:5433/x"},
		{"postgres://u@h/?dbname=other", "postgres://u@h/x?dbname=x"},
		{"host=127.0.0.1 user=postgres dbname=postgres", "host=127.0.0.1 user=postgres dbname=postgres dbname=x"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.dsn, "x")
		if err != nil || got != tt.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tt.dsn, got, err, tt.want)
		}
	}
	// The keyword/value form really selects the last dbname.
	cfg, err := pgx.ParseConfig("host=127.0.0.1 user=postgres dbname=postgres dbname=x")
	if err != nil || cfg.Database != "x" {
		t.Errorf("pgx reads dbname %q (%v), want the later x", cfg.Database, err)
	}
}
