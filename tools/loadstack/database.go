package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// dbPrefix is loadstack's database name prefix. It starts with db/dbtest's clone prefix (mcpbox_t_) and carries
// dbtest's creation comment, so a database a killed run left behind is dropped by the next test run's sweep.
const dbPrefix = "mcpbox_t_load_"

// dbTimeout bounds each statement loadstack sends to the test server.
const dbTimeout = 30 * time.Second

// freshDB is the run's own database on the test server.
type freshDB struct {
	adminURL string // the server, as -db gave it
	name     string
	url      string // the connection string of the new database, for devstack
}

// createDB creates an empty database (from template0: devstack migrates it) with dbtest's creation comment.
func createDB(ctx context.Context, adminURL string) (*freshDB, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("random database name: %w", err)
	}
	name := dbPrefix + hex.EncodeToString(b[:])
	dsn, err := withDatabase(adminURL, name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to the test PostgreSQL (-db, MCPBOX_TEST_DATABASE_URL): %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident+" TEMPLATE template0"); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	db := &freshDB{adminURL: adminURL, name: name, url: dsn}
	if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+ident+" IS "+literal(createdComment(time.Now()))); err != nil {
		_ = db.drop()
		return nil, fmt.Errorf("comment on database %s: %w", name, err)
	}
	return db, nil
}

// drop drops the database WITH (FORCE) over a fresh connection; a database already gone is no error.
func (d *freshDB) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.adminURL)
	if err != nil {
		return fmt.Errorf("drop database %s: connect: %w", d.name, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.name}.Sanitize()+" WITH (FORCE)"); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "3D000" {
			return nil
		}
		return fmt.Errorf("drop database %s: %w", d.name, err)
	}
	return nil
}

// createdComment is db/dbtest's COMMENT ON DATABASE text, which its sweep reads.
func createdComment(at time.Time) string {
	return "mcpbox dbtest created " + at.UTC().Format(time.RFC3339)
}

// withDatabase returns dsn (URL or keyword/value form) pointing at database name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse -db: %w", err)
		}
		u.Path, u.RawPath = "/"+name, ""
		if q := u.Query(); q.Has("dbname") {
			q.Set("dbname", name)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	if strings.TrimSpace(dsn) == "" {
		return "", errors.New("-db: empty connection string")
	}
	// Keyword/value form: a later keyword wins.
	return strings.TrimSpace(dsn) + " dbname=" + name, nil
}

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
