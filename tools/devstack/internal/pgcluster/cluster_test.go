package pgcluster_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mcpbox/mcpbox/tools/internal/testport"

	"github.com/jackc/pgx/v5"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/pgcluster"
)

// realCluster returns a cluster in a temporary directory on a free port, or skips when PostgreSQL is
// not installed. As root, the temporary directories are opened to user postgres.
func realCluster(t *testing.T) *pgcluster.Cluster {
	t.Helper()
	bins, err := findInstalled(pgcluster.OSHost())
	if err != nil {
		t.Skipf("PostgreSQL is not installed: %v", err)
	}
	tmp := t.TempDir()
	if os.Geteuid() == 0 {
		for d := tmp; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	port := testport.Port(t)
	c := &pgcluster.Cluster{
		Dir: filepath.Join(tmp, "data", "pg"), Port: port, Bin: bins, Host: pgcluster.OSHost(), Out: &bytes.Buffer{},
		PortVar: "MCPBOX_DEV_PG_PORT",
	}
	t.Cleanup(func() {
		if c.Running(context.Background()) {
			_ = c.Stop(context.Background(), "immediate")
		}
	})
	return c
}

// findInstalled looks PostgreSQL up the way devstack does, but never installs it.
func findInstalled(h pgcluster.Host) (pgcluster.Binaries, error) {
	h.Geteuid = func() int { return 1000 }
	h.Run = func(context.Context, io.Writer, string, ...string) error { return errors.New("no installs in tests") }
	return pgcluster.Find(context.Background(), h, io.Discard)
}

// OPS-2: with no server, a TCP-only cluster is created in .data/pg and survives, with its data, into a
// second run; devstack reuses it while it runs and stops it afterwards.
func TestOPS2_PrivateClusterSurvivesWithItsData(t *testing.T) {
	t.Parallel()
	c := realCluster(t)
	ctx := context.Background()

	url, started, err := c.Start(ctx)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, c.Out)
	}
	if !started {
		t.Error("a new cluster was reported as already running")
	}
	execSQL(t, url, "CREATE TABLE survives (n int)", "INSERT INTO survives VALUES (42)")
	for _, sock := range []string{"/tmp/.s.PGSQL." + strconv.Itoa(c.Port), "/var/run/postgresql/.s.PGSQL." + strconv.Itoa(c.Port)} {
		if _, err := os.Stat(sock); err == nil {
			t.Errorf("unix socket %s exists; the cluster must listen on TCP only", sock)
		}
	}
	for path, mode := range map[string]os.FileMode{filepath.Join(c.Dir, "password"): 0o600, c.Dir: 0o700, filepath.Dir(c.Dir): 0o700} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (%v), want %o", path, fi.Mode().Perm(), err, mode)
		}
	}

	again, started, err := c.Start(ctx) // already running: reused, not restarted
	if err != nil {
		t.Fatal(err)
	}
	if started || again != url {
		t.Errorf("second start: started=%v url changed=%v", started, again != url)
	}

	if err := c.Stop(ctx, "fast"); err != nil {
		t.Fatalf("stop: %v\n%s", err, c.Out)
	}
	if c.Running(ctx) {
		t.Fatal("cluster still running after stop")
	}
	if ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(c.Port)); err != nil {
		t.Errorf("port not freed: %v", err)
	} else {
		_ = ln.Close()
	}

	url2, started, err := c.Start(ctx)
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, c.Out)
	}
	if !started || url2 != url {
		t.Errorf("restart: started=%v, same url=%v", started, url2 == url)
	}
	var n int
	conn, err := pgx.Connect(ctx, url2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if err := conn.QueryRow(ctx, "SELECT n FROM survives").Scan(&n); err != nil || n != 42 {
		t.Errorf("data after restart: %d, %v", n, err)
	}
	var listen string
	if err := conn.QueryRow(ctx, "SHOW listen_addresses").Scan(&listen); err != nil || listen != "127.0.0.1" {
		t.Errorf("listen_addresses %q (%v)", listen, err)
	}
	var fsync string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "on" {
		t.Errorf("fsync %q (%v)", fsync, err)
	}
	if err := c.Stop(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
}

func TestStartNamesTakenPort(t *testing.T) {
	t.Parallel()
	c := realCluster(t)
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(c.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	_, _, err = c.Start(context.Background())
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("is taken; set MCPBOX_DEV_PG_PORT")) {
		t.Errorf("start on a taken port: %v", err)
	}
}

func execSQL(t *testing.T, url string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
