package hostpkg_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/services/sandbox/internal/hostpkg"
)

// sym returns one symbol of the mcpbox map.
func sym[T any](t *testing.T, ex map[string]map[string]reflect.Value, name string) T {
	t.Helper()
	v, ok := ex["mcpbox/mcpbox"][name]
	if !ok {
		t.Fatalf("no symbol %s", name)
	}
	f, ok := v.Interface().(T)
	if !ok {
		t.Fatalf("%s has type %s", name, v.Type())
	}
	return f
}

type recordingDoer struct {
	mu       sync.Mutex
	reqs     []hostpkg.BrokerRequest
	inFlight atomic.Int32
	peak     atomic.Int32
	block    chan struct{}
	status   int
}

func (d *recordingDoer) Do(ctx context.Context, req hostpkg.BrokerRequest) (hostpkg.BrokerResponse, error) {
	n := d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	for {
		p := d.peak.Load()
		if n <= p || d.peak.CompareAndSwap(p, n) {
			break
		}
	}
	d.mu.Lock()
	d.reqs = append(d.reqs, req)
	d.mu.Unlock()
	if d.block != nil {
		select {
		case <-d.block:
		case <-ctx.Done():
			return hostpkg.BrokerResponse{}, ctx.Err()
		}
	}
	if strings.Contains(req.URL, "denied") {
		return hostpkg.BrokerResponse{}, &hostpkg.RefusedError{Kind: hostpkg.KindEgressDenied, Message: "denied.example:443 is not an approved host; request it"}
	}
	return hostpkg.BrokerResponse{Status: d.status, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"ok":true}`)}, nil
}

func client(t *testing.T, cfg hostpkg.Config) *hostpkg.Client {
	t.Helper()
	return sym[*hostpkg.Client](t, hostpkg.Exports(cfg), "HTTP")
}

func TestClientSendsThroughDoer(t *testing.T) {
	t.Parallel()
	d := &recordingDoer{status: 200}
	c := client(t, hostpkg.Config{HTTP: d})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out map[string]bool
	if err := c.GetJSON(ctx, "https://api.example.com/x", &out, hostpkg.Header{"Authorization": "Bearer t"}); err != nil || !out["ok"] {
		t.Fatalf("GetJSON: %v %v", err, out)
	}
	if err := c.PostJSON(ctx, "https://api.example.com/y", map[string]int{"a": 1}, nil, nil); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "https://api.example.com/z", strings.NewReader("body"))
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Do: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(b) != `{"ok":true}` {
		t.Fatalf("body %q", b)
	}
	r, err := c.Post(ctx, "https://api.example.com/p", "text/plain", []byte("hi"), nil)
	if err != nil || r.Text() != `{"ok":true}` || r.Status != 200 {
		t.Fatalf("Post: %v %+v", err, r)
	}
	got := d.reqs
	if len(got) != 4 || got[0].ID != 1 || got[3].ID != 4 {
		t.Fatalf("requests %+v", got)
	}
	if got[0].Header.Get("Authorization") != "Bearer t" || got[0].Method != http.MethodGet || got[0].Timeout <= 0 {
		t.Fatalf("first request %+v", got[0])
	}
	if string(got[1].Body) != `{"a":1}` || got[1].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("PostJSON request %+v", got[1])
	}
	if got[2].Method != http.MethodPut || string(got[2].Body) != "body" {
		t.Fatalf("Do request %+v", got[2])
	}
}

func TestHTTPErrorAndEgressError(t *testing.T) {
	t.Parallel()
	d := &recordingDoer{status: 404}
	c := client(t, hostpkg.Config{HTTP: d})
	err := c.GetJSON(context.Background(), "https://api.example.com/missing", nil, nil)
	var he *hostpkg.HTTPError
	if !errors.As(err, &he) || he.Status != 404 || err.Error() != `GET https://api.example.com/missing returned 404 Not Found: {"ok":true}` {
		t.Fatalf("err = %v", err)
	}
	if id, ok := hostpkg.CallID(fmt.Errorf("wrapped: %w", err)); !ok || id != 1 {
		t.Fatalf("CallID = %d %v", id, ok)
	}
	_, err = c.Get(context.Background(), "https://denied.example/", nil)
	var ee *hostpkg.EgressError
	if !errors.As(err, &ee) || !strings.Contains(ee.Error(), "not an approved host") {
		t.Fatalf("err = %v", err)
	}
	if id, ok := hostpkg.CallID(err); !ok || id != 2 {
		t.Fatalf("CallID = %d %v", id, ok)
	}
	// No doer: no network.
	_, err = client(t, hostpkg.Config{}).Get(context.Background(), "https://api.example.com/", nil)
	if !errors.As(err, &ee) {
		t.Fatalf("no network: %v", err)
	}
}

// SB-57 (the worker's half): the request after the budget fails, a body over
// 4 MiB fails, and at most 4 requests are in flight.
func TestBudgetBodyCapAndInFlight(t *testing.T) {
	t.Parallel()
	d := &recordingDoer{status: 200}
	c := client(t, hostpkg.Config{HTTP: d, MaxRequests: 3})
	ctx := context.Background()
	for range 3 {
		if _, err := c.Get(ctx, "https://api.example.com/", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Get(ctx, "https://api.example.com/", nil); err == nil || !strings.Contains(err.Error(), "budget exceeded") {
		t.Fatalf("4th request: %v", err)
	}
	c = client(t, hostpkg.Config{HTTP: d})
	if _, err := c.Post(ctx, "https://api.example.com/", "x", make([]byte, hostpkg.MaxRequestBodyBytes+1), nil); err == nil || !strings.Contains(err.Error(), "4 MiB") {
		t.Fatalf("big body: %v", err)
	}
	d2 := &recordingDoer{status: 200, block: make(chan struct{})}
	c = client(t, hostpkg.Config{HTTP: d2})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { _, _ = c.Get(ctx, "https://api.example.com/", nil) })
	}
	for d2.inFlight.Load() < hostpkg.MaxInFlight {
		time.Sleep(time.Millisecond)
	}
	close(d2.block)
	wg.Wait()
	if p := d2.peak.Load(); p != hostpkg.MaxInFlight {
		t.Fatalf("peak in flight %d", p)
	}
	if len(d2.reqs) != 10 {
		t.Fatalf("%d requests", len(d2.reqs))
	}
}

// SB-42, SB-44 (the host package's half): copies, withheld notes once.
func TestSecretsAreCopiesAndWithheldNotedOnce(t *testing.T) {
	t.Parallel()
	v := "value-abcdefgh"
	secrets := map[string]*string{"A": &v, "NULL": nil}
	var out strings.Builder
	ex := hostpkg.Exports(hostpkg.Config{Secrets: secrets, Withheld: []string{"HELD"}, Stdout: &out})
	secret := sym[func(string) string](t, ex, "Secret")
	lookup := sym[func(string) (string, bool)](t, ex, "LookupSecret")
	names := sym[func() []string](t, ex, "SecretNames")
	logf := sym[func(string, ...any)](t, ex, "Log")

	v = "changed-after-exports"
	secrets["NEW"] = &v
	if got := secret("A"); got != "value-abcdefgh" {
		t.Fatalf("Secret(A) = %q: the job's copy changed", got)
	}
	if s, ok := lookup("NULL"); s != "" || ok {
		t.Fatal("NULL is set")
	}
	if secret("MISSING") != "" || secret("NEW") != "" {
		t.Fatal("unknown secret has a value")
	}
	n := names()
	n[0] = "X"
	if got := names(); strings.Join(got, ",") != "A,HELD,NULL" {
		t.Fatalf("SecretNames = %v", got)
	}
	for range 3 {
		if s, ok := lookup("HELD"); s != "" || ok {
			t.Fatal("withheld secret readable")
		}
		_ = secret("HELD")
	}
	logf("n=%d\n", 2)
	want := "[log] secret HELD is withheld: secret values are withheld from unapproved versions\n[log] n=2\n"
	if out.String() != want {
		t.Fatalf("stdout %q", out.String())
	}
}

// SB-38 (the host package's half): the exposed Client prints no host state.
func TestClientPrintsNoState(t *testing.T) {
	t.Parallel()
	v := "super-secret-value"
	c := client(t, hostpkg.Config{Secrets: map[string]*string{"TOKEN": &v}, HTTP: &recordingDoer{}})
	dump := fmt.Sprintf("%+v %#v", *c, c)
	if strings.Contains(dump, v) || strings.Contains(dump, "TOKEN") || strings.Contains(dump, "recordingDoer") {
		t.Fatalf("dump %q", dump)
	}
	var zero hostpkg.Client
	if _, err := zero.Get(context.Background(), "https://example.com/", nil); err == nil {
		t.Fatal("a Client built by tool code sent a request")
	}
}
