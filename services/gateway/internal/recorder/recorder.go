// Package recorder is a loopback HTTP server for tests: it records every
// request and answers each path prefix with a handler the test sets (the
// longest matching prefix wins). It fakes the backend's internal API and
// the sandbox in the gateway's package tests.
package recorder

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// Request is one request the server received.
type Request struct {
	Path, Query, RequestID string
	Body                   []byte
}

// Server is the recording server; its URL is the embedded server's.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	seen     []Request
}

// New starts a server that the test's cleanup closes. A path no handler
// covers answers 404 with the proto error body not_found.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{handlers: map[string]http.HandlerFunc{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.seen = append(s.seen, Request{Path: r.URL.Path, Query: r.URL.RawQuery, RequestID: r.Header.Get(proto.HeaderRequestID), Body: body})
	var h http.HandlerFunc
	best := -1
	for prefix, hh := range s.handlers {
		if strings.HasPrefix(r.URL.Path, prefix) && len(prefix) > best {
			h, best = hh, len(prefix)
		}
	}
	s.mu.Unlock()
	if h == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(proto.ErrorBody{Error: proto.Error{Code: proto.CodeNotFound, Message: "no route"}})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h(w, r)
}

// Handle answers the paths starting with prefix with h.
func (s *Server) Handle(prefix string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[prefix] = h
}

// Requests returns the requests whose path starts with prefix, in order.
func (s *Server) Requests(prefix string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.seen {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}
