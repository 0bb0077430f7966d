package db_test

import (
	"testing"

	"github.com/mcpbox/mcpbox/db/dbtest"
)

// TryLock admits one holder across stores on one database; unlock lets the
// next one in.
func TestTryLockIsExclusiveAcrossStores(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	a, b := open(t, url), open(t, url)
	const key = 0x6d6370626f78
	unlock, ok, err := a.TryLock(t.Context(), key)
	if err != nil || !ok {
		t.Fatalf("first TryLock: %v %v", ok, err)
	}
	if _, ok, err := b.TryLock(t.Context(), key); err != nil || ok {
		t.Fatalf("second TryLock while held: %v %v", ok, err)
	}
	unlock()
	unlockB, ok, err := b.TryLock(t.Context(), key)
	if err != nil || !ok {
		t.Fatalf("TryLock after unlock: %v %v", ok, err)
	}
	unlockB()
}
