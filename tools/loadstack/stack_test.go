package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDevstackArgsAreTheE2EStack(t *testing.T) {
	t.Parallel()
	got := devstackArgs(stackSpec{root: "/r", bin: "/r/bin", data: "/tmp/d", portOffset: 10000})
	want := []string{
		"-root", "/r", "-bin", "/r/bin", "-data", "/tmp/d", "-port-offset", "10000",
		"-sandbox-bin", "/r/bin/sandbox-e2e", "-probe-addr", "off",
	}
	if !slices.Equal(got, want) {
		t.Errorf("args %q, want %q", got, want)
	}
}

func TestStackEnvSetsTheDatabaseAndStatelessMode(t *testing.T) {
	t.Parallel()
	env := stackEnv([]string{
		"PATH=/bin", "MCPBOX_DATABASE_URL=postgres://dev", "MCPBOX_GATEWAY_SESSION_MODE=hybrid",
		"MCPBOX_DEV_PORT_OFFSET=5", "MCPBOX_SANDBOX_WARM_WORKERS=8",
	}, "postgres://load")
	want := []string{"PATH=/bin", "MCPBOX_SANDBOX_WARM_WORKERS=8", "MCPBOX_DATABASE_URL=postgres://load", "MCPBOX_GATEWAY_SESSION_MODE=stateless"}
	if !slices.Equal(env, want) {
		t.Errorf("env %q, want %q", env, want)
	}
}

func TestParseDevEnv(t *testing.T) {
	t.Parallel()
	env := parseDevEnv("# MCPbox dev settings\n\nMCPBOX_SETUP_CODE=abc=def\n  MCPBOX_DEV_DB=system  \nnot a pair\nMCPBOX_SETUP_CODE=later\n")
	if len(env) != 2 || env["MCPBOX_SETUP_CODE"] != "later" || env["MCPBOX_DEV_DB"] != "system" {
		t.Errorf("parsed %v", keysOf(env))
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestLockedLogKeepsTheHeadAndReadsTheTailFromTheFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "devstack.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	l := &lockedLog{file: f, path: path}
	for i := range 50 {
		if _, err := l.Write([]byte(strings.Repeat("x", i) + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Write([]byte(bannerLine + "\n")); err != nil {
		t.Fatal(err)
	}
	if !l.contains(bannerLine) {
		t.Error("the banner line is not found")
	}
	tail := l.tail(2)
	if tail != "    "+strings.Repeat("x", 49)+"\n    "+bannerLine {
		t.Errorf("tail %q", tail)
	}
}

func TestParseBanner(t *testing.T) {
	t.Parallel()
	// The banner of tools/devstack/internal/banner as devstack prints it on the e2e ports.
	log := `sandbox | {"level":"INFO","msg":"listening"}
MCPbox is running (dev mode; PostgreSQL: MCPBOX_DATABASE_URL)
  Admin UI        http://127.0.0.1:18000/   (first visit: /setup with MCPBOX_SETUP_CODE from /tmp/x/dev.env)
  Internal API    http://127.0.0.1:18004/   (backend /internal/v1 and /metrics, for the gateway and Prometheus; not the UI)
  Local MCP       http://127.0.0.1:18002/mcp
  Add to Claude   claude mcp add --transport http mcpbox http://127.0.0.1:18002/mcp
  Remote MCP      http://127.0.0.1:18080/mcp  (token: bin/devidp token --sub you --email you@example.com)
Press Ctrl-C to stop.
`
	u, err := parseBanner(log)
	if err != nil {
		t.Fatal(err)
	}
	if u.admin != "http://127.0.0.1:18000" || u.localMCP != "http://127.0.0.1:18002/mcp" {
		t.Errorf("urls %+v", u)
	}
	if _, err := parseBanner("Press Ctrl-C to stop.\n"); err == nil {
		t.Error("a log without the banner's URLs: no error")
	}
}

func TestDatabaseNamesAreSweptByDBTest(t *testing.T) {
	t.Parallel()
	// db/dbtest sweeps databases named ^mcpbox_t_ (not templates) whose comment matches this pattern.
	re := regexp.MustCompile(`^mcpbox dbtest created (\S+)`)
	m := re.FindStringSubmatch(createdComment(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)))
	if m == nil || m[1] != "2026-11-27T10:00:00Z" {
		t.Errorf("comment match %q", m)
	}
	if !strings.HasPrefix(dbPrefix, "mcpbox_t_") || strings.HasPrefix(dbPrefix, "mcpbox_t_tpl_") {
		t.Errorf("prefix %s is not swept by dbtest", dbPrefix)
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/mcpbox_t_load_x?sslmode=disable"},
		{"postgresql://u:p@h/db?dbname=db", "postgresql://u:p@h/mcpbox_t_load_x?dbname=mcpbox_t_load_x"},
		{"host=127.0.0.1 user=postgres", "host=127.0.0.1 user=postgres dbname=mcpbox_t_load_x"},
	} {
		got, err := withDatabase(tc.in, "mcpbox_t_load_x")
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := withDatabase("  ", "x"); err == nil {
		t.Error("an empty connection string: no error")
	}
	if lit := literal("it's"); lit != "'it''s'" {
		t.Errorf("literal %s", lit)
	}
}
