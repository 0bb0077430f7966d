package mcpserve

import (
	"context"
	"sync"
)

// listenStreams tracks the open subscriptions/listen streams of this
// replica by caller key (gateway.md §5.6): a caller holds at most perCaller
// of them; opening one more cancels the oldest (its request context ends,
// and the SDK closes the stream).
type listenStreams struct {
	perCaller int
	m         *metrics

	mu    sync.Mutex
	seq   uint64
	byKey map[string][]*listenStream // oldest first
}

// listenStream is one open stream.
type listenStream struct {
	id       uint64
	listener string
	cancel   context.CancelFunc
	// evicted streams are being closed and no longer count.
	evicted bool
}

func newListenStreams(perCaller int, m *metrics) *listenStreams {
	return &listenStreams{perCaller: perCaller, m: m, byKey: map[string][]*listenStream{}}
}

// open records a stream of key on listener, ending its oldest streams
// beyond the cap, and returns its id.
func (l *listenStreams) open(listener, key string, cancel context.CancelFunc) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	s := &listenStream{id: l.seq, listener: listener, cancel: cancel}
	live := 0
	for _, o := range l.byKey[key] {
		if !o.evicted {
			live++
		}
	}
	for _, o := range l.byKey[key] {
		if live < l.perCaller {
			break
		}
		if !o.evicted {
			o.evicted = true
			o.cancel()
			live--
		}
	}
	l.byKey[key] = append(l.byKey[key], s)
	l.m.listenStreams(listener, 1)
	return s.id
}

// close forgets stream id of key (its request ended).
func (l *listenStreams) close(key string, id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := l.byKey[key]
	for i, s := range list {
		if s.id == id {
			l.m.listenStreams(s.listener, -1)
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(l.byKey, key)
	} else {
		l.byKey[key] = list
	}
}

// cancelAll ends every stream (shutdown).
func (l *listenStreams) cancelAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, list := range l.byKey {
		for _, s := range list {
			s.evicted = true
			s.cancel()
		}
	}
}
