package mcpservetest

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/mcpbox/mcpbox/proto"
)

// ErrBackendDown is what Source answers while down.
var ErrBackendDown = errors.New("dial tcp 127.0.0.1:8004: connection refused")

// Source is an in-memory backend for the catalog cache (catalog.Source):
// a catalog and a policy the test sets, and an event stream that tells the
// cache about every change.
type Source struct {
	mu      sync.Mutex
	cat     proto.Catalog
	pol     proto.Policy
	down    bool
	streams map[chan proto.Event]struct{}
}

// NewSource returns a source serving cat and pol.
func NewSource(cat proto.Catalog, pol proto.Policy) *Source {
	if cat.Tools == nil {
		cat.Tools = []proto.CatalogTool{}
	}
	if cat.Withheld == nil {
		cat.Withheld = []proto.WithheldTool{}
	}
	return &Source{cat: cat, pol: pol, streams: map[chan proto.Event]struct{}{}}
}

// Catalog implements catalog.Source (ETag "<revision>").
func (s *Source) Catalog(_ context.Context, etag string) (proto.Catalog, string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return proto.Catalog{}, "", false, ErrBackendDown
	}
	tag := strconv.Quote(strconv.FormatInt(s.cat.Revision, 10))
	if etag == tag {
		return proto.Catalog{}, tag, true, nil
	}
	return s.cat, tag, false, nil
}

// Policy implements catalog.Source.
func (s *Source) Policy(context.Context) (proto.Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return proto.Policy{}, ErrBackendDown
	}
	return s.pol, nil
}

// Events implements catalog.Source: hello, then every event Emit sends,
// until ctx ends or the source goes down.
func (s *Source) Events(ctx context.Context, onEvent func(proto.Event)) error {
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		return ErrBackendDown
	}
	ch := make(chan proto.Event, 16)
	s.streams[ch] = struct{}{}
	hello := proto.Event{Type: proto.EventHello, CatalogRevision: s.cat.Revision, PolicyRevision: s.pol.Revision}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.streams, ch)
		s.mu.Unlock()
	}()
	onEvent(hello)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-ch:
			if !ok {
				return ErrBackendDown
			}
			onEvent(e)
		}
	}
}

// SetCatalog replaces the catalog and announces it (catalog_changed).
func (s *Source) SetCatalog(cat proto.Catalog) {
	if cat.Tools == nil {
		cat.Tools = []proto.CatalogTool{}
	}
	if cat.Withheld == nil {
		cat.Withheld = []proto.WithheldTool{}
	}
	s.mu.Lock()
	s.cat = cat
	s.mu.Unlock()
	s.emit(proto.Event{Type: proto.EventCatalogChanged, Revision: cat.Revision})
}

// SetPolicy replaces the policy and announces it (policy_changed).
func (s *Source) SetPolicy(p proto.Policy) {
	s.mu.Lock()
	s.pol = p
	s.mu.Unlock()
	s.emit(proto.Event{Type: proto.EventPolicyChanged, Revision: p.Revision})
}

// CurrentPolicy returns the policy the source serves.
func (s *Source) CurrentPolicy() proto.Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pol
}

// SetDown makes every call fail (true) or succeed again (false); going
// down ends the open streams.
func (s *Source) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
	if down {
		for ch := range s.streams {
			close(ch)
			delete(s.streams, ch)
		}
	}
}

func (s *Source) emit(e proto.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.streams {
		select {
		case ch <- e:
		default: // a full stream: the cache's poll and reconnect cover it
		}
	}
}

// Tool returns a valid Go catalog entry named name ("<server>__<tool>")
// with a one-integer input schema, version 1 and a 30 s timeout. Ids are
// derived from the name, so equal names give equal entries.
func Tool(name string) proto.CatalogTool {
	server, _, _ := strings.Cut(name, "__")
	return proto.CatalogTool{
		ToolID: uuidFor("t" + name), ServerID: uuidFor("s" + server), ServerName: server, Name: name,
		Kind: proto.ToolKindGo, Version: 1, Hash: "sha256:" + strings.Repeat("0", 64),
		Description:  "Does " + name + ".",
		InputSchema:  json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"}}}`),
		OutputSchema: json.RawMessage(`null`), Annotations: json.RawMessage(`null`), TimeoutMS: 30000,
	}
}

// uuidFor returns a stable UUID-shaped id for s.
func uuidFor(s string) string {
	var h uint64 = 14695981039346656037
	for i := range len(s) {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	hex := strconv.FormatUint(h, 16)
	hex = strings.Repeat("0", 16-len(hex)) + hex
	return "00000000-0000-4000-8000-0000" + hex[:8]
}
