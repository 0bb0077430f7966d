package mcpservetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// Req is a raw request to a listener.
type Req struct {
	// Method is the HTTP method (default POST).
	Method string
	// Listener is caller.ListenerLocal (default) or caller.ListenerRemote.
	Listener string
	// Body is the request body.
	Body string
	// Header is applied after the defaults (Content-Type and Accept for
	// POST, the service token on the remote listener); an empty value
	// removes a default.
	Header http.Header
	// Path replaces /mcp.
	Path string
}

// Headers builds an http.Header from name, value pairs.
func Headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// Resp is a response read to its end.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends req and reads the whole response. For streams that stay open
// use Stream.
func (h *Harness) Do(t testing.TB, req Req) *Resp {
	t.Helper()
	return h.Send(t, h.NewRequest(t, req))
}

// Send sends r and reads the whole response.
func (h *Harness) Send(t testing.TB, r *http.Request) *Resp {
	t.Helper()
	resp, err := h.Client().Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", r.Method, r.URL.Path, err)
	}
	return &Resp{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Stream sends req and returns the open response (an SSE stream); the
// caller closes its body.
func (h *Harness) Stream(t testing.TB, req Req) *http.Response {
	t.Helper()
	resp, err := h.Client().Do(h.NewRequest(t, req))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	return resp
}

// NewRequest builds req without sending it.
func (h *Harness) NewRequest(t testing.TB, req Req) *http.Request {
	t.Helper()
	if req.Method == "" {
		req.Method = http.MethodPost
	}
	if req.Listener == "" {
		req.Listener = caller.ListenerLocal
	}
	if req.Path == "" {
		req.Path = proto.PathMCP
	}
	var body io.Reader
	if req.Body != "" {
		body = strings.NewReader(req.Body)
	}
	r, err := http.NewRequestWithContext(context.Background(), req.Method, h.Servers[req.Listener].URL+req.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method == http.MethodPost {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Accept", "application/json, text/event-stream")
	if req.Listener == caller.ListenerRemote {
		r.Header.Set(proto.HeaderServiceToken, Token)
	}
	for k, vs := range req.Header {
		r.Header.Del(k)
		for _, v := range vs {
			if v != "" {
				r.Header.Add(k, v)
			}
		}
	}
	return r
}

// Message is one JSON-RPC message of a response.
type Message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// Messages returns every JSON-RPC message of the response: the events of
// an SSE stream, or one JSON body.
func (r *Resp) Messages(t testing.TB) []Message {
	t.Helper()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var out []Message
	if mt == "text/event-stream" {
		for ev := range Events(bytes.NewReader(r.Body)) {
			if ev.Data == "" {
				continue
			}
			var m Message
			if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
				t.Fatalf("event data %q: %v", ev.Data, err)
			}
			out = append(out, m)
		}
		return out
	}
	var m Message
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q (status %d): %v", r.Body, r.Status, err)
	}
	return append(out, m)
}

// Response returns the message that answers a request (an id and a result
// or error).
func (r *Resp) Response(t testing.TB) Message {
	t.Helper()
	for _, m := range r.Messages(t) {
		if m.Method == "" && (m.Result != nil || m.Error != nil) {
			return m
		}
	}
	t.Fatalf("no JSON-RPC response (status %d): %q", r.Status, r.Body)
	return Message{}
}

// Refusal decodes a gateway refusal body.
func (r *Resp) Refusal(t testing.TB) rpcerr.Body {
	t.Helper()
	var b rpcerr.Body
	if err := json.Unmarshal(r.Body, &b); err != nil || b.JSONRPC != "2.0" {
		t.Fatalf("status %d, body %q: not a refusal (%v)", r.Status, r.Body, err)
	}
	return b
}

// Event is one SSE event or comment block.
type Event struct {
	// Comments are the comment lines without the leading ':'.
	Comments []string
	Name     string
	Data     string
	// Raw is the block as read, without the terminating blank line.
	Raw string
}

// Events iterates the SSE blocks of r, each ended by a blank line.
func Events(r io.Reader) func(yield func(Event) bool) {
	return func(yield func(Event) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		var ev Event
		var raw []string
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				ev.Raw = strings.Join(raw, "\n")
				if !yield(ev) {
					return
				}
				ev, raw = Event{}, nil
				continue
			}
			raw = append(raw, line)
			switch {
			case strings.HasPrefix(line, ":"):
				ev.Comments = append(ev.Comments, strings.TrimSpace(line[1:]))
			case strings.HasPrefix(line, "event:"):
				ev.Name = strings.TrimSpace(line[len("event:"):])
			case strings.HasPrefix(line, "data:"):
				if ev.Data != "" {
					ev.Data += "\n"
				}
				ev.Data += strings.TrimPrefix(line[len("data:"):], " ")
			}
		}
	}
}

// ClientOptions configures Connect.
type ClientOptions struct {
	// Listener is caller.ListenerLocal (default) or caller.ListenerRemote.
	Listener string
	// Email and Sub are the identity headers sent to the remote listener.
	Email, Sub string
	// ProtocolVersion is the client's version: empty means the go-sdk
	// default (modern era: server/discover first); an initialize-era
	// version makes it initialize.
	ProtocolVersion string
	// ToolListChanged is called on notifications/tools/list_changed.
	ToolListChanged func()
	// Progress is called on notifications/progress.
	Progress func(*mcp.ProgressNotificationParams)
	// DisableStandaloneSSE keeps the client from opening the GET stream.
	DisableStandaloneSSE bool
}

// Connect connects a go-sdk client; it is closed when the test ends.
func (h *Harness) Connect(t testing.TB, o ClientOptions) *mcp.ClientSession {
	t.Helper()
	cs, err := h.TryConnect(o)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// TryConnect is Connect returning the error; the caller closes the session.
func (h *Harness) TryConnect(o ClientOptions) (*mcp.ClientSession, error) {
	if o.Listener == "" {
		o.Listener = caller.ListenerLocal
	}
	hdr := http.Header{}
	if o.Listener == caller.ListenerRemote {
		hdr.Set(proto.HeaderServiceToken, Token)
		if o.Email != "" {
			hdr.Set(proto.HeaderUserEmail, o.Email)
		}
		if o.Sub != "" {
			hdr.Set(proto.HeaderUserSub, o.Sub)
		}
	}
	opts := &mcp.ClientOptions{}
	if o.ToolListChanged != nil {
		opts.ToolListChangedHandler = func(context.Context, *mcp.ToolListChangedRequest) { o.ToolListChanged() }
	}
	if o.Progress != nil {
		opts.ProgressNotificationHandler = func(_ context.Context, r *mcp.ProgressNotificationClientRequest) { o.Progress(r.Params) }
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpservetest", Version: "1"}, opts)
	transport := &mcp.StreamableClientTransport{
		Endpoint:             h.URL(o.Listener),
		HTTPClient:           &http.Client{Transport: headerTransport{hdr: hdr, next: http.DefaultTransport}},
		MaxRetries:           -1,
		DisableStandaloneSSE: o.DisableStandaloneSSE,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var so *mcp.ClientSessionOptions
	if o.ProtocolVersion != "" {
		so = &mcp.ClientSessionOptions{ProtocolVersion: o.ProtocolVersion}
	}
	return client.Connect(ctx, transport, so)
}

// headerTransport adds fixed headers to every request.
type headerTransport struct {
	hdr  http.Header
	next http.RoundTripper
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range t.hdr {
		r.Header[k] = vs
	}
	return t.next.RoundTrip(r)
}
