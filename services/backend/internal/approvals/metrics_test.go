package approvals_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
)

// approvals_pending counts what waits, from the database at each scrape;
// approval_decisions_total counts committed decisions, bulk ones per item,
// and not the ones that failed.
func TestApprovalMetrics(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	ctx := context.Background()
	store, err := db.Open(ctx, url, db.WithMaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	svc := approvals.New(store)
	reg := prometheus.NewRegistry()
	if err := svc.Instrument(reg); err != nil {
		t.Fatal(err)
	}
	var server uuid.UUID
	dbtest.QueryRow(t, url, "INSERT INTO servers (name) VALUES ('weather') RETURNING id", []any{&server})
	ids := make([]uuid.UUID, 3)
	for i, host := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		dbtest.QueryRow(t, url, "INSERT INTO network_requests (server_id, host) VALUES ($1, $2) RETURNING id", []any{&ids[i]}, server, host)
	}
	want := func(body string) {
		t.Helper()
		if err := testutil.GatherAndCompare(reg, strings.NewReader(body), "mcpbox_backend_approvals_pending"); err != nil {
			t.Fatal(err)
		}
	}
	want(pending(3))
	a := approvals.Audit{Actor: "admin:alice"}
	if _, err := svc.ApproveRequest(ctx, a, approvals.KindNetwork, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ApproveRequest(ctx, a, approvals.KindNetwork, ids[0]); err == nil {
		t.Fatal("approving twice succeeded")
	}
	reason := "not needed"
	res, err := svc.Bulk(ctx, a, approvals.ActionReject, &reason, []approvals.BulkItem{
		{Kind: approvals.ItemNetwork, ID: ids[1]}, {Kind: approvals.ItemNetwork, ID: ids[2]}, {Kind: approvals.ItemNetwork, ID: uuid.New()},
	})
	if err != nil || res[0].Err != nil || res[1].Err != nil || res[2].Err == nil {
		t.Fatalf("bulk: %+v, %v", res, err)
	}
	if _, _, err := svc.RevokeRequest(ctx, a, approvals.KindNetwork, ids[0]); err != nil {
		t.Fatal(err)
	}
	// The revoked request is pending again.
	want(pending(1))
	for _, c := range []struct {
		decision string
		n        float64
	}{{approvals.DecisionApproved, 1}, {approvals.DecisionRejected, 2}, {approvals.DecisionRevoked, 1}} {
		got := decisions(t, reg, "network", c.decision)
		if got != c.n {
			t.Errorf("network %s = %v, want %v", c.decision, got, c.n)
		}
	}
}

func pending(network int) string {
	return `
# HELP mcpbox_backend_approvals_pending Items waiting for an admin's review, by kind (tool, network, package, source).
# TYPE mcpbox_backend_approvals_pending gauge
mcpbox_backend_approvals_pending{kind="network"} ` + strconv.Itoa(network) + `
mcpbox_backend_approvals_pending{kind="package"} 0
mcpbox_backend_approvals_pending{kind="source"} 0
mcpbox_backend_approvals_pending{kind="tool"} 0
`
}

// decisions reads one series of approval_decisions_total from reg.
func decisions(t *testing.T, reg *prometheus.Registry, kind, decision string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "mcpbox_backend_approval_decisions_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["decision"] == decision {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series kind=%s decision=%s", kind, decision)
	return 0
}
