package jwks

import (
	"fmt"
	"net/http"
	"time"

	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
)

// beginAttempt records the start of a fetch attempt and returns its trigger.
func (s *Source) beginAttempt() string {
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastAttempt = now
	t := s.pending
	switch {
	case t != "":
		s.pending = ""
	case s.cur.Load() == nil:
		t = metrics.TriggerStartup
	default:
		t = metrics.TriggerSchedule
	}
	return t
}

// endAttempt records the outcome of an attempt: status 0 is a transport
// error described by errText; a 200 succeeded when the cache now holds a
// new set with a usable key.
func (s *Source) endAttempt(trigger string, status int, errText string) {
	got := unchanged
	switch {
	case status == 0:
	case status != http.StatusOK:
		errText = fmt.Sprintf("status %d", status)
	default:
		got = s.observe()
		switch got {
		case installed:
			errText = ""
		case unusable:
			errText = "no usable key in the set"
		case unchanged:
			if errText == "" {
				errText = "response is not a JWK set"
			}
		}
	}
	result := metrics.ResultOK
	if errText != "" {
		result = metrics.ResultError
		s.o.Log.Warn("jwks fetch failed", obs.KeyKind, trigger, obs.KeyError, errText)
	}
	s.m.JWKSFetches.WithLabelValues(trigger, result).Inc()
	s.mu.Lock()
	s.attempts++
	s.lastErr = errText
	if got == installed {
		s.loadOnce.Do(func() {
			close(s.loaded)
			s.o.Log.Info("jwks key set loaded", obs.KeyCount, s.cur.Load().n)
		})
	}
	s.notifyLocked()
	s.mu.Unlock()
	s.updateAge(s.o.Now())
}

type outcome int

const (
	unchanged outcome = iota // no new set in the cache
	unusable                 // a new set without a usable key
	installed                // a new set now in use
)

// observe runs the filter on the cache's set if it is new and, when it has
// a usable key, makes it the set in use.
func (s *Source) observe() outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.res == nil {
		return unchanged
	}
	set := s.res.Resource()
	if set == nil || set == s.lastSeen {
		return unchanged
	}
	s.lastSeen = set
	u := filterSet(set)
	s.reportLocked(u)
	if u.n == 0 {
		return unusable
	}
	now := s.o.Now()
	s.cur.Store(&keySet{byKID: u.byKID, n: u.n, fetchedAt: now})
	s.m.JWKSKeys.Set(float64(u.n))
	s.m.JWKSLastSuccess.Set(float64(now.UnixNano()) / 1e9)
	s.m.JWKSAge.Set(0)
	return installed
}

// reportLocked counts the skipped entries of a processed set and warns
// about those not already skipped in the previous one.
func (s *Source) reportLocked(u usable) {
	warned := make(map[string]bool, len(u.skipped))
	for _, sk := range u.skipped {
		s.m.JWKSKeysSkipped.WithLabelValues(sk.reason).Inc()
		id := sk.reason + "\x00" + sk.kid
		if !s.warned[id] {
			s.o.Log.Warn("jwks key skipped", obs.KeyKeyID, truncate(sk.kid, 64), obs.KeyReason, sk.reason)
		}
		warned[id] = true
	}
	s.warned = warned
	if u.dropped > 0 {
		s.o.Log.Warn("jwks usable keys over the limit dropped", obs.KeyCount, u.dropped)
	}
}

func (s *Source) updateAge(now time.Time) {
	if ks := s.cur.Load(); ks != nil {
		s.m.JWKSAge.Set(now.Sub(ks.fetchedAt).Seconds())
	}
}
