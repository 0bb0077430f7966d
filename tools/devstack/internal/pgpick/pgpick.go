// Package pgpick chooses make run's PostgreSQL (operations.md §1.3 step 2); the first match wins:
// MCPBOX_DATABASE_URL from the caller; the choice recorded in dev.env (MCPBOX_DEV_DB=system|private), so
// data never moves silently; a server on 127.0.0.1:5432 that lets user postgres in without a password
// (database mcpbox is created there when missing); last, a private cluster. A server that answers but
// refuses the login gets a line on setting MCPBOX_DATABASE_URL, and the choice moves on.
package pgpick

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Kind names where the database comes from.
type Kind string

// The kinds; System and Private are the values recorded as MCPBOX_DEV_DB.
const (
	FromURL Kind = "url"
	System  Kind = "system"
	Private Kind = "private"
)

// Choice is the database the services use.
type Choice struct {
	Kind Kind
	URL  string
	// Desc completes the banner's "PostgreSQL: ..." (banner.Info.PostgreSQL).
	Desc string
}

// Input is what the choice depends on.
type Input struct {
	CallerURL string // MCPBOX_DATABASE_URL from the caller's environment
	Recorded  string // MCPBOX_DEV_DB from dev.env
	ProbeAddr string // the system server to try, normally 127.0.0.1:5432; "" skips it
	Database  string // the database to use there, normally mcpbox
}

// Deps are the probes, injected so the order can be tested without servers.
type Deps struct {
	// Answers reports whether something accepts TCP connections on addr.
	Answers func(ctx context.Context, addr string) bool
	// EnsureDatabase connects with adminURL and creates database name when missing.
	EnsureDatabase func(ctx context.Context, adminURL, name string) error
	// Private creates or starts the private cluster.
	Private func(ctx context.Context) (Choice, error)
	// Say prints a line for the developer.
	Say func(format string, args ...any)
}

// Choose applies the order above.
func Choose(ctx context.Context, in Input, d Deps) (Choice, error) {
	if in.CallerURL != "" {
		return Choice{Kind: FromURL, URL: in.CallerURL, Desc: "MCPBOX_DATABASE_URL"}, nil
	}
	switch Kind(in.Recorded) {
	case System:
		if in.ProbeAddr == "" {
			return Choice{}, errors.New("dev.env records MCPBOX_DEV_DB=system, but the system server probe is off; " +
				"drop -probe-addr off, or set MCPBOX_DATABASE_URL")
		}
		c, err := system(ctx, in, d)
		if err != nil {
			return Choice{}, fmt.Errorf("dev.env records MCPBOX_DEV_DB=system, but PostgreSQL on %s is not usable: %w; "+
				"start it, set MCPBOX_DATABASE_URL, or delete the MCPBOX_DEV_DB line from dev.env to choose again "+
				"(its data stays in that server)", in.ProbeAddr, err)
		}
		return c, nil
	case Private:
		return d.Private(ctx)
	case "":
	default:
		return Choice{}, fmt.Errorf("dev.env: MCPBOX_DEV_DB=%q: must be system or private", in.Recorded)
	}
	if in.ProbeAddr != "" && d.Answers(ctx, in.ProbeAddr) {
		c, err := system(ctx, in, d)
		if err == nil {
			return c, nil
		}
		d.Say("PostgreSQL on %s answers but refused user postgres without a password (%v); to use it, set "+
			"MCPBOX_DATABASE_URL=postgres://USER:PASSWORD@%s/%s. Using a private cluster instead.",
			in.ProbeAddr, err, in.ProbeAddr, in.Database)
	}
	return d.Private(ctx)
}

func system(ctx context.Context, in Input, d Deps) (Choice, error) {
	if err := d.EnsureDatabase(ctx, SystemURL(in.ProbeAddr, "postgres"), in.Database); err != nil {
		return Choice{}, err
	}
	return Choice{Kind: System, URL: SystemURL(in.ProbeAddr, in.Database), Desc: "system server on " + in.ProbeAddr}, nil
}

// SystemURL is the URL of database on the system server: user postgres, no password.
func SystemURL(addr, database string) string {
	return (&url.URL{
		Scheme: "postgres", User: url.User("postgres"), Host: addr, Path: "/" + database,
		RawQuery: "sslmode=disable",
	}).String()
}

// Answers reports whether addr accepts a TCP connection within 2 s.
func Answers(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// EnsureDatabase connects with adminURL and creates database name unless it exists.
func EnsureDatabase(ctx context.Context, adminURL, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created meanwhile
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}
