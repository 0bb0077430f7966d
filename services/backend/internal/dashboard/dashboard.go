// Package dashboard is the dashboard, system status and package overview of
// the admin API (backend.md §14.3, §8.2): GET /api/v1/dashboard, GET
// /api/v1/system/status and GET /api/v1/packages.
package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

// topLimit is how many top tools and recent failures the dashboard lists
// (backend.md §14.3).
const topLimit = 10

// Service computes the dashboard and status.
type Service struct {
	store      *db.Store
	executions *executions.Service
	sandbox    *sandboxclient.Client
	// listenUp and subscribers report the replica's LISTEN connection and
	// its open /internal/v1/events streams (WithStatus); nil reports false
	// and 0.
	listenUp    func() bool
	subscribers func() int
}

// New returns the service.
func New(store *db.Store, executions *executions.Service, sandbox *sandboxclient.Client) *Service {
	return &Service{store: store, executions: executions, sandbox: sandbox}
}

// WithStatus gives the service what only the running replica knows for
// GET /system/status: whether its LISTEN connection is up and how many
// gateway event streams it holds. Either may be nil (reported as false and
// 0). It returns s, and must be called before the service serves requests.
func (s *Service) WithStatus(listenUp func() bool, subscribers func() int) *Service {
	s.listenUp, s.subscribers = listenUp, subscribers
	return s
}

// Dashboard is GET /dashboard for one period (backend.md §14.3).
type Dashboard struct {
	Counts Counts
	// Executions are the period's execution figures and buckets
	// (executions.Service.Stats).
	Executions     executions.Stats
	TopTools       []TopTool
	RecentFailures []Failure
}

// Counts are the installation's current counts, independent of the period.
type Counts struct {
	Servers, ServersRunning int64
	Tools                   int64
	// ToolsLive counts the tools of the catalog: approved, enabled, server
	// running and, for an external tool, a usable source.
	ToolsLive int64
	Pending   Pending
}

// Pending counts what waits for review.
type Pending struct {
	Tools, Network, Packages, Sources int64
}

// TopTool is one of the tools with the most executions in the period.
type TopTool struct {
	// ToolID is nil for the records of a deleted tool (grouped by name).
	ToolID        *uuid.UUID
	ExposedName   string
	Executions    int64
	Failed        int64
	AvgDurationMS int64
}

// Failure is one of the newest failed executions of the period.
type Failure struct {
	ID          uuid.UUID
	ExposedName string
	// Error is the first 200 characters of the record's error.
	Error     string
	CreatedAt time.Time
}

// periodSeconds is the length of a period executions.Stats accepted.
func periodSeconds(period string) (int32, bool) {
	const hour = 3600
	switch period {
	case "1h":
		return hour, true
	case "6h":
		return 6 * hour, true
	case "24h":
		return 24 * hour, true
	case "7d":
		return 7 * 24 * hour, true
	}
	return 0, false
}

// Dashboard returns the dashboard of period (1h, 6h, 24h or 7d; "" is
// executions.DefaultPeriod); another period is a *proto.RuleError for
// "period". Test runs count only in Executions.TestRuns. The execution
// figures are read in one snapshot, the counts, top tools and failures in
// a second one.
func (s *Service) Dashboard(ctx context.Context, period string) (Dashboard, error) {
	st, err := s.executions.Stats(ctx, period)
	if err != nil {
		return Dashboard{}, err
	}
	secs, ok := periodSeconds(st.Period)
	if !ok {
		return Dashboard{}, fmt.Errorf("dashboard: period %q has no length", st.Period)
	}
	out := Dashboard{Executions: st}
	err = s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		c, err := q.DashboardCounts(ctx)
		if err != nil {
			return err
		}
		out.Counts = Counts{
			Servers: c.Servers, ServersRunning: c.ServersRunning, Tools: c.Tools, ToolsLive: c.ToolsLive,
			Pending: Pending{Tools: c.PendingTools, Network: c.PendingNetwork, Packages: c.PendingPackages, Sources: c.PendingSources},
		}
		top, err := q.DashboardTopTools(ctx, dbq.DashboardTopToolsParams{PeriodSeconds: secs, RowLimit: topLimit})
		if err != nil {
			return err
		}
		out.TopTools = make([]TopTool, len(top))
		for i, r := range top {
			out.TopTools[i] = TopTool{
				ToolID: r.ToolID, ExposedName: r.ExposedName, Executions: r.Executions,
				Failed: r.Failed, AvgDurationMS: r.AvgDurationMs,
			}
		}
		fails, err := q.DashboardRecentFailures(ctx, dbq.DashboardRecentFailuresParams{PeriodSeconds: secs, RowLimit: topLimit})
		if err != nil {
			return err
		}
		out.RecentFailures = make([]Failure, len(fails))
		for i, r := range fails {
			out.RecentFailures[i] = Failure{ID: r.ID, ExposedName: r.ExposedName, Error: r.Error, CreatedAt: r.CreatedAt}
		}
		return nil
	})
	if err != nil {
		return Dashboard{}, fmt.Errorf("dashboard for %s: %w", st.Period, err)
	}
	return out, nil
}
