// Package retention is the retention job of backend.md §14.5: every 15
// minutes (first run one minute after start) one replica — the one that gets
// the advisory lock — deletes, in batches of 10,000 rows, activity and
// execution records older than log_retention_days, ended sessions, old login
// attempts, expired OAuth flows and long-retired signing keys, and writes one
// system.retention activity row with the counts when it deleted anything.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// Schedule of backend.md §14.5.
const (
	FirstRun = time.Minute
	Every    = 15 * time.Minute
	Batch    = 10_000
	// lockKey is the advisory lock of the job ("mcpbox_r" in ASCII).
	lockKey int64 = 0x6d6370626f785f72
)

// Days returns the current log_retention_days.
type Days func(ctx context.Context) (int, error)

// Job is the retention job of one replica.
type Job struct {
	store   *db.Store
	days    Days
	log     *slog.Logger
	now     func() time.Time
	deleted *prometheus.CounterVec
	success prometheus.Gauge
}

// New returns the job; its metrics are registered on reg.
func New(store *db.Store, days Days, reg prometheus.Registerer, log *slog.Logger) *Job {
	f := promauto.With(reg)
	j := &Job{
		store: store, days: days, log: log, now: time.Now,
		deleted: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpbox_backend_retention_deleted_rows_total", Help: "Rows deleted by the retention job, by table.",
		}, []string{"table"}),
		success: f.NewGauge(prometheus.GaugeOpts{
			Name: "mcpbox_backend_retention_last_success_timestamp_seconds", Help: "When the retention job last finished without error.",
		}),
	}
	// Every table's series starts at zero (operations.md §3.3), before the
	// first run; the names are the tables Once deletes from.
	for _, table := range []string{"activity_log", "execution_records", "admin_sessions", "login_attempts", "oauth_flows", "signing_keys"} {
		j.deleted.WithLabelValues(table)
	}
	return j
}

// Run runs the job on schedule until ctx ends.
func (j *Job) Run(ctx context.Context) {
	t := time.NewTimer(FirstRun)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, _, err := j.Once(ctx); err != nil && ctx.Err() == nil {
			j.log.ErrorContext(ctx, "retention run failed", obs.KeyError, err.Error())
		}
		t.Reset(Every)
	}
}

// Once runs the job now: ran is false when another replica holds the lock;
// counts are the rows deleted per table.
func (j *Job) Once(ctx context.Context) (counts map[string]int64, ran bool, err error) {
	unlock, ok, err := j.store.TryLock(ctx, lockKey)
	if err != nil || !ok {
		return nil, false, err
	}
	defer unlock()
	days, err := j.days(ctx)
	if err != nil {
		return nil, true, err
	}
	cutoff := j.now().Add(-time.Duration(days) * 24 * time.Hour)
	steps := []struct {
		table string
		del   func(ctx context.Context) (int64, error)
	}{
		{"activity_log", func(ctx context.Context) (int64, error) {
			return j.store.DeleteOldActivity(ctx, dbq.DeleteOldActivityParams{Cutoff: cutoff, Batch: Batch})
		}},
		{"execution_records", func(ctx context.Context) (int64, error) {
			return j.store.DeleteOldExecutions(ctx, dbq.DeleteOldExecutionsParams{Cutoff: cutoff, Batch: Batch})
		}},
		{"admin_sessions", func(ctx context.Context) (int64, error) { return j.store.DeleteEndedSessions(ctx, Batch) }},
		{"login_attempts", func(ctx context.Context) (int64, error) { return j.store.DeleteOldLoginAttempts(ctx, Batch) }},
		{"oauth_flows", func(ctx context.Context) (int64, error) { return j.store.DeleteExpiredOAuthFlows(ctx, Batch) }},
		{"signing_keys", j.store.DeleteRetiredSigningKeys},
	}
	counts = map[string]int64{}
	var total int64
	for _, s := range steps {
		for {
			n, err := s.del(ctx)
			if err != nil {
				return counts, true, fmt.Errorf("retention %s: %w", s.table, err)
			}
			counts[s.table] += n
			if n < Batch {
				break
			}
		}
		j.deleted.WithLabelValues(s.table).Add(float64(counts[s.table]))
		total += counts[s.table]
	}
	if total > 0 {
		details := map[string]any{}
		for table, n := range counts {
			if n > 0 {
				details[table] = n
			}
		}
		err := j.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
			return activity.Write(ctx, q, activity.Entry{
				Category: activity.System, Action: "system.retention",
				Message: fmt.Sprintf("Retention deleted %d rows (log_retention_days %d).", total, days), Details: details,
			})
		})
		if err != nil {
			return counts, true, err
		}
	}
	j.success.SetToCurrentTime()
	return counts, true, nil
}
