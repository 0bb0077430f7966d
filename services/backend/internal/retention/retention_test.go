package retention_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/retention"
)

func openStore(t *testing.T, url string) *db.Store {
	t.Helper()
	st, err := db.Open(t.Context(), url, db.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// BE-90: with log_retention_days 1, older records and activity go and newer
// ones stay; the run happens on only one of two replicas (the other finds
// the lock taken) and writes one system.retention row.
func TestBE90_RetentionRunsOnceAndKeepsNewerRows(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	dbtest.Exec(t, url, `
INSERT INTO activity_log (action, message, created_at) VALUES
  ('tool.create', 'old', now() - interval '3 days'), ('tool.create', 'new', now() - interval '1 hour');
INSERT INTO execution_records (exposed_name, created_at) VALUES
  ('weather__forecast', now() - interval '3 days'), ('weather__forecast', now() - interval '2 days'),
  ('weather__forecast', now() - interval '1 hour');
INSERT INTO login_attempts (ip, created_at) VALUES ('203.0.113.7', now() - interval '2 days'), ('203.0.113.8', now());`)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	inside, release := make(chan struct{}), make(chan struct{})
	a := retention.New(openStore(t, url), func(context.Context) (int, error) {
		close(inside)
		<-release
		return 1, nil
	}, prometheus.NewRegistry(), log)
	b := retention.New(openStore(t, url), func(context.Context) (int, error) { return 1, nil }, prometheus.NewRegistry(), log)
	type result struct {
		counts map[string]int64
		ran    bool
		err    error
	}
	done := make(chan result, 1)
	go func() {
		c, ran, err := a.Once(t.Context())
		done <- result{c, ran, err}
	}()
	<-inside
	if _, ran, err := b.Once(t.Context()); err != nil || ran {
		t.Fatalf("second replica ran %v, %v while the first held the lock", ran, err)
	}
	close(release)
	r := <-done
	if r.err != nil || !r.ran {
		t.Fatalf("first replica: ran %v, %v", r.ran, r.err)
	}
	if r.counts["activity_log"] != 1 || r.counts["execution_records"] != 2 || r.counts["login_attempts"] != 1 {
		t.Fatalf("counts %v", r.counts)
	}
	var activityLeft, recordsLeft, retentionRows int
	dbtest.QueryRow(t, url, `SELECT (SELECT count(*) FROM activity_log WHERE action <> 'system.retention'),
		(SELECT count(*) FROM execution_records), (SELECT count(*) FROM activity_log WHERE action = 'system.retention')`,
		[]any{&activityLeft, &recordsLeft, &retentionRows})
	if activityLeft != 1 || recordsLeft != 1 || retentionRows != 1 {
		t.Fatalf("left: activity %d, records %d; retention rows %d", activityLeft, recordsLeft, retentionRows)
	}
	// A run with nothing to delete writes no row.
	if _, ran, err := b.Once(t.Context()); err != nil || !ran {
		t.Fatalf("later run: %v %v", ran, err)
	}
	dbtest.QueryRow(t, url, "SELECT count(*) FROM activity_log WHERE action = 'system.retention'", []any{&retentionRows})
	if retentionRows != 1 {
		t.Fatalf("retention rows %d after an empty run", retentionRows)
	}
}
