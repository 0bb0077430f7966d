package hostpkg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// ImportPath is the import path of the host package in tool code.
const ImportPath = "mcpbox"

// Limits of the tool HTTP client (sandbox.md §5.5, §11, §12.6).
const (
	// DefaultMaxRequests is the per-execution request budget when the job
	// names none.
	DefaultMaxRequests = 100
	// MaxInFlight is the number of requests sent to the parent at once;
	// further calls wait for a slot.
	MaxInFlight = 4
	// MaxRequestBodyBytes caps a request body read in the worker.
	MaxRequestBodyBytes = 4 << 20
	// bodyPreviewChars caps HTTPError.BodyPreview.
	bodyPreviewChars = 500
)

// BrokerRequest is one HTTP request of tool code, as the parent's broker
// receives it.
type BrokerRequest struct {
	// ID is unique within the execution, 1 … max requests.
	ID     int
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Timeout is what is left of the caller's deadline, 0 when it has none.
	Timeout time.Duration
}

// BrokerResponse is the broker's answer to a BrokerRequest.
type BrokerResponse struct {
	Status    int
	Header    http.Header
	Body      []byte
	Truncated bool
}

// Doer sends one request to the parent's broker and waits for its answer.
// A refusal by the broker is returned as a *RefusedError.
type Doer interface {
	Do(ctx context.Context, req BrokerRequest) (BrokerResponse, error)
}

// Refusal kinds a Doer reports in RefusedError.Kind.
const (
	// KindEgressDenied: the egress policy refused the destination; tool code
	// gets an *EgressError.
	KindEgressDenied = "egress_denied"
)

// RefusedError is the error a Doer returns when the parent answered the
// request with an error instead of a response (http_response error{kind,
// message}, sandbox.md §11).
type RefusedError struct {
	Kind    string
	Message string
}

func (e *RefusedError) Error() string { return e.Message }

// Config is the job's part of the host package.
type Config struct {
	// HTTP performs brokered requests; nil means no network (every call fails).
	HTTP Doer
	// Stdout is the captured stdout (mcpbox.Log and withheld-secret notes).
	Stdout io.Writer
	// Secrets maps declared names to values; a nil value is declared but not
	// set. The map is copied.
	Secrets map[string]*string
	// Withheld lists declared names whose values the caller withheld.
	Withheld []string
	// MaxRequests is the request budget; 0 means DefaultMaxRequests.
	MaxRequests int
}

// state is one job's host state. It is reached only through the *Client in
// the symbol map and the closures bound to it.
type state struct {
	doer     Doer
	stdout   io.Writer
	secrets  map[string]string // set values
	declared []string          // sorted declared names
	withheld map[string]bool
	maxReq   int
	slots    chan struct{}

	mu     sync.Mutex
	nextID int
	noted  map[string]bool
	outMu  sync.Mutex
}

// Exports returns the symbol map of package mcpbox for one job, keyed as
// interp.Use expects.
func Exports(cfg Config) map[string]map[string]reflect.Value {
	s := newState(cfg)
	client := &Client{s: s}
	return map[string]map[string]reflect.Value{
		ImportPath + "/" + ImportPath: {
			"HTTP":         reflect.ValueOf([1]*Client{client}).Index(0), // frozen: not assignable
			"Secret":       reflect.ValueOf(s.secret),
			"LookupSecret": reflect.ValueOf(s.lookupSecret),
			"SecretNames":  reflect.ValueOf(s.secretNames),
			"Log":          reflect.ValueOf(s.log),
			"Client":       reflect.ValueOf((*Client)(nil)),
			"Header":       reflect.ValueOf((*Header)(nil)),
			"Response":     reflect.ValueOf((*Response)(nil)),
			"HTTPError":    reflect.ValueOf((*HTTPError)(nil)),
			"EgressError":  reflect.ValueOf((*EgressError)(nil)),
		},
	}
}

func newState(cfg Config) *state {
	s := &state{
		doer:     cfg.HTTP,
		stdout:   cfg.Stdout,
		secrets:  map[string]string{},
		withheld: map[string]bool{},
		maxReq:   cfg.MaxRequests,
		slots:    make(chan struct{}, MaxInFlight),
		noted:    map[string]bool{},
	}
	if s.stdout == nil {
		s.stdout = io.Discard
	}
	if s.maxReq <= 0 {
		s.maxReq = DefaultMaxRequests
	}
	for name, v := range cfg.Secrets {
		s.declared = append(s.declared, name)
		if v != nil {
			s.secrets[name] = strings.Clone(*v)
		}
	}
	for _, name := range cfg.Withheld {
		s.withheld[name] = true
		delete(s.secrets, name)
		if !slices.Contains(s.declared, name) {
			s.declared = append(s.declared, name)
		}
	}
	slices.Sort(s.declared)
	return s
}

// CallID returns the IPC request id of the HTTP call behind err when err
// wraps an *HTTPError or *EgressError, so the parent can fill error.http
// from its own record.
func CallID(err error) (int, bool) {
	var he *HTTPError
	if errors.As(err, &he) && he.id > 0 {
		return he.id, true
	}
	var ee *EgressError
	if errors.As(err, &ee) && ee.id > 0 {
		return ee.id, true
	}
	return 0, false
}

func (s *state) secret(name string) string {
	v, _ := s.lookupSecret(name)
	return v
}

func (s *state) lookupSecret(name string) (string, bool) {
	if s.withheld[name] {
		s.mu.Lock()
		first := !s.noted[name]
		s.noted[name] = true
		s.mu.Unlock()
		if first {
			s.write("[log] secret " + name + " is withheld: secret values are withheld from unapproved versions\n")
		}
		return "", false
	}
	v, ok := s.secrets[name]
	return v, ok
}

func (s *state) secretNames() []string { return slices.Clone(s.declared) }

func (s *state) log(format string, args ...any) {
	msg := strings.TrimSuffix(fmt.Sprintf(format, args...), "\n")
	s.write("[log] " + msg + "\n")
}

func (s *state) write(text string) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	_, _ = io.WriteString(s.stdout, text)
}

// newID takes the next request id of the execution's budget.
func (s *state) newID() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nextID >= s.maxReq {
		return 0, fmt.Errorf("mcpbox: HTTP request budget exceeded: at most %d requests per execution; fetch less, e.g. use a bulk endpoint", s.maxReq)
	}
	s.nextID++
	return s.nextID, nil
}
