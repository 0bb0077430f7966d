package pgcluster_test

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/pgcluster"
)

// fakeHost is a machine with the given executables; installing via apt adds /usr/lib/postgresql/16/bin.
type fakeHost struct {
	euid     int
	files    map[string]bool // executable paths; "initdb" and "pg_ctl" alone mean PATH
	sudoOK   bool
	aptFails bool
	runs     []string
}

func (f *fakeHost) host() pgcluster.Host {
	return pgcluster.Host{
		LookPath: func(file string) (string, error) {
			if f.files[file] {
				if !strings.HasPrefix(file, "/") {
					return "/usr/bin/" + file, nil
				}
				return file, nil
			}
			return "", exec.ErrNotFound
		},
		Glob: func(string) ([]string, error) {
			var dirs []string
			for p := range f.files {
				if d, ok := strings.CutSuffix(p, "/initdb"); ok {
					dirs = append(dirs, d)
				}
			}
			return dirs, nil
		},
		Geteuid: func() int { return f.euid },
		Run: func(_ context.Context, _ io.Writer, name string, args ...string) error {
			cmd := strings.Join(append([]string{name}, args...), " ")
			f.runs = append(f.runs, cmd)
			switch {
			case cmd == "sudo -n true":
				if f.sudoOK {
					return nil
				}
				return errors.New("sudo: a password is required")
			case strings.Contains(cmd, "apt-get"):
				if f.aptFails {
					return errors.New("E: Unable to locate package postgresql")
				}
				f.files["/usr/lib/postgresql/16/bin/initdb"] = true
				f.files["/usr/lib/postgresql/16/bin/pg_ctl"] = true
				return nil
			}
			return errors.New("unexpected command " + cmd)
		},
	}
}

func (f *fakeHost) ranApt() bool {
	for _, r := range f.runs {
		if strings.Contains(r, "apt-get") {
			return true
		}
	}
	return false
}

// OPS-3: with no initdb and neither root nor sudo, devstack fails and prints the apt-get command.
func TestOPS3_NoPostgresNoRootNoSudoPrintsAptCommand(t *testing.T) {
	t.Parallel()
	f := &fakeHost{euid: 1000, files: map[string]bool{}}
	_, err := pgcluster.Find(context.Background(), f.host(), io.Discard)
	if err == nil {
		t.Fatal("Find succeeded without PostgreSQL")
	}
	if !strings.Contains(err.Error(), "sudo apt-get install -y --no-install-recommends postgresql") {
		t.Errorf("error %q does not print the apt-get command", err)
	}
	if f.ranApt() {
		t.Errorf("apt-get ran without root or sudo: %v", f.runs)
	}
}

// OPS-3: with the binaries present, apt is never run.
func TestOPS3_BinariesPresentNeverRunApt(t *testing.T) {
	t.Parallel()
	for name, files := range map[string]map[string]bool{
		"in PATH": {"initdb": true, "pg_ctl": true},
		"newest of /usr/lib/postgresql": {
			"/usr/lib/postgresql/13/bin/initdb": true, "/usr/lib/postgresql/13/bin/pg_ctl": true,
			"/usr/lib/postgresql/15/bin/initdb": true, "/usr/lib/postgresql/15/bin/pg_ctl": true,
			"/usr/lib/postgresql/9/bin/initdb": true, "/usr/lib/postgresql/9/bin/pg_ctl": true,
		},
	} {
		for _, euid := range []int{0, 1000} {
			f := &fakeHost{euid: euid, files: files, sudoOK: true}
			b, err := pgcluster.Find(context.Background(), f.host(), io.Discard)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(f.runs) > 0 {
				t.Errorf("%s (euid %d): ran %v", name, euid, f.runs)
			}
			want := "/usr/bin/initdb"
			if name != "in PATH" {
				want = "/usr/lib/postgresql/15/bin/initdb"
			}
			if b.Initdb != want || !strings.HasSuffix(b.PgCtl, "pg_ctl") {
				t.Errorf("%s: found %+v, want initdb %s", name, b, want)
			}
		}
	}
}

func TestOPS3_InstallsAsRootOrThroughSudo(t *testing.T) {
	t.Parallel()
	root := &fakeHost{euid: 0, files: map[string]bool{}}
	b, err := pgcluster.Find(context.Background(), root.host(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(root.runs, "|") != "apt-get install -y --no-install-recommends postgresql" {
		t.Errorf("as root ran %v", root.runs)
	}
	if b.Initdb != "/usr/lib/postgresql/16/bin/initdb" {
		t.Errorf("found %+v", b)
	}

	user := &fakeHost{euid: 1000, files: map[string]bool{}, sudoOK: true}
	if _, err := pgcluster.Find(context.Background(), user.host(), io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Join(user.runs, "|") != "sudo -n true|sudo -n apt-get install -y --no-install-recommends postgresql" {
		t.Errorf("with sudo ran %v", user.runs)
	}

	failing := &fakeHost{euid: 0, files: map[string]bool{}, aptFails: true}
	_, err = pgcluster.Find(context.Background(), failing.host(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y --no-install-recommends postgresql") {
		t.Errorf("failed install: %v, want the command printed", err)
	}
}
