package plans

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/backend"
)

// TestGW65_PlanFetchedOncePerVersion (GW-65 at the cache's level, through
// the real backend client and a loopback fake of the plan endpoint): two
// calls of one version fetch the plan once; a new approved version, a
// secrets_changed for its server (DropServer) and a policy_changed
// (DropAll) each cause one new fetch; concurrent first calls share one
// fetch.
func TestGW65_PlanFetchedOncePerVersion(t *testing.T) {
	t.Parallel()
	var (
		fetches atomic.Int64
		gateMu  sync.Mutex
		gate    chan struct{} // when set, plan answers wait for it
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		gateMu.Lock()
		g := gate
		gateMu.Unlock()
		if g != nil {
			<-g
		}
		version, _ := strconv.Atoi(r.URL.Query().Get("version"))
		tool, _ := uuid.Parse(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/internal/v1/tools/"), "/plan"))
		server := serverA
		if tool == toolB {
			server = serverB
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(proto.Plan{
			ToolID: tool.String(), ServerID: server.String(), Version: version, Kind: proto.ToolKindGo,
			Hash: hashOf(tool, version), Code: "package main",
		})
	}))
	t.Cleanup(srv.Close)
	client, err := backend.New(srv.URL, "backend-token-for-tests-0123456789abcdef", prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	c := New(client.Plan, DefaultSize, prometheus.NewRegistry(), nil)
	step := func(name string, want int64) {
		t.Helper()
		if got := fetches.Load(); got != want {
			t.Fatalf("%s: %d plan fetches, want %d", name, got, want)
		}
	}

	get(t, c, toolA, 1)
	get(t, c, toolA, 1)
	step("two calls of one version", 1)

	get(t, c, toolA, 2)
	get(t, c, toolA, 2)
	step("a new approved version", 2)

	get(t, c, toolB, 1)
	c.DropServer(serverA) // secrets_changed for toolA's server
	get(t, c, toolA, 2)
	get(t, c, toolB, 1)
	step("secrets_changed", 4) // toolB's first fetch, then toolA's refetch only

	c.DropAll() // policy_changed
	get(t, c, toolA, 2)
	get(t, c, toolA, 2)
	step("policy_changed", 5)

	// Concurrent first calls of a new version share one fetch: the backend
	// holds the answer until every caller waits for the same flight.
	g := make(chan struct{})
	gateMu.Lock()
	gate = g
	gateMu.Unlock()
	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := c.Get(t.Context(), toolA, serverA, 3, hashOf(toolA, 3))
			errs <- err
		})
	}
	waitWaiters(t, c, key{tool: toolA, version: 3, hash: hashOf(toolA, 3)}, callers)
	close(g)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	step("concurrent first calls", 6)
	get(t, c, toolA, 3)
	step("after the shared fetch", 6)
}
