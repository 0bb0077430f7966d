package testdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ClusterOptions configure a throwaway cluster.
type ClusterOptions struct {
	// BinDir holds initdb and pg_ctl; "" means initdb's directory on PATH,
	// else the newest /usr/lib/postgresql/*/bin.
	BinDir string
	// Port is the TCP port on 127.0.0.1; 0 means ClusterPort.
	Port int
	// TempDir is the parent of the cluster directory; "" means os.TempDir().
	// Under root it must be traversable by the postgres user.
	TempDir string
}

// settings make the throwaway cluster TCP-only and fast; durability does not
// matter for data deleted at the end of the run.
const settings = `
# testrun throwaway cluster (operations.md §1.4)
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
`

// Cluster is a running throwaway PostgreSQL cluster.
type Cluster struct {
	dir    string // owned temporary directory, removed by Stop
	port   int
	pgCtl  string
	asUser []string // runuser prefix when running as root

	once    sync.Once
	stopErr error
}

// StartCluster creates and starts a cluster in a new temporary directory.
// On failure it removes everything it created and returns the error with the
// tail of the server log.
func StartCluster(ctx context.Context, o ClusterOptions, log io.Writer) (*Cluster, error) {
	if log == nil {
		log = io.Discard
	}
	port := o.Port
	if port == 0 {
		port = ClusterPort
	}
	if err := portFree(port); err != nil {
		return nil, err
	}
	bin, err := binDir(o.BinDir)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.TempDir, "mcpbox-testpg-")
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	c := &Cluster{dir: dir, port: port, pgCtl: filepath.Join(bin, "pg_ctl")}
	if err := c.start(ctx, log, bin); err != nil {
		_, _ = fmt.Fprintf(log, "testdb: start failed: %v\n", err)
		for _, l := range lastLines(filepath.Join(dir, "server.log"), 20) {
			_, _ = fmt.Fprintf(log, "  server.log: %s\n", l)
		}
		if stopErr := c.Stop(context.WithoutCancel(ctx), log); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, err
	}
	_, _ = fmt.Fprintf(log, "testdb: throwaway cluster on 127.0.0.1:%d in %s\n", port, dir)
	return c, nil
}

func (c *Cluster) start(ctx context.Context, log io.Writer, bin string) error {
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: the postgres user owns the directory.
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return fmt.Errorf("chown cluster directory: %w", err)
		}
		c.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	data := c.DataDir()
	if err := c.run(ctx, log, filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		return err
	}
	conf, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	_, err = fmt.Fprintf(conf, settings, c.port)
	if cerr := conf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	return c.run(ctx, log, c.pgCtl, "-D", data, "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "30", "start")
}

// URL is the connection string of the cluster's postgres database.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Dir is the cluster's temporary directory, removed by Stop.
func (c *Cluster) Dir() string { return c.dir }

// DataDir is the PostgreSQL data directory.
func (c *Cluster) DataDir() string { return filepath.Join(c.dir, "data") }

// Port is the cluster's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Stop stops the cluster with `pg_ctl stop -m immediate` (killing the
// postmaster if that fails) and deletes its directory, logging to log (nil
// discards). It is safe to call more than once and from several goroutines;
// it ignores ctx cancellation so that it still runs after a signal.
func (c *Cluster) Stop(ctx context.Context, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		var errs []error
		if _, err := os.Stat(filepath.Join(c.DataDir(), "postmaster.pid")); err == nil {
			if err := c.run(ctx, log, c.pgCtl, "-D", c.DataDir(), "-m", "immediate", "-w", "stop"); err != nil {
				errs = append(errs, err)
				c.killPostmaster()
			}
		}
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", c.dir, err))
		}
		_, _ = fmt.Fprintf(log, "testdb: throwaway cluster stopped and %s removed\n", c.dir)
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// killPostmaster is the fallback when pg_ctl cannot stop the server.
func (c *Cluster) killPostmaster() {
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		return
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *Cluster) run(ctx context.Context, log io.Writer, args ...string) error {
	argv := append(append([]string(nil), c.asUser...), args...)
	_, _ = fmt.Fprintf(log, "$ %s\n", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.dir
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(args[0]), err)
	}
	return nil
}

func binDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		// initdb finds postgres next to itself; resolve /usr/local/bin symlinks.
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return filepath.Dir(p), nil
	}
	best := NewestPostgresBin()
	if best == "" {
		return "", errors.New("no initdb on PATH or in /usr/lib/postgresql/*/bin: install PostgreSQL (apt-get install -y --no-install-recommends postgresql)")
	}
	return best, nil
}

// NewestPostgresBin returns the /usr/lib/postgresql/<n>/bin with the highest
// n that holds initdb, or "".
func NewestPostgresBin() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	best, bestN := "", -1
	for _, m := range matches {
		n, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(m))))
		if err == nil && n > bestN {
			best, bestN = filepath.Dir(m), n
		}
	}
	return best
}

func portFree(port int) error {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("throwaway cluster: 127.0.0.1:%d: %w (a leftover cluster? find it with `ss -ltnp`)", port, ErrPortInUse)
	}
	_ = l.Close()
	return nil
}

func lastLines(path string, n int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
