package testdb

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/tools/internal/testport"
)

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int { return testport.Port(t) }

// deadURL points at a loopback port with no server.
func deadURL(t *testing.T) string {
	t.Helper()
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(freePort(t)) + "/postgres?sslmode=disable&connect_timeout=2"
}

// TestOPS7_SelectStartsAndRemovesAThrowawayCluster: with nothing on the
// system address, Select starts a TCP-only cluster that answers, and Stop
// removes it, twice safely (OPS-7).
func TestOPS7_SelectStartsAndRemovesAThrowawayCluster(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	port := freePort(t)
	c, err := Select(t.Context(), Options{SystemURL: deadURL(t), Cluster: ClusterOptions{Port: port}, Log: &log})
	if err != nil {
		t.Fatalf("Select: %v\n%s", err, log.String())
	}
	if c.Source != FromCluster || c.Cluster == nil {
		t.Fatalf("Select chose %s, want a throwaway cluster", c.Source)
	}
	dir := c.Cluster.Dir()
	t.Cleanup(func() { _ = c.Cluster.Stop(t.Context(), nil) })
	if err := Ping(t.Context(), c.URL); err != nil {
		t.Fatalf("cluster does not answer at %s: %v", c.URL, err)
	}
	conf, err := os.ReadFile(c.Cluster.DataDir() + "/postgresql.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"unix_socket_directories = ''", "fsync = off", "synchronous_commit = off", "full_page_writes = off", "listen_addresses = '127.0.0.1'"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("postgresql.conf lacks %q", want)
		}
	}
	if _, err := StartCluster(t.Context(), ClusterOptions{Port: port}, nil); !errors.Is(err, ErrPortInUse) {
		t.Errorf("second cluster on port %d: err = %v, want ErrPortInUse", port, err)
	}
	if err := c.Cluster.Stop(t.Context(), nil); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Cluster.Stop(t.Context(), nil); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s still exists after Stop (stat: %v)", dir, err)
	}
	if err := Ping(t.Context(), c.URL); err == nil {
		t.Error("cluster still answers after Stop")
	}
}

func TestSelectPrefersTheEnvironmentURL(t *testing.T) {
	t.Parallel()
	// A dead MCPBOX_TEST_DATABASE_URL fails loudly instead of falling back.
	env := deadURL(t)
	_, err := Select(t.Context(), Options{EnvURL: env, SystemURL: deadURL(t)})
	if err == nil || !strings.Contains(err.Error(), "MCPBOX_TEST_DATABASE_URL") {
		t.Errorf("Select with a dead env URL: err = %v, want one naming MCPBOX_TEST_DATABASE_URL", err)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"postgres://u:secret@127.0.0.1:5432/db?sslmode=disable": "postgres://u:xxxxx@127.0.0.1:5432/db?sslmode=disable",
		"postgres://postgres@127.0.0.1:5432/postgres":           "postgres://postgres@127.0.0.1:5432/postgres",
	}
	for in, want := range tests {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
