package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// OPS-2 with the real binaries: with no database given and no server probed,
// make run creates a private TCP-only cluster under .data/pg, reaches the
// banner with every /readyz answering 200, stops the cluster with the stack,
// and reuses it, data included, on the next run.
//
//nolint:paralleltest // uses the e2e ports, which the parallel stack tests use too; runs before them
func TestOPS2_MakeRunWithoutAnyServerUsesAPrivateCluster(t *testing.T) {
	data := t.TempDir()
	// As root the cluster runs as user postgres, which must reach the data
	// directory; t.TempDir's parents are 0700.
	for dir := data; dir != filepath.Dir(dir) && strings.HasPrefix(dir, os.TempDir()); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for run := 1; run <= 2; run++ {
		s := startStackWith(t, data)
		if !strings.Contains(s.out.String(), "PostgreSQL: private cluster on 127.0.0.1:25432") {
			t.Fatalf("run %d banner does not name the private cluster:\n%s", run, s.out.String())
		}
		for name, url := range readyURLs {
			if code, body := get(t, url); code != 200 {
				t.Errorf("run %d: %s %s: %d %s", run, name, url, code, body)
			}
		}
		if err := s.Stop(t); err != nil {
			t.Fatalf("run %d: devstack exit: %v\n%s", run, err, s.out.String())
		}
		if !portFree("127.0.0.1:25432") {
			t.Errorf("run %d: the private cluster still listens after the stop", run)
		}
		if created := strings.Contains(s.out.String(), "creating the private cluster"); created != (run == 1) {
			t.Errorf("run %d: created a cluster: %v (only the first run should):\n%s", run, created, s.out.String())
		}
	}
	env, err := os.ReadFile(filepath.Join(data, "dev.env"))
	if err != nil || !strings.Contains(string(env), "MCPBOX_DEV_DB=private") {
		t.Errorf("dev.env does not record the private choice: %v\n%s", err, env)
	}
}
