package records_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/records"
)

var errBackendDown = errors.New("backend down")

// GW-77: a burst of 250 records goes out in at most 4 batches; the batch
// that got a 503 (after the backend stored it: the answer was lost) is sent
// again with the same ids and stored once.
func TestGW77_BurstIsBatchedAndA503BatchIsRetriedWithTheSameIDs(t *testing.T) {
	t.Parallel()
	backend, srv := newFakeBackend(t, func(n int) (int, bool) {
		if n == 0 {
			return http.StatusServiceUnavailable, true
		}
		return http.StatusOK, true
	})
	reg := prometheus.NewRegistry()
	log, _ := newLogger()
	q := records.New(newHTTPSender(srv), records.Options{
		BatchDelay: 50 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond,
	}, reg, log)
	// The burst is queued before the sender starts, so how it is cut into
	// batches does not depend on scheduling.
	for i := range 250 {
		q.Enqueue(record(i))
	}
	wait := runQueue(t.Context(), q.Run)
	waitFor(t, "250 records stored", func() bool { _, stored, _ := backend.snapshot(); return len(stored) == 250 })
	if err := q.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait()

	requests, stored, dups := backend.snapshot()
	if len(requests) < 2 || !slices.Equal(requests[0], requests[1]) {
		t.Fatalf("the 503 batch was not sent again with the same ids: %d requests", len(requests))
	}
	if delivered := len(requests) - 1; delivered > 4 {
		t.Errorf("250 records took %d successful batches, want at most 4", delivered)
	}
	if !slices.Equal(stored, ids(0, 250)) || dups != len(requests[0]) {
		t.Errorf("stored %d records (%d duplicates), want each of the 250 once; requests %v", len(stored), dups, requestSizes(requests))
	}
	for _, r := range requests {
		if len(r) > records.DefaultBatchSize {
			t.Errorf("a batch of %d records", len(r))
		}
	}
	if got := metric(t, reg, "mcpbox_gateway_exec_records_sent_total"); got != 250 {
		t.Errorf("sent_total = %v, want 250", got)
	}
	for _, reason := range []string{records.ReasonQueueFull, records.ReasonRejected, records.ReasonShutdown} {
		if got := dropped(t, reg, reason); got != 0 {
			t.Errorf("dropped{%s} = %v", reason, got)
		}
	}
}

// GW-78: with the backend hanging, Enqueue returns at once, the queue stops
// at MaxRecords and drops the oldest (the in-flight batch included); once
// the backend is back, exactly the newest records are delivered.
func TestGW78_BackendDownQueueStopsAtItsBoundsAndDropsTheOldest(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	sender := &memSender{hook: func(ctx context.Context, call int) error {
		if call > 0 {
			return nil
		}
		close(entered)
		select { // the backend hangs until released
		case <-release:
		case <-ctx.Done():
		}
		return errBackendDown
	}}
	reg := prometheus.NewRegistry()
	log, logs := newLogger()
	q := records.New(sender, records.Options{
		MaxRecords: 50, BatchSize: 10, BatchDelay: time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
	}, reg, log)
	wait := runQueue(t.Context(), q.Run)
	q.Enqueue(record(0))
	select { // record 0 is in flight and the sender is stuck
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the first batch was never sent")
	}

	enqueued := make(chan struct{})
	go func() {
		defer close(enqueued)
		for i := 1; i <= 200; i++ {
			q.Enqueue(record(i))
		}
	}()
	select {
	case <-enqueued:
	case <-time.After(20 * time.Second):
		t.Fatal("Enqueue blocked while the backend hangs")
	}
	size, _ := json.Marshal(record(0))
	if got := metric(t, reg, "mcpbox_gateway_exec_records_queued"); got != 50 {
		t.Errorf("queued = %v, want the bound 50", got)
	}
	if got := metric(t, reg, "mcpbox_gateway_exec_records_queued_bytes"); got != float64(50*len(size)) {
		t.Errorf("queued_bytes = %v, want %d", got, 50*len(size))
	}
	if got := metric(t, reg, "mcpbox_gateway_exec_records_capacity"); got != 50 {
		t.Errorf("capacity = %v, want 50", got)
	}
	if got := dropped(t, reg, records.ReasonQueueFull); got != 151 {
		t.Errorf("dropped{queue_full} = %v, want 151", got)
	}

	close(release) // the hung attempt fails; the backend then accepts
	waitFor(t, "the newest 50 delivered", func() bool { return len(sender.deliveredIDs()) == 50 })
	if err := q.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait()
	if got := sender.deliveredIDs(); !slices.Equal(got, ids(151, 201)) {
		t.Errorf("delivered %v…, want records 151–200", got[:min(3, len(got))])
	}
	if got := metric(t, reg, "mcpbox_gateway_exec_records_sent_total"); got != 50 {
		t.Errorf("sent_total = %v, want 50", got)
	}
	if n := strings.Count(logs.String(), "execution record queue full"); n != 1 {
		t.Errorf("queue-full warning logged %d times, want once", n)
	}
}

// GW-78 (byte bound): MaxBytes bounds the queue too, also with no sender
// running; Close then flushes by itself.
func TestGW78_ByteBoundDropsTheOldest(t *testing.T) {
	t.Parallel()
	one, _ := json.Marshal(record(0))
	sender := &memSender{}
	reg := prometheus.NewRegistry()
	log, _ := newLogger()
	q := records.New(sender, records.Options{MaxBytes: 5*len(one) + len(one)/2}, reg, log)
	for i := range 20 {
		q.Enqueue(record(i))
	}
	if got := metric(t, reg, "mcpbox_gateway_exec_records_queued_bytes"); got != float64(5*len(one)) {
		t.Errorf("queued_bytes = %v, want %d", got, 5*len(one))
	}
	if got := dropped(t, reg, records.ReasonQueueFull); got != 15 {
		t.Errorf("dropped{queue_full} = %v, want 15", got)
	}
	if err := q.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := sender.deliveredIDs(); !slices.Equal(got, ids(15, 20)) {
		t.Errorf("delivered %v, want records 15–19", got)
	}
}

// GW-79: a 400 drops that batch (reason rejected, first record id logged)
// and later batches are delivered.
func TestGW79_RejectedBatchIsDroppedAndLaterBatchesDelivered(t *testing.T) {
	t.Parallel()
	backend, srv := newFakeBackend(t, func(n int) (int, bool) {
		if n == 0 {
			return http.StatusBadRequest, false
		}
		return http.StatusOK, true
	})
	reg := prometheus.NewRegistry()
	log, logs := newLogger()
	// Batches leave only when full (10), so each holds exactly one group.
	q := records.New(newHTTPSender(srv), records.Options{BatchSize: 10, BatchDelay: time.Hour}, reg, log)
	wait := runQueue(t.Context(), q.Run)
	for i := range 10 {
		q.Enqueue(record(i))
	}
	waitFor(t, "the batch rejected", func() bool { return dropped(t, reg, records.ReasonRejected) == 10 })
	for i := 10; i < 30; i++ {
		q.Enqueue(record(i))
	}
	waitFor(t, "later batches stored", func() bool { _, stored, _ := backend.snapshot(); return len(stored) == 20 })
	if err := q.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait()

	requests, stored, _ := backend.snapshot()
	if !slices.Equal(stored, ids(10, 30)) || len(requests) != 3 {
		t.Errorf("stored %v in %d requests, want records 10–29 in 2 after the rejected one", stored, len(requests))
	}
	if !strings.Contains(logs.String(), "rejected") || !strings.Contains(logs.String(), record(0).ID) {
		t.Errorf("rejection not logged with the first record id:\n%s", logs)
	}
	if got := metric(t, reg, "mcpbox_gateway_exec_records_sent_total"); got != 20 {
		t.Errorf("sent_total = %v, want 20", got)
	}
}

// GW-80: Close flushes what is queued (batches that were not due yet) and
// returns; a record arriving afterwards counts as shutdown.
func TestGW80_CloseFlushesQueuedRecords(t *testing.T) {
	t.Parallel()
	backend, srv := newFakeBackend(t, func(int) (int, bool) { return http.StatusOK, true })
	reg := prometheus.NewRegistry()
	log, _ := newLogger()
	q := records.New(newHTTPSender(srv), records.Options{BatchDelay: time.Hour}, reg, log)
	wait := runQueue(t.Context(), q.Run)
	for i := range 130 {
		q.Enqueue(record(i))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a guard against hangs only
	defer cancel()
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wait()
	if _, stored, _ := backend.snapshot(); !slices.Equal(stored, ids(0, 130)) {
		t.Errorf("stored %d records, want all 130", len(stored))
	}
	q.Enqueue(record(999))
	if got := dropped(t, reg, records.ReasonShutdown); got != 1 {
		t.Errorf("dropped{shutdown} = %v, want 1 (the record after Close)", got)
	}
	if got := metric(t, reg, "mcpbox_gateway_exec_records_queued"); got != 0 {
		t.Errorf("queued = %v after Close", got)
	}
}

// GW-80 (leftovers): with the backend failing, the flush stops at its
// deadline and what remains is counted as shutdown and logged.
func TestGW80_LeftoversAtTheFlushDeadlineCountAsShutdown(t *testing.T) {
	t.Parallel()
	sender := &memSender{hook: func(context.Context, int) error { return errBackendDown }}
	reg := prometheus.NewRegistry()
	log, logs := newLogger()
	q := records.New(sender, records.Options{
		BatchSize: 10, BatchDelay: time.Hour, MinBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		FlushTimeout: 100 * time.Millisecond,
	}, reg, log)
	wait := runQueue(t.Context(), q.Run)
	for i := range 25 {
		q.Enqueue(record(i))
	}
	if err := q.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait()
	if got := dropped(t, reg, records.ReasonShutdown); got != 25 {
		t.Errorf("dropped{shutdown} = %v, want 25", got)
	}
	if got := metric(t, reg, "mcpbox_gateway_exec_records_queued"); got != 0 {
		t.Errorf("queued = %v after Close", got)
	}
	if sender.callCount() == 0 {
		t.Error("the flush never tried to send")
	}
	out := logs.String()
	if !strings.Contains(out, "lost at shutdown") || !strings.Contains(out, `"count":25`) || !strings.Contains(out, record(0).ID) {
		t.Errorf("leftovers not logged:\n%s", out)
	}
}

// Close returns with ctx's error when ctx ends before the flush does; the
// records still queued count as shutdown.
func TestCloseReturnsWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	sender := &memSender{hook: func(ctx context.Context, _ int) error { <-ctx.Done(); return ctx.Err() }}
	reg := prometheus.NewRegistry()
	log, _ := newLogger()
	q := records.New(sender, records.Options{BatchDelay: time.Hour, FlushTimeout: time.Hour}, reg, log)
	wait := runQueue(t.Context(), q.Run)
	for i := range 3 {
		q.Enqueue(record(i))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := q.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the deadline error", err)
	}
	wait()
	if got := dropped(t, reg, records.ReasonShutdown); got != 3 {
		t.Errorf("dropped{shutdown} = %v, want 3", got)
	}
}

// When Run's context ends (the wiring cancels its workers), Run flushes
// like Close and the queue is closed.
func TestRunFlushesWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	sender := &memSender{}
	reg := prometheus.NewRegistry()
	log, _ := newLogger()
	q := records.New(sender, records.Options{BatchDelay: time.Hour}, reg, log)
	ctx, cancel := context.WithCancel(t.Context())
	wait := runQueue(ctx, q.Run)
	for i := range 7 {
		q.Enqueue(record(i))
	}
	cancel()
	wait()
	if got := sender.deliveredIDs(); !slices.Equal(got, ids(0, 7)) {
		t.Errorf("delivered %v, want records 0–6", got)
	}
	q.Enqueue(record(7))
	if err := q.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := dropped(t, reg, records.ReasonShutdown); got != 1 {
		t.Errorf("dropped{shutdown} = %v, want 1", got)
	}
}

// A record that cannot be sent at all is dropped as rejected when queued,
// so it can never block the batches behind it.
func TestUnsendableRecordsAreRejectedAtOnce(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	log, _ := newLogger()
	q := records.New(&memSender{}, records.Options{}, reg, log)
	huge := record(1)
	huge.Stdout = strings.Repeat("x", proto.MaxExecutionBatchBytes)
	broken := record(2)
	broken.Result = json.RawMessage(`{"a":`)
	q.Enqueue(huge)
	q.Enqueue(broken)
	if got := dropped(t, reg, records.ReasonRejected); got != 2 {
		t.Errorf("dropped{rejected} = %v, want 2", got)
	}
	if got := metric(t, reg, "mcpbox_gateway_exec_records_queued"); got != 0 {
		t.Errorf("queued = %v", got)
	}
}

func TestMetricsPassPromlint(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	log, _ := newLogger()
	records.New(&memSender{}, records.Options{}, reg, log)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
	if got := metric(t, reg, "mcpbox_gateway_exec_records_capacity"); got != records.DefaultMaxRecords {
		t.Errorf("capacity = %v, want %d", got, records.DefaultMaxRecords)
	}
}

func requestSizes(requests [][]string) []int {
	out := make([]int, len(requests))
	for i, r := range requests {
		out[i] = len(r)
	}
	return out
}
