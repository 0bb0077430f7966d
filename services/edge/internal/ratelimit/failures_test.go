package ratelimit_test

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/testclock"
	"github.com/mcpbox/mcpbox/services/edge/internal/ratelimit"
)

// EDGE-78 at the limiter level: 30 failures lock the IP out for the rest of
// the window; once the window passes it is unlocked; another IP never is.
func TestEDGE78_AuthFailureLockout(t *testing.T) {
	t.Parallel()
	clock := testclock.New()
	f := ratelimit.NewFailures(30, clock.Now)
	const ip, other = "192.0.2.7", "192.0.2.8"
	for i := range 29 {
		f.Record(ip)
		if locked, _ := f.Locked(ip); locked {
			t.Fatalf("locked after %d failures", i+1)
		}
	}
	f.Record(ip)
	locked, retry := f.Locked(ip)
	if !locked || retry != 60 {
		t.Fatalf("after 30 failures: locked=%v retryAfter=%d, want locked for 60", locked, retry)
	}
	if locked, _ := f.Locked(other); locked {
		t.Fatal("another IP locked")
	}
	clock.Advance(59*time.Second + 500*time.Millisecond)
	if locked, retry := f.Locked(ip); !locked || retry != 1 {
		t.Fatalf("0.5 s before the window ends: locked=%v retryAfter=%d, want locked for 1", locked, retry)
	}
	clock.Advance(500 * time.Millisecond)
	if locked, retry := f.Locked(ip); locked {
		t.Fatalf("still locked (retryAfter %d) once the window passed", retry)
	}
	if got := f.Len(); got != 0 {
		t.Fatalf("Len = %d after every failure expired, want 0", got)
	}
}

func TestFailuresRollingWindow(t *testing.T) {
	t.Parallel()
	clock := testclock.New()
	f := ratelimit.NewFailures(3, clock.Now)
	f.Record("k") // t=0
	clock.Advance(20 * time.Second)
	f.Record("k") // t=20
	clock.Advance(20 * time.Second)
	f.Record("k") // t=40: three within the minute
	if locked, retry := f.Locked("k"); !locked || retry != 20 {
		t.Fatalf("locked=%v retryAfter=%d, want locked until the t=0 failure leaves (20 s)", locked, retry)
	}
	clock.Advance(20 * time.Second) // t=60: the first failure left
	if locked, _ := f.Locked("k"); locked {
		t.Fatal("locked with two failures in the window")
	}
	f.Record("k") // t=60: three again (20, 40, 60)
	if locked, retry := f.Locked("k"); !locked || retry != 20 {
		t.Fatalf("locked=%v retryAfter=%d, want locked for 20 s", locked, retry)
	}
	f.Record("k") // recorded while locked: the newest three are 40, 60, 60
	if locked, retry := f.Locked("k"); !locked || retry != 40 {
		t.Fatalf("locked=%v retryAfter=%d, want the lockout extended to 40 s", locked, retry)
	}
}

func TestFailuresBound(t *testing.T) {
	t.Parallel()
	clock := testclock.New()
	f := ratelimit.NewFailuresBounded(1, clock.Now, ratelimit.Bound{MaxKeys: 2, Shards: 1})
	f.Record("a")
	f.Record("b")
	f.Record("a") // b is now the least recently used
	f.Record("c") // evicts b
	if got := f.Len(); got != 2 {
		t.Fatalf("Len = %d, want 2", got)
	}
	if locked, _ := f.Locked("b"); locked {
		t.Fatal("b still counted after eviction")
	}
	for _, k := range []string{"a", "c"} {
		if locked, _ := f.Locked(k); !locked {
			t.Fatalf("%s lost its failures", k)
		}
	}
	// An entry with no failure in the window is dropped by later traffic.
	clock.Advance(time.Minute)
	f.Record("d")
	if got := f.Len(); got != 1 {
		t.Fatalf("Len = %d after a and c expired, want 1", got)
	}
}

// failureModel is the rule stated plainly: every failure kept, locked while
// at least perMinute are younger than a minute.
type failureModel struct {
	perMinute int
	times     map[string][]time.Time
}

func (m *failureModel) locked(key string, now time.Time) (bool, int) {
	var live []time.Time
	for _, t := range m.times[key] {
		if now.Sub(t) < time.Minute {
			live = append(live, t)
		}
	}
	m.times[key] = live // older failures never count again (the clock only advances)
	if len(live) < m.perMinute {
		return false, 0
	}
	// The lockout ends when fewer than perMinute remain: when the
	// perMinute-th newest failure leaves the window.
	edge := live[len(live)-m.perMinute]
	left := edge.Add(time.Minute).Sub(now)
	secs := int((left + time.Second - 1) / time.Second)
	return true, max(secs, 1)
}

// checkFailuresAgainstModel runs ops (2 bytes each: the op and a key or a
// step) against Failures and the model and reports the first difference.
func checkFailuresAgainstModel(t *testing.T, perMinute int, ops []byte) {
	t.Helper()
	clock := testclock.New()
	f := ratelimit.NewFailures(perMinute, clock.Now)
	m := &failureModel{perMinute: perMinute, times: map[string][]time.Time{}}
	keys := []string{"a", "b", "c"}
	for i := 0; i+1 < len(ops); i += 2 {
		arg := ops[i+1]
		switch ops[i] % 3 {
		case 0:
			k := keys[int(arg)%len(keys)]
			f.Record(k)
			m.times[k] = append(m.times[k], clock.Now())
		case 1:
			clock.Advance(time.Duration(arg) * 250 * time.Millisecond)
		}
		for _, k := range keys {
			gotL, gotR := f.Locked(k)
			wantL, wantR := m.locked(k, clock.Now())
			if gotL != wantL || gotR != wantR {
				t.Fatalf("op %d, key %s: Locked = (%v, %d), model (%v, %d)", i/2, k, gotL, gotR, wantL, wantR)
			}
		}
	}
}

func TestFailuresMatchesModel(t *testing.T) {
	t.Parallel()
	for _, perMinute := range []int{1, 3, 5, 30} {
		rng := rand.New(rand.NewPCG(uint64(perMinute), 42))
		ops := make([]byte, 2000)
		for i := 0; i < len(ops); i += 2 {
			ops[i] = byte(rng.IntN(3))
			if ops[i] == 1 {
				ops[i+1] = byte(rng.IntN(16)) // mostly short steps: many failures per window
			} else {
				ops[i+1] = byte(rng.IntN(3))
			}
		}
		checkFailuresAgainstModel(t, perMinute, ops)
	}
}

func FuzzFailuresModel(f *testing.F) {
	f.Add(uint16(3), []byte{0, 0, 0, 0, 0, 0, 1, 80, 0, 0, 1, 160})
	f.Add(uint16(1), []byte{0, 1, 1, 239, 1, 1, 0, 2})
	f.Add(uint16(30), make([]byte, 70))
	f.Fuzz(func(t *testing.T, perMinute uint16, ops []byte) {
		if len(ops) > 2000 {
			ops = ops[:2000]
		}
		checkFailuresAgainstModel(t, int(perMinute%40)+1, ops)
	})
}

func TestFailuresConcurrent(t *testing.T) {
	t.Parallel()
	clock := testclock.New()
	// Room for every key: eviction would make the shared count meaningless.
	f := ratelimit.NewFailuresBounded(100, clock.Now, ratelimit.Bound{MaxKeys: 4096, Shards: 4})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var buf [8]byte
			for i := range 400 {
				if i < 10 {
					f.Record("shared")
				}
				binary.LittleEndian.PutUint64(buf[:], uint64(g*1000+i%50))
				k := string(buf[:])
				f.Record(k)
				f.Locked(k)
			}
		})
	}
	wg.Wait()
	if locked, _ := f.Locked("shared"); locked {
		t.Fatal("shared locked with 80 failures, limit 100")
	}
	for range 20 {
		f.Record("shared")
	}
	if locked, retry := f.Locked("shared"); !locked || retry != 60 {
		t.Fatalf("shared: locked=%v retryAfter=%d, want locked for 60", locked, retry)
	}
	if got := f.Len(); got != 401 {
		t.Fatalf("Len = %d, want 400 churn keys and shared", got)
	}
}
