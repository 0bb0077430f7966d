package activity_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// notes records the progress payloads a Reporter publishes.
type notes struct {
	mu  sync.Mutex
	got []activity.ProgressEvent
}

func (n *notes) NotifyProgress(_ context.Context, payload string) error {
	var p struct{ Progress activity.ProgressEvent }
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, p.Progress)
	return nil
}

func (n *notes) dones() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]int, 0, len(n.got))
	for _, ev := range n.got {
		out = append(out, ev.Done)
	}
	return out
}

// A Reporter sends the first report, then at most one a second, the end
// (done = total) at once, nothing twice, and the newest values at Finish;
// without a session it sends nothing.
func TestReporterThrottlesAndSendsTheEnd(t *testing.T) {
	t.Parallel()
	n := &notes{}
	ev := activity.ProgressEvent{Session: uuid.New(), RequestID: "r-1", Operation: activity.OpImport}
	r := activity.NewReporter(t.Context(), n, nil, ev)
	if _, ok := r.Last(); ok {
		t.Fatal("Last before any report")
	}
	for done := 0; done <= 40; done++ {
		r.Report(done, 40) // well within a second: only the first and the end go out
	}
	r.Report(40, 40) // nothing new
	r.Finish()       // nothing pending
	if got := n.dones(); len(got) != 2 || got[0] != 0 || got[1] != 40 {
		t.Fatalf("sent done values %v, want [0 40]", got)
	}
	if last, ok := r.Last(); !ok || last.Done != 40 || last.Total != 40 || last.RequestID != "r-1" {
		t.Errorf("Last %+v %v", last, ok)
	}

	r2 := activity.NewReporter(t.Context(), n, nil, ev)
	r2.Report(1, 3)
	r2.Report(2, 3) // throttled
	r2.Finish()     // sends 2 of 3
	if got := n.dones(); len(got) != 4 || got[2] != 1 || got[3] != 2 {
		t.Fatalf("sent done values %v, want [0 40 1 2]", got)
	}

	silent := activity.NewReporter(t.Context(), n, nil, activity.ProgressEvent{RequestID: "r-2"})
	silent.Report(1, 1)
	silent.Finish()
	if got := n.dones(); len(got) != 4 {
		t.Errorf("a session-less reporter published: %v", got)
	}
}
