// Package testdb chooses the PostgreSQL server that `make test` runs the
// database tests on (operations.md §1.4), the first available of:
//
//  1. MCPBOX_TEST_DATABASE_URL, used as given;
//  2. 127.0.0.1:5432 as user postgres without a password;
//  3. a throwaway cluster on 127.0.0.1:15433 in a temporary directory
//     (initdb -A trust, TCP only, fsync, synchronous_commit and
//     full_page_writes off), which the caller must Stop on every exit path.
//
// MCPBOX_DATABASE_URL, the services' own database, is never read.
package testdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// Defaults of the selection.
const (
	SystemURL   = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=3"
	ClusterPort = 15433
)

// Source says where the chosen server came from.
type Source string

// Sources, in order of preference.
const (
	FromEnv     Source = "MCPBOX_TEST_DATABASE_URL"
	FromSystem  Source = "system server"
	FromCluster Source = "throwaway cluster"
)

// Options configure Select.
type Options struct {
	// EnvURL is MCPBOX_TEST_DATABASE_URL, "" when unset.
	EnvURL string
	// SystemURL is the server tried second; "" means the SystemURL constant.
	SystemURL string
	// Cluster configures the throwaway cluster started last.
	Cluster ClusterOptions
	// Log receives progress lines.
	Log io.Writer
}

// Choice is the selected server. Cluster is non-nil when Select started one;
// the caller owns it and must Stop it.
type Choice struct {
	URL     string
	Source  Source
	Cluster *Cluster
}

// Select returns the first available server.
func Select(ctx context.Context, o Options) (Choice, error) {
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	if o.EnvURL != "" {
		if err := Ping(ctx, o.EnvURL); err != nil {
			return Choice{}, fmt.Errorf("MCPBOX_TEST_DATABASE_URL (%s) does not answer: %w", Redact(o.EnvURL), err)
		}
		_, _ = fmt.Fprintf(log, "testdb: using MCPBOX_TEST_DATABASE_URL (%s)\n", Redact(o.EnvURL))
		return Choice{URL: o.EnvURL, Source: FromEnv}, nil
	}
	sys := o.SystemURL
	if sys == "" {
		sys = SystemURL
	}
	err := Ping(ctx, sys)
	if err == nil {
		_, _ = fmt.Fprintf(log, "testdb: using %s\n", Redact(sys))
		return Choice{URL: sys, Source: FromSystem}, nil
	}
	_, _ = fmt.Fprintf(log, "testdb: %s is not usable (%v); starting a throwaway cluster\n", Redact(sys), err)
	c, err := StartCluster(ctx, o.Cluster, log)
	if err != nil {
		return Choice{}, err
	}
	return Choice{URL: c.URL(), Source: FromCluster, Cluster: c}, nil
}

// Ping connects to the server at dsn and runs a round trip, within 5 s.
func Ping(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Redact returns dsn with any password replaced, for logs.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		if err != nil {
			return "(unparseable URL)"
		}
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// ErrPortInUse means the throwaway cluster's port is taken.
var ErrPortInUse = errors.New("port in use")
