package pgcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/devenv"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/pgpick"
)

// Superuser is the cluster's superuser; the services connect as it.
const Superuser = "mcpbox"

// Database is the database the services use.
const Database = "mcpbox"

// Cluster is the private cluster in Dir (normally .data/pg).
type Cluster struct {
	Dir  string
	Port int
	Bin  Binaries
	Host Host
	// Out receives initdb's and pg_ctl's output.
	Out io.Writer
	// PortVar names the variable that moves Port, for the message when it is taken.
	PortVar string
}

// DataDir is PGDATA.
func (c *Cluster) DataDir() string { return filepath.Join(c.Dir, "data") }

func (c *Cluster) passwordFile() string { return filepath.Join(c.Dir, "password") }

// LogFile is the server log.
func (c *Cluster) LogFile() string { return filepath.Join(c.Dir, "postgres.log") }

// Start creates the cluster when missing and starts it unless it already runs. It returns the services'
// database URL and whether this call started the server (only then does devstack stop it).
func (c *Cluster) Start(ctx context.Context) (string, bool, error) {
	o, err := c.prepare()
	if err != nil {
		return "", false, err
	}
	password, err := c.password(o)
	if err != nil {
		return "", false, err
	}
	if err := c.initdb(ctx); err != nil {
		return "", false, err
	}
	started := false
	port, running := c.runningPort(ctx)
	if !running {
		if err := c.start(ctx); err != nil {
			return "", false, err
		}
		started, port = true, c.Port
	}
	admin := c.url(password, port, "postgres")
	if err := pgpick.EnsureDatabase(ctx, admin, Database); err != nil {
		return "", started, fmt.Errorf("private cluster: %w", err)
	}
	return c.url(password, port, Database), started, nil
}

// Stop stops the server with pg_ctl stop -m mode (fast, or immediate).
func (c *Cluster) Stop(ctx context.Context, mode string) error {
	return c.pgctl(ctx, c.Out, "stop", "-D", c.DataDir(), "-m", mode, "-w", "-t", "60")
}

// Running reports whether the server runs.
func (c *Cluster) Running(ctx context.Context) bool {
	_, ok := c.runningPort(ctx)
	return ok
}

func (c *Cluster) url(password string, port int, database string) string {
	return (&url.URL{
		Scheme: "postgres", User: url.UserPassword(Superuser, password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Path: "/" + database, RawQuery: "sslmode=disable",
	}).String()
}

// owner is who must own the cluster's files; set only when devstack is root.
type owner struct {
	uid, gid int
	set      bool
}

// prepare creates Dir (0700); as root it hands Dir and its parent to postgres, after checking that
// postgres can reach them at all.
func (c *Cluster) prepare() (owner, error) {
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return owner{}, fmt.Errorf("private cluster: %w", err)
	}
	c.Dir = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return owner{}, fmt.Errorf("private cluster: %w", err)
	}
	if c.Host.Geteuid() != 0 {
		return owner{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return owner{}, fmt.Errorf("private cluster: devstack runs as root, so PostgreSQL must run as user postgres, which was not found: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	o := owner{uid: uid, gid: gid, set: true}
	parent := filepath.Dir(dir)
	for d := filepath.Dir(parent); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return owner{}, fmt.Errorf("private cluster: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return owner{}, fmt.Errorf("private cluster: user postgres cannot enter %s (mode %o); make it searchable "+
				"(chmod o+x %s), move the data directory, or set MCPBOX_DATABASE_URL", d, fi.Mode().Perm(), d)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	for _, d := range []string{parent, dir} {
		if err := os.Chown(d, uid, gid); err != nil {
			return owner{}, fmt.Errorf("private cluster: %w", err)
		}
	}
	return o, nil
}

// password returns the superuser's password, generating it (and the pwfile initdb reads) when the
// cluster does not exist yet.
func (c *Cluster) password(o owner) (string, error) {
	raw, err := os.ReadFile(c.passwordFile())
	if err == nil {
		return strings.TrimSpace(string(raw)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("private cluster: %w", err)
	}
	if c.exists() {
		return "", fmt.Errorf("private cluster: %s exists but %s is gone, so its password is unknown; restore the file, "+
			"or delete %s to start over (its data is lost)", c.DataDir(), c.passwordFile(), c.Dir)
	}
	pw, err := devenv.Token()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(c.passwordFile(), []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("private cluster: %w", err)
	}
	if o.set {
		if err := os.Chown(c.passwordFile(), o.uid, o.gid); err != nil {
			return "", fmt.Errorf("private cluster: %w", err)
		}
	}
	return pw, nil
}

func (c *Cluster) exists() bool {
	_, err := os.Stat(filepath.Join(c.DataDir(), "PG_VERSION"))
	return err == nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	if c.exists() {
		return nil
	}
	// A data directory without PG_VERSION is what an interrupted initdb leaves; it holds nothing.
	if err := os.RemoveAll(c.DataDir()); err != nil {
		return fmt.Errorf("private cluster: %w", err)
	}
	_, _ = fmt.Fprintf(c.Out, "creating the private cluster in %s\n", c.DataDir())
	args := []string{
		"-D", c.DataDir(), "-E", "UTF8", "--no-locale", "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
		"-U", Superuser, "--pwfile=" + c.passwordFile(),
	}
	if err := c.as(ctx, c.Out, c.Bin.Initdb, args...); err != nil {
		return fmt.Errorf("private cluster: initdb: %w", err)
	}
	return nil
}

// runningPort reports whether the server runs and, if so, its port from postmaster.pid.
func (c *Cluster) runningPort(ctx context.Context) (int, bool) {
	if !c.exists() {
		return 0, false
	}
	if err := c.pgctl(ctx, io.Discard, "status", "-D", c.DataDir()); err != nil {
		return 0, false
	}
	raw, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		return c.Port, true
	}
	lines := strings.Split(string(raw), "\n")
	if len(lines) > 3 {
		if p, err := strconv.Atoi(strings.TrimSpace(lines[3])); err == nil {
			return p, true
		}
	}
	return c.Port, true
}

func (c *Cluster) start(ctx context.Context) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port))
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("private cluster: port %s is taken; set %s to another port: %w", addr, c.PortVar, err)
	}
	if err := ln.Close(); err != nil {
		return fmt.Errorf("private cluster: %w", err)
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=''", c.Port)
	err = c.pgctl(ctx, c.Out, "start", "-D", c.DataDir(), "-l", c.LogFile(), "-w", "-t", "30", "-o", opts)
	if err == nil {
		return nil
	}
	tail := lastLines(c.LogFile(), 50)
	return fmt.Errorf("private cluster: pg_ctl start failed: %w\nlast lines of %s:\n%s", err, c.LogFile(), tail)
}

func (c *Cluster) pgctl(ctx context.Context, out io.Writer, args ...string) error {
	return c.as(ctx, out, c.Bin.PgCtl, args...)
}

// as runs a PostgreSQL program, through runuser as postgres when devstack is root.
func (c *Cluster) as(ctx context.Context, out io.Writer, bin string, args ...string) error {
	if c.Host.Geteuid() == 0 {
		return c.Host.Run(ctx, out, "runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	}
	return c.Host.Run(ctx, out, bin, args...)
}

func lastLines(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
