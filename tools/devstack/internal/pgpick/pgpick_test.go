package pgpick_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/pgpick"
)

// fake records which probes ran.
type fake struct {
	answers   bool
	ensureErr error
	calls     []string
	said      []string
}

func (f *fake) deps() pgpick.Deps {
	return pgpick.Deps{
		Answers: func(_ context.Context, addr string) bool {
			f.calls = append(f.calls, "answers "+addr)
			return f.answers
		},
		EnsureDatabase: func(_ context.Context, adminURL, name string) error {
			f.calls = append(f.calls, "ensure "+adminURL+" "+name)
			return f.ensureErr
		},
		Private: func(context.Context) (pgpick.Choice, error) {
			f.calls = append(f.calls, "private")
			return pgpick.Choice{Kind: pgpick.Private, URL: "postgres://private", Desc: "private cluster on 127.0.0.1:15432"}, nil
		},
		Say: func(format string, args ...any) { f.said = append(f.said, fmt.Sprintf(format, args...)) },
	}
}

// OPS-2: the order of the choice, with injected probes.
func TestOPS2_DatabaseChoiceOrder(t *testing.T) {
	t.Parallel()
	base := pgpick.Input{ProbeAddr: "127.0.0.1:5432", Database: "mcpbox"}
	cases := []struct {
		name      string
		in        func(pgpick.Input) pgpick.Input
		f         fake
		kind      pgpick.Kind
		url, desc string
		calls     string
		say       string
		err       string
	}{
		{
			name: "MCPBOX_DATABASE_URL is used as given, nothing probed",
			in: func(i pgpick.Input) pgpick.Input {
				i.CallerURL, i.Recorded = "postgres://u:p@db:5432/x", "private"
				return i
			},
			f:    fake{answers: true},
			kind: pgpick.FromURL, url: "postgres://u:p@db:5432/x", desc: "MCPBOX_DATABASE_URL",
		},
		{
			name: "recorded private wins over a usable system server",
			in:   func(i pgpick.Input) pgpick.Input { i.Recorded = "private"; return i },
			f:    fake{answers: true},
			kind: pgpick.Private, url: "postgres://private", calls: "private",
		},
		{
			name: "recorded system",
			in:   func(i pgpick.Input) pgpick.Input { i.Recorded = "system"; return i },
			f:    fake{},
			kind: pgpick.System, url: "postgres://postgres@127.0.0.1:5432/mcpbox?sslmode=disable",
			desc:  "system server on 127.0.0.1:5432",
			calls: "ensure postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable mcpbox",
		},
		{
			name: "recorded system that refuses is an error, never a silent move",
			in:   func(i pgpick.Input) pgpick.Input { i.Recorded = "system"; return i },
			f:    fake{ensureErr: errors.New("password authentication failed")},
			err:  "dev.env records MCPBOX_DEV_DB=system",
		},
		{
			name: "a usable server on the probe address gets mcpbox and is recorded as system",
			in:   func(i pgpick.Input) pgpick.Input { return i },
			f:    fake{answers: true},
			kind: pgpick.System, url: "postgres://postgres@127.0.0.1:5432/mcpbox?sslmode=disable",
			calls: "answers 127.0.0.1:5432|ensure postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable mcpbox",
		},
		{
			name: "a server that refuses the login gets a line, then a private cluster",
			in:   func(i pgpick.Input) pgpick.Input { return i },
			f:    fake{answers: true, ensureErr: errors.New("password authentication failed")},
			kind: pgpick.Private, url: "postgres://private",
			calls: "answers 127.0.0.1:5432|ensure postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable mcpbox|private",
			say:   "set MCPBOX_DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/mcpbox",
		},
		{
			name: "no server: private cluster",
			in:   func(i pgpick.Input) pgpick.Input { return i },
			f:    fake{},
			kind: pgpick.Private, calls: "answers 127.0.0.1:5432|private",
		},
		{
			name: "probe off: private cluster without probing",
			in:   func(i pgpick.Input) pgpick.Input { i.ProbeAddr = ""; return i },
			f:    fake{answers: true},
			kind: pgpick.Private, calls: "private",
		},
		{
			name: "unknown recorded value",
			in:   func(i pgpick.Input) pgpick.Input { i.Recorded = "cloud"; return i },
			err:  `MCPBOX_DEV_DB="cloud": must be system or private`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := tc.f
			c, err := pgpick.Choose(context.Background(), tc.in(base), f.deps())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Kind != tc.kind || (tc.url != "" && c.URL != tc.url) || (tc.desc != "" && c.Desc != tc.desc) {
				t.Errorf("choice %+v", c)
			}
			if tc.calls != "" && strings.Join(f.calls, "|") != tc.calls {
				t.Errorf("calls %q, want %q", strings.Join(f.calls, "|"), tc.calls)
			}
			if tc.say != "" && (len(f.said) != 1 || !strings.Contains(f.said[0], tc.say)) {
				t.Errorf("said %q, want a line containing %q", f.said, tc.say)
			}
			if tc.say == "" && len(f.said) > 0 {
				t.Errorf("unexpected line %q", f.said)
			}
		})
	}
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if !pgpick.Answers(context.Background(), addr) {
		t.Error("listening address does not answer")
	}
	_ = ln.Close()
	if pgpick.Answers(context.Background(), addr) {
		t.Error("closed address answers")
	}
}

// OPS-2 against a real server: EnsureDatabase creates a missing database once and accepts an existing
// one. It uses a throwaway database name, never mcpbox, on the test server.
func TestOPS2_EnsureDatabaseOnRealServer(t *testing.T) {
	t.Parallel()
	admin := os.Getenv("MCPBOX_TEST_DATABASE_URL")
	if admin == "" {
		if !pgpick.Answers(context.Background(), "127.0.0.1:5432") {
			t.Skip("no test database: set MCPBOX_TEST_DATABASE_URL or run PostgreSQL on 127.0.0.1:5432")
		}
		admin = pgpick.SystemURL("127.0.0.1:5432", "postgres")
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "mcpbox_t_devstack_" + hex.EncodeToString(b)
	ctx := context.Background()
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	for range 2 {
		if err := pgpick.EnsureDatabase(ctx, admin, name); err != nil {
			t.Fatal(err)
		}
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("database %s not usable: %v", name, err)
	}
	_ = conn.Close(ctx)
}
