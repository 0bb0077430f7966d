// Package dbtest gives each test its own migrated PostgreSQL database
// (spec/operations.md §1.4 "Test database", STYLE.md §9).
//
// The first caller in a run builds a template database,
// mcpbox_t_tpl_<first 8 hex of the SHA-256 of the migrations>, under a
// PostgreSQL advisory lock: it migrates a database with a temporary name and
// renames it when done, so a changed migration gets a new template and never
// meets a stale or half-built one. Each test then gets
// `CREATE DATABASE mcpbox_t_<8 random hex> TEMPLATE …`, dropped WITH (FORCE)
// in t.Cleanup. Every call also sweeps clones and unfinished templates
// (mcpbox_t_*, not mcpbox_t_tpl_*) older than an hour, which a killed test
// run left behind; creation times are kept in COMMENT ON DATABASE.
//
// The server is MCPBOX_TEST_DATABASE_URL when set (its user needs CREATEDB),
// else postgres@127.0.0.1:5432 if it answers within 2 s; with neither, the
// test is skipped with a message saying so (CI counts such a skip as a
// failure). MCPBOX_DATABASE_URL is never read.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mcpbox/mcpbox/db"
)

// EnvURL names the variable that selects the test server.
const EnvURL = "MCPBOX_TEST_DATABASE_URL"

const (
	defaultURL     = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	probeTimeout   = 2 * time.Second
	connectTimeout = 10 * time.Second
	setupTimeout   = 3 * time.Minute
	dropTimeout    = 30 * time.Second
	staleAfter     = time.Hour

	clonePrefix    = "mcpbox_t_"
	templatePrefix = "mcpbox_t_tpl_"
	buildPrefix    = "mcpbox_t_tmp_"

	// templateLockKey serialises template builds across test processes
	// ("mcpbox_t" in ASCII).
	templateLockKey int64 = 0x6d6370626f785f74

	// Test stores keep few connections: many tests run in parallel.
	storeMaxConns = 4
)

// commentRE reads the creation time dbtest writes into COMMENT ON DATABASE.
var commentRE = regexp.MustCompile(`^mcpbox dbtest created (\S+)`)

// New returns a Store on a fresh, fully migrated database of its own, closed
// and dropped when the test ends.
func New(t testing.TB) *db.Store {
	t.Helper()
	dsn := URL(t)
	ctx, cancel := context.WithTimeout(t.Context(), connectTimeout)
	defer cancel()
	st, err := db.Open(ctx, dsn, db.WithMaxConns(storeMaxConns), db.WithConnectTimeout(connectTimeout))
	if err != nil {
		t.Fatalf("dbtest: open test database: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

// URL returns the connection string of a fresh, fully migrated database of
// the test's own, dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	srv := connect(t)
	defer srv.close()
	tpl := srv.ensureTemplate(t)
	return srv.create(t, tpl)
}

// EmptyURL returns the connection string of a fresh database without any
// migration applied (from template0), dropped when the test ends. Migration
// tests use it.
func EmptyURL(t testing.TB) string {
	t.Helper()
	srv := connect(t)
	defer srv.close()
	return srv.create(t, "template0")
}

// TemplateName returns the name of the template for the embedded migrations.
func TemplateName() string {
	name, err := templateNameFor(db.Migrations())
	if err != nil {
		// The migrations are embedded in the binary; reading them cannot fail.
		panic(err)
	}
	return name
}

// templateNameFor hashes the names and contents of the *.sql files of fsys.
func templateNameFor(fsys fs.FS) (string, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return "", fmt.Errorf("list migrations: %w", err)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", fmt.Errorf("read migration: %w", err)
		}
		_, _ = fmt.Fprintf(h, "%s\x00%d\x00", name, len(data))
		h.Write(data)
	}
	return templatePrefix + hex.EncodeToString(h.Sum(nil))[:8], nil
}

// server is an admin connection to the test server.
type server struct {
	conn     *pgx.Conn
	adminURL string
}

// connect opens an admin connection, or skips the test when no server is
// configured or answering.
func connect(t testing.TB) *server {
	t.Helper()
	if dsn := os.Getenv(EnvURL); dsn != "" {
		ctx, cancel := context.WithTimeout(t.Context(), connectTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("dbtest: %s is set but its server does not answer: %v", EnvURL, err)
		}
		return &server{conn: conn, adminURL: dsn}
	}
	ctx, cancel := context.WithTimeout(t.Context(), probeTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, defaultURL)
	if err != nil {
		t.Skipf("dbtest: no PostgreSQL for this test: %s is unset and postgres@127.0.0.1:5432 did not answer "+
			"within %s (%v). Set %s to a server whose user may CREATE DATABASE.", EnvURL, probeTimeout, err, EnvURL)
	}
	return &server{conn: conn, adminURL: defaultURL}
}

func (s *server) close() {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	_ = s.conn.Close(ctx)
}

// create makes a new database from template, marks its creation time and
// registers its drop. It sweeps stale leftovers first.
func (s *server) create(t testing.TB, template string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), setupTimeout)
	defer cancel()
	s.sweep(ctx, t, time.Now())
	name := clonePrefix + randomHex(t)
	if err := s.createDatabase(ctx, name, template); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	adminURL := s.adminURL
	t.Cleanup(func() {
		if err := dropDatabase(adminURL, name); err != nil {
			t.Errorf("dbtest: %v", err)
		}
	})
	dsn, err := withDatabase(s.adminURL, name)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return dsn
}

// createDatabase runs CREATE DATABASE … TEMPLATE and records the time.
func (s *server) createDatabase(ctx context.Context, name, template string) error {
	sql := "CREATE DATABASE " + ident(name) + " TEMPLATE " + ident(template)
	if _, err := s.conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("create database %s from %s: %w", name, template, err)
	}
	if err := s.markCreated(ctx, name, time.Now()); err != nil {
		return err
	}
	return nil
}

func (s *server) markCreated(ctx context.Context, name string, at time.Time) error {
	comment := "mcpbox dbtest created " + at.UTC().Format(time.RFC3339)
	sql := "COMMENT ON DATABASE " + ident(name) + " IS " + literal(comment)
	if _, err := s.conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("comment on database %s: %w", name, err)
	}
	return nil
}

// ensureTemplate returns the template for the embedded migrations, building it
// under the advisory lock when it does not exist yet.
func (s *server) ensureTemplate(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), setupTimeout)
	defer cancel()
	tpl := TemplateName()
	if ok, err := s.exists(ctx, tpl); err != nil {
		t.Fatalf("dbtest: %v", err)
	} else if ok {
		return tpl
	}
	if _, err := s.conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		t.Fatalf("dbtest: lock template build: %v", err)
	}
	defer func() {
		_, _ = s.conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", templateLockKey)
	}()
	if ok, err := s.exists(ctx, tpl); err != nil {
		t.Fatalf("dbtest: %v", err)
	} else if ok {
		return tpl // another process built it while we waited
	}
	if err := s.buildTemplate(ctx, tpl, buildPrefix+strings.TrimPrefix(tpl, templatePrefix)+"_"+randomHex(t)); err != nil {
		t.Fatalf("dbtest: build template %s: %v", tpl, err)
	}
	return tpl
}

// buildTemplate migrates a database named tmp and renames it to tpl.
func (s *server) buildTemplate(ctx context.Context, tpl, tmp string) (err error) {
	if err := s.createDatabase(ctx, tmp, "template0"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = dropDatabase(s.adminURL, tmp)
		}
	}()
	dsn, err := withDatabase(s.adminURL, tmp)
	if err != nil {
		return err
	}
	st, err := db.Open(ctx, dsn, db.WithMaxConns(1), db.WithConnectTimeout(connectTimeout))
	if err != nil {
		return fmt.Errorf("open %s: %w", tmp, err)
	}
	_, err = st.Migrate(ctx)
	st.Close()
	if err != nil {
		return fmt.Errorf("migrate %s: %w", tmp, err)
	}
	// Nobody may connect to a template: CREATE DATABASE … TEMPLATE refuses a
	// source that has sessions.
	if _, err := s.conn.Exec(ctx, "ALTER DATABASE "+ident(tmp)+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("close %s to connections: %w", tmp, err)
	}
	if _, err := s.conn.Exec(ctx, "ALTER DATABASE "+ident(tmp)+" RENAME TO "+ident(tpl)); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, tpl, err)
	}
	return nil
}

func (s *server) exists(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := s.conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("look up database %s: %w", name, err)
	}
	return ok, nil
}

// sweep drops clones and unfinished template builds older than staleAfter.
// A database without dbtest's comment (its creator died between CREATE and
// COMMENT) is marked now and dropped by a later sweep. Errors are only
// logged: another process may be sweeping the same database.
func (s *server) sweep(ctx context.Context, t testing.TB, now time.Time) {
	t.Helper()
	rows, err := s.conn.Query(ctx, `SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '')
		FROM pg_database WHERE datname ~ '^mcpbox_t_' AND datname !~ '^mcpbox_t_tpl_'`)
	if err != nil {
		t.Logf("dbtest: sweep: list databases: %v", err)
		return
	}
	type leftover struct{ name, comment string }
	var found []leftover
	for rows.Next() {
		var l leftover
		if err := rows.Scan(&l.name, &l.comment); err == nil {
			found = append(found, l)
		}
	}
	rows.Close()
	for _, l := range found {
		m := commentRE.FindStringSubmatch(l.comment)
		if m == nil {
			if err := s.markCreated(ctx, l.name, now); err != nil {
				t.Logf("dbtest: sweep: %v", err)
			}
			continue
		}
		created, err := time.Parse(time.RFC3339, m[1])
		if err != nil || now.Sub(created) < staleAfter {
			continue
		}
		if err := dropDatabase(s.adminURL, l.name); err != nil {
			t.Logf("dbtest: sweep: %v", err)
			continue
		}
		t.Logf("dbtest: swept stale test database %s (created %s)", l.name, created.Format(time.RFC3339))
	}
}

// dropDatabase drops name WITH (FORCE) over a fresh admin connection (it runs
// in t.Cleanup, after the test's context is done).
func dropDatabase(adminURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("drop database %s: connect: %w", name, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "3D000" {
			return nil
		}
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// withDatabase returns dsn (URL or keyword/value form) pointing at database name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		q := u.Query()
		if q.Has("dbname") {
			q.Set("dbname", name)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// Keyword/value form: a later keyword wins.
	return strings.TrimSpace(dsn) + " dbname=" + name, nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func randomHex(t testing.TB) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("dbtest: random name: %v", err)
	}
	return hex.EncodeToString(b[:])
}

// Exec runs statements on the database at dsn, outside any Store: tests use
// it to set up states the API cannot create (a raised schema floor, a
// migration from a newer release, a dropped connection).
func Exec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("dbtest: %s: %v", sql, err)
	}
}

// QueryRow runs a query on the database at dsn and scans its one row into
// dest: tests read what the API does not show (stored hashes, audit rows).
func QueryRow(t testing.TB, dsn, sql string, dest []any, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		t.Fatalf("dbtest: %s: %v", sql, err)
	}
}

// Listen LISTENs on channel of the database at dsn and returns the payloads
// of its notifications until the test ends.
func Listen(t testing.TB, dsn, channel string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		cancel()
		t.Fatalf("dbtest: connect: %v", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		cancel()
		t.Fatalf("dbtest: listen %s: %v", channel, err)
	}
	out := make(chan string, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				return
			}
			select {
			case out <- n.Payload:
			default: // a test that does not read loses nothing it asked for
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = conn.Close(context.Background())
	})
	return out
}

// Drop drops the database at dsn now (its t.Cleanup drop then finds nothing):
// tests use it to take the database away from a running service.
func Drop(t testing.TB, dsn string) {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	admin, err := withDatabase(dsn, "postgres")
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	if err := dropDatabase(admin, cfg.Database); err != nil {
		t.Fatalf("dbtest: drop %s: %v", cfg.Database, err)
	}
}
