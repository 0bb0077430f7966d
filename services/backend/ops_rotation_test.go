package main

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// OPS-38: rotating key id 1 → 2 with `backend rekey` (operations.md §6.4)
// completes even after an interruption. The first rekey is cancelled (as a
// killed process would be) while it waits for the server secret's row lock,
// after it has re-encrypted the key check and the signing key: those stay
// re-encrypted, since rekey commits one row per transaction. Dropping key 1
// then is too early: the start and `migrate check` fail, naming id 1 and
// its 3 remaining rows. A second rekey finishes the rest, a third finds
// everything current, and the backend then starts without key 1, every
// value opening with key 2 alone.
func TestOPS38_RekeyResumesAfterAnInterruption(t *testing.T) {
	t.Parallel()
	r := newRotation(t)

	err := rekeyInterrupted(t, r)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "run rekey again") {
		t.Fatalf("interrupted rekey: %v, want the cancellation and the advice to run it again", err)
	}
	// settings and signing_keys are under key 2; the server secret, the
	// source's two values and the flow's two are not.
	if stale, total := keyIDsNot(t, r.url, 2); stale != 5 || total != 7 {
		t.Fatalf("after the interruption: %d of %d ciphertexts not under key id 2, want 5 of 7", stale, total)
	}

	// Dropping key 1 too early fails, naming the id and its row count.
	for _, args := range [][]string{nil, {"migrate", "check"}} {
		logs, err := lifecycletest.Run(t, run, args, r.rotated)
		if err == nil || !strings.Contains(err.Error(), "key id 1 in 3 rows") ||
			!strings.Contains(err.Error(), "server_secrets 1") || strings.Contains(err.Error(), "signing_keys") {
			t.Fatalf("%q without key 1 after an interrupted rekey: %v\n%s", args, err, logs.String())
		}
	}

	// The second run re-encrypts only what the first left.
	logs, err := lifecycletest.Run(t, run, []string{"rekey"}, r.rotating)
	if err != nil {
		t.Fatalf("second rekey: %v\n%s", err, logs.String())
	}
	want := map[string][2]int{
		"settings": {0, 1}, "signing_keys": {0, 1}, "server_secrets": {1, 0}, "external_mcp_sources": {1, 0}, "oauth_flows": {1, 0},
	}
	if got := rekeySummary(t, logs); !maps.Equal(got, want) {
		t.Errorf("second rekey summary %v, want %v", got, want)
	}
	if stale, total := keyIDsNot(t, r.url, 2); stale != 0 || total != 7 {
		t.Fatalf("after the second rekey: %d of %d ciphertexts not under key id 2", stale, total)
	}

	// Idempotent: a third run finds everything current.
	logs, err = lifecycletest.Run(t, run, []string{"rekey"}, r.rotating)
	if err != nil {
		t.Fatalf("third rekey: %v", err)
	}
	for table := range want {
		want[table] = [2]int{0, 1}
	}
	if got := rekeySummary(t, logs); !maps.Equal(got, want) {
		t.Errorf("third rekey summary %v, want %v", got, want)
	}

	// A start without key 1 now succeeds, and key 2 alone opens every value.
	if _, err := lifecycletest.Run(t, run, []string{"migrate", "check"}, r.rotated); err != nil {
		t.Fatalf("migrate check without key 1 after the rotation: %v", err)
	}
	startOnce(t, r.rotated)
	checkStored(t, r.url, r.stored, newKeyring(t, 2, newKeyHex))
}

// rekeyInterrupted runs `backend rekey` on r.rotating while another
// transaction holds the server secret's row lock, cancels the run's context
// once rekey waits for that lock, releases the lock and returns rekey's
// error. No test hook is needed: the row lock stops rekey at a known row,
// and PostgreSQL's lock view says when it got there.
func rekeyInterrupted(t *testing.T, r rotation) error {
	t.Helper()
	var secretID uuid.UUID
	dbtest.QueryRow(t, r.url, "SELECT id FROM server_secrets", []any{&secretID})
	store, err := db.Open(t.Context(), r.url, db.WithMaxConns(1))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	locked, release, unlocked := make(chan error, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		unlocked <- store.InTx(context.Background(), db.ReadCommitted, func(q *dbq.Queries) error {
			_, err := q.RekeyLockServerSecret(context.Background(), secretID)
			locked <- err
			<-release
			return err
		})
	}()
	if err := <-locked; err != nil {
		close(release)
		t.Fatalf("lock the server secret: %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	environ := make([]string, 0, len(r.rotating))
	for k, v := range r.rotating {
		environ = append(environ, k+"="+v)
	}
	logs := &lifecycletest.Logs{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"rekey"}, environ, logs) }()

	waitForLockWaiter(t, r.url, done, logs)
	cancel()
	err = <-done
	close(release)
	if err := <-unlocked; err != nil {
		t.Fatalf("release the server secret: %v", err)
	}
	return err
}

// waitForLockWaiter waits until a session of the database at url waits for
// a row lock; rekey ending first (done) fails the test with its logs.
func waitForLockWaiter(t *testing.T, url string, done <-chan error, logs *lifecycletest.Logs) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		dbtest.QueryRow(t, url, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`, []any{&waiting})
		if waiting > 0 {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("rekey ended before it reached the locked row: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rekey never waited for the locked row\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
