package mcpclient

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/mcpbox/mcpbox/proto"
)

const (
	methodCallTool  = "tools/call"
	methodListTools = "tools/list"
	// maxBodyBytes bounds one upstream response body: the result cap plus
	// room for the JSON-RPC envelope and SSE framing.
	maxBodyBytes = proto.MaxMCPResultBytes + 64<<10
	// previewBytes is how much of an unexpected body is kept for
	// classification; the preview shown is cut to previewChars.
	previewBytes = 8 << 10
	previewChars = 500
	// deleteTimeout bounds the best-effort DELETE of a closed session.
	deleteTimeout = 2 * time.Second
)

// errBodyTooLarge is returned by a capped response body.
var errBodyTooLarge = errors.New("mcp response exceeds the size limit")

// observer records what the HTTP layer saw during one operation (one
// attempt of a call or a discovery), so that the SDK's errors can be
// classified and the raw results passed through.
type observer struct {
	mu           sync.Mutex
	transportErr error
	status       int
	wwwAuth      string
	contentType  string
	header       http.Header
	withSession  bool // the request carried Mcp-Session-Id
	preview      []byte
	tooLarge     bool
	results      map[string]json.RawMessage
}

type observerKey struct{}

func withObserver(ctx context.Context, o *observer) context.Context {
	return context.WithValue(ctx, observerKey{}, o)
}

func observerFrom(ctx context.Context) *observer {
	o, _ := ctx.Value(observerKey{}).(*observer)
	return o
}

// result returns the raw result captured for method and forgets it.
func (o *observer) result(method string) (json.RawMessage, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.results[method]
	delete(o.results, method)
	return r, ok
}

func (o *observer) setResult(method string, r json.RawMessage) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.results == nil {
		o.results = map[string]json.RawMessage{}
	}
	o.results[method] = r
}

func (o *observer) setTransportErr(err error) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.transportErr = err
}

func (o *observer) setTooLarge() {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tooLarge = true
}

// setResponse records a response; failed responses and unexpected content
// types keep a preview of the body.
func (o *observer) setResponse(req *http.Request, resp *http.Response, preview []byte) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.transportErr = nil
	o.status = resp.StatusCode
	o.wwwAuth = resp.Header.Get("WWW-Authenticate")
	o.contentType = resp.Header.Get("Content-Type")
	o.header = resp.Header.Clone()
	o.withSession = req.Header.Get("Mcp-Session-Id") != ""
	o.preview = preview
}

// sessionMissing reports a 404 to a request that carried a session id: the
// server expired the session (sandbox.md §13.3).
func (o *observer) sessionMissing() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.transportErr == nil && o.status == http.StatusNotFound && o.withSession
}

// connectFailed reports that the last request of the operation never
// reached the server: DNS, refused connection or TLS handshake.
func (o *observer) connectFailed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.transportErr != nil && notDelivered(o.transportErr)
}

// notDelivered reports errors that prove the request was not sent.
func notDelivered(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	var recErr tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var alert tls.AlertError
	return errors.As(err, &dnsErr) || errors.As(err, &recErr) || errors.As(err, &certErr) ||
		errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &alert)
}

// roundTripper adds the caller's headers to requests for the source's own
// origin, bounds DELETEs, caps response bodies and captures the raw results
// of tools/call and tools/list for the operation's observer.
type roundTripper struct {
	base    http.RoundTripper
	origin  string
	headers http.Header
}

// RoundTrip implements [http.RoundTripper].
func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	obs := observerFrom(ctx)
	var cancel context.CancelFunc = func() {}
	if req.Method == http.MethodDelete {
		ctx, cancel = context.WithTimeout(ctx, deleteTimeout)
	}
	out := req.Clone(ctx)
	if originOf(req.URL) == t.origin {
		for name, values := range t.headers {
			out.Header[name] = values
		}
	}
	method, id := callOf(req)
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		cancel()
		obs.setTransportErr(err)
		return nil, err
	}
	resp.Body = &cappedBody{r: io.LimitReader(resp.Body, maxBodyBytes+1), c: resp.Body, cancel: cancel, obs: obs}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
	var preview []byte
	if !ok2xx || (mediaType != "application/json" && mediaType != "text/event-stream" && resp.StatusCode != http.StatusAccepted) {
		preview, err = io.ReadAll(io.LimitReader(resp.Body, previewBytes))
		if err != nil && !errors.Is(err, errBodyTooLarge) {
			obs.setTransportErr(err)
		}
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(preview), resp.Body), resp.Body}
	}
	obs.setResponse(out, resp, preview)
	if !ok2xx || method == "" {
		return resp, nil
	}
	switch mediaType {
	case "application/json":
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read mcp response: %w", err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(rewriteMessage(body, method, id, obs)))
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
	case "text/event-stream":
		resp.Body = &sseRewriter{src: bufio.NewReader(resp.Body), closer: resp.Body, method: method, id: id, obs: obs}
	}
	return resp, nil
}

// callOf returns the method and id of a POSTed tools/call or tools/list.
func callOf(req *http.Request) (string, jsonrpc.ID) {
	if req.Method != http.MethodPost || req.GetBody == nil {
		return "", jsonrpc.ID{}
	}
	body, err := req.GetBody()
	if err != nil {
		return "", jsonrpc.ID{}
	}
	defer func() { _ = body.Close() }()
	data, err := io.ReadAll(io.LimitReader(body, proto.MaxExecuteBodyBytes+1))
	if err != nil {
		return "", jsonrpc.ID{}
	}
	msg, err := jsonrpc.DecodeMessage(data)
	if err != nil {
		return "", jsonrpc.ID{}
	}
	r, ok := msg.(*jsonrpc.Request)
	if !ok || !r.IsCall() || (r.Method != methodCallTool && r.Method != methodListTools) {
		return "", jsonrpc.ID{}
	}
	return r.Method, r.ID
}

// rewriteMessage captures the result of the response to id and returns the
// message with a reduced result the SDK can always decode. Anything else is
// returned unchanged.
func rewriteMessage(data []byte, method string, id jsonrpc.ID, obs *observer) []byte {
	msg, err := jsonrpc.DecodeMessage(data)
	if err != nil {
		return data
	}
	resp, ok := msg.(*jsonrpc.Response)
	if !ok || resp.ID != id || resp.Error != nil || resp.Result == nil {
		return data
	}
	obs.setResult(method, bytes.Clone(resp.Result))
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(resp.Result, &obj); err != nil || obj == nil {
		return data
	}
	switch method {
	case methodCallTool:
		obj["content"] = json.RawMessage("[]")
		delete(obj, "structuredContent")
	case methodListTools:
		obj["tools"] = json.RawMessage("[]")
		delete(obj, "ttl")
		delete(obj, "ttlMs")
	}
	reduced, err := json.Marshal(obj)
	if err != nil {
		return data
	}
	resp.Result = reduced
	out, err := jsonrpc.EncodeMessage(resp)
	if err != nil {
		return data
	}
	return out
}

// cappedBody fails reads past maxBodyBytes and records that on the
// observer; Close releases the request's timeout.
type cappedBody struct {
	r      io.Reader
	c      io.Closer
	n      int64
	cancel context.CancelFunc
	obs    *observer
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > maxBodyBytes {
		b.obs.setTooLarge()
		return 0, errBodyTooLarge
	}
	return n, err //nolint:wrapcheck // io.EOF must stay unwrapped.
}

func (b *cappedBody) Close() error {
	b.cancel()
	return b.c.Close() //nolint:wrapcheck // passthrough of the body's Close.
}

type readCloser struct {
	io.Reader
	io.Closer
}

// sseRewriter passes an SSE stream through, rewriting the data of the event
// that carries the response to the captured request.
type sseRewriter struct {
	src    *bufio.Reader
	closer io.Closer
	method string
	id     jsonrpc.ID
	obs    *observer
	event  [][]byte
	out    bytes.Buffer
	err    error
}

func (s *sseRewriter) Read(p []byte) (int, error) {
	for s.out.Len() == 0 && s.err == nil {
		line, err := s.src.ReadBytes('\n')
		if len(line) > 0 {
			s.event = append(s.event, line)
			if len(bytes.TrimRight(line, "\r\n")) == 0 {
				s.flush()
			}
		}
		if err != nil {
			s.flush()
			s.err = err
		}
	}
	if s.out.Len() > 0 {
		return s.out.Read(p) //nolint:wrapcheck // bytes.Buffer reads do not fail here.
	}
	return 0, s.err
}

// flush writes the pending event, rewritten when it holds the response.
func (s *sseRewriter) flush() {
	if len(s.event) == 0 {
		return
	}
	var data [][]byte
	for _, l := range s.event {
		l = bytes.TrimRight(l, "\r\n")
		if rest, ok := bytes.CutPrefix(l, []byte("data:")); ok {
			data = append(data, bytes.TrimPrefix(rest, []byte(" ")))
		}
	}
	if len(data) > 0 {
		joined := bytes.Join(data, []byte("\n"))
		if rewritten := rewriteMessage(joined, s.method, s.id, s.obs); !bytes.Equal(rewritten, joined) {
			for _, l := range s.event {
				if !bytes.HasPrefix(l, []byte("data:")) && len(bytes.TrimRight(l, "\r\n")) > 0 {
					s.out.Write(l)
				}
			}
			s.out.WriteString("data: ")
			s.out.Write(rewritten)
			s.out.WriteString("\n\n")
			s.event = s.event[:0]
			return
		}
	}
	for _, l := range s.event {
		s.out.Write(l)
	}
	s.event = s.event[:0]
}

func (s *sseRewriter) Close() error {
	return s.closer.Close() //nolint:wrapcheck // passthrough of the body's Close.
}
