package remoteaccess_test

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/remoteaccess"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

// service returns the service over a fresh database; its sandbox is a
// closed loopback port, so any fetch fails.
func service(t *testing.T) *remoteaccess.Service {
	t.Helper()
	sandbox, err := sandboxclient.New("http://127.0.0.1:9", "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d", prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return remoteaccess.New(remoteaccess.Deps{Store: dbtest.New(t), Sandbox: sandbox})
}

// Run reports every step finished out of 7, in order, and stores its
// result; a check without a public URL is refused before any step.
func TestRunReportsProgress(t *testing.T) {
	t.Parallel()
	s := service(t)
	noop := func(int, int) {}
	if _, err := s.Run(t.Context(), "admin:a", "", noop); !errors.Is(err, remoteaccess.ErrNoPublicURL) {
		t.Fatalf("without a public URL: %v", err)
	}
	loopback := "http://127.0.0.1:8080"
	if _, err := s.Patch(t.Context(), "admin:a", "", remoteaccess.Change{PublicURL: &loopback}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen [][2]int
	res, err := s.Run(t.Context(), "admin:a", "req-1", func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, [2]int{done, total})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{1, 7}, {2, 7}, {3, 7}, {4, 7}, {5, 7}, {6, 7}, {7, 7}}
	if !slices.Equal(seen, want) {
		t.Fatalf("progress %v", seen)
	}
	last, err := s.Last(t.Context())
	if err != nil || last == nil || len(last.Steps) != 7 || last.Steps[0].Result != remoteaccess.Pass ||
		last.Steps[6].Result != remoteaccess.Skipped || !last.StartedAt.Equal(res.StartedAt) {
		t.Fatalf("last %+v, %v", last, err)
	}
}
