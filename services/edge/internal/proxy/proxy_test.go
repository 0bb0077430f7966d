package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
)

func histCount(t *testing.T, h *prometheus.HistogramVec, labels ...string) uint64 {
	t.Helper()
	var m dto.Metric
	o, ok := h.WithLabelValues(labels...).(prometheus.Metric)
	if !ok {
		t.Fatal("histogram is not a Metric")
	}
	if err := o.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// hideLen hides a reader's length so Go's client sends it chunked.
type hideLen struct{ io.Reader }

// EDGE-3
func TestEDGE3_RelayMethodBodyStatusHeaders(t *testing.T) {
	t.Parallel()
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			t.Parallel()
			got := make(chan seen, 1)
			respBody := []byte(`{"jsonrpc":"2.0","id":1,"result":{"ok":true}}`)
			gw := fake(t, func(w http.ResponseWriter, r *http.Request) {
				got <- record(r)
				h := w.Header()
				h.Set("Content-Type", "application/json")
				h.Set("Mcp-Session-Id", "session-1")
				h.Set("Set-Cookie", "a=b")
				h.Set("X-Mcpbox-Internal", "secret")
				h.Set("Access-Control-Allow-Origin", "*")
				h.Set("Connection", "X-Hop")
				h.Set("X-Hop", "1")
				h.Set("Content-Length", strconv.Itoa(len(respBody)))
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write(respBody)
			})
			e := newEdge(t, gw.URL, edgeConfig{})

			body := make([]byte, 100<<10)
			_, _ = rand.Read(body)
			var rd io.Reader = bytes.NewReader(body)
			if chunked {
				rd = hideLen{rd}
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/mcp", rd)
			if err != nil {
				t.Fatal(err)
			}
			if chunked {
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
			req.Header.Set("User-Agent", "") // none sent: the edge must not add Go's
			resp, err := client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}

			s := recv(t, got, "upstream request")
			if s.method != http.MethodPost || s.uri != "/mcp" {
				t.Errorf("upstream got %s %s", s.method, s.uri)
			}
			if s.bodyErr != nil || s.sum != sha256.Sum256(body) {
				t.Errorf("upstream body differs (n=%d, err=%v)", s.n, s.bodyErr)
			}
			if chunked != s.chunked || (!chunked && s.contentLength != int64(len(body))) {
				t.Errorf("upstream framing: chunked=%v content-length=%d", s.chunked, s.contentLength)
			}
			if want := gw.Listener.Addr().String(); s.host != want {
				t.Errorf("upstream Host = %q, want %q", s.host, want)
			}
			if s.header.Get("X-Mcpbox-Service-Token") != serviceToken ||
				s.header.Get("Content-Type") != "application/json" ||
				s.header.Get("Mcp-Protocol-Version") != "2025-11-25" {
				t.Errorf("upstream headers not passed: %v", s.header)
			}
			if _, ok := s.header["User-Agent"]; ok {
				t.Errorf("upstream got a User-Agent: %q", s.header.Get("User-Agent"))
			}

			if resp.StatusCode != http.StatusCreated {
				t.Errorf("status = %d", resp.StatusCode)
			}
			if !bytes.Equal(out, respBody) {
				t.Errorf("body = %q", out)
			}
			if resp.ContentLength != int64(len(respBody)) {
				t.Errorf("Content-Length = %d, want the upstream's %d", resp.ContentLength, len(respBody))
			}
			if resp.Header.Get("Mcp-Session-Id") != "session-1" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("upstream headers not relayed: %v", resp.Header)
			}
			for _, k := range []string{"Set-Cookie", "X-Mcpbox-Internal", "Access-Control-Allow-Origin", "X-Hop"} {
				if v, ok := resp.Header[k]; ok {
					t.Errorf("%s relayed: %q", k, v)
				}
			}
			if resp.Header.Get("X-Request-Id") != "edge-request-id" || resp.Header.Get("Vary") != "Origin" {
				t.Errorf("Decorate headers missing: %v", resp.Header)
			}

			res := e.result(t)
			want := Result{
				Outcome: metrics.OutcomeProxied, Status: http.StatusCreated, UpstreamStatus: http.StatusCreated,
				BytesIn: int64(len(body)), BytesOut: int64(len(respBody)),
			}
			if res.UpstreamHeaders <= 0 {
				t.Errorf("UpstreamHeaders = %v", res.UpstreamHeaders)
			}
			res.UpstreamHeaders = 0
			if res != want {
				t.Errorf("Result = %+v, want %+v", res, want)
			}
			if n := testutil.ToFloat64(e.m.BodyBytes.WithLabelValues(metrics.DirectionIn)); n != float64(len(body)) {
				t.Errorf("body_bytes in = %v", n)
			}
			if n := testutil.ToFloat64(e.m.BodyBytes.WithLabelValues(metrics.DirectionOut)); n != float64(len(respBody)) {
				t.Errorf("body_bytes out = %v", n)
			}
			for _, phase := range []string{metrics.PhaseHeaders, metrics.PhaseComplete} {
				if n := histCount(t, e.m.UpstreamDuration, http.MethodPost, phase); n != 1 {
					t.Errorf("upstream_duration{POST,%s} count = %d", phase, n)
				}
			}
		})
	}
}

// EDGE-4
func TestEDGE4_RawQueryByteForByte(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	gw := fake(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.RequestURI
		w.WriteHeader(http.StatusAccepted)
	})
	e := newEdge(t, gw.URL, edgeConfig{})
	for _, tc := range []struct{ target, want string }{
		{"/mcp?a=1&b=%2F&c&d=%zz", "/mcp?a=1&b=%2F&c&d=%zz"},
		{"/mcp?x=1&y=%2F", "/mcp?x=1&y=%2F"},
		{"/mcp?", "/mcp?"},
		{"/mcp", "/mcp"},
		{"/mcp?q=a?b&&=;%", "/mcp?q=a?b&&=;%"},
		{"http://other.example/mcp?z=%41", "/mcp?z=%41"},
	} {
		c := rawConn(t, e.addr())
		if _, err := io.WriteString(c, "GET "+tc.target+" HTTP/1.1\r\nHost: edge.test\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp := readResponse(t, c)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: status %d", tc.target, resp.StatusCode)
		}
		if uri := recv(t, got, "upstream request"); uri != tc.want {
			t.Errorf("%s: upstream request target %q, want %q", tc.target, uri, tc.want)
		}
		e.result(t)
	}
}

// readEvent reads one SSE event (up to a blank line).
func readEvent(br *bufio.Reader) (string, error) {
	var ev strings.Builder
	for {
		line, err := br.ReadString('\n')
		ev.WriteString(line)
		if err != nil {
			return ev.String(), err
		}
		if line == "\n" {
			return ev.String(), nil
		}
	}
}

// EDGE-67
func TestEDGE67_SSEFlushedPerWrite(t *testing.T) {
	t.Parallel()
	read1 := make(chan struct{})
	gw := fake(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "event: message\ndata: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-read1:
			_, _ = io.WriteString(w, "data: two\n\n")
		case <-time.After(5 * time.Second):
			_, _ = io.WriteString(w, "data: never-read-one\n\n")
		}
	})
	e := newEdge(t, gw.URL, edgeConfig{})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/mcp", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	if _, ok := resp.Header["Content-Length"]; ok || resp.ContentLength != -1 {
		t.Errorf("Content-Length added: %d", resp.ContentLength)
	}
	br := bufio.NewReader(resp.Body)
	ev, err := readEvent(br)
	if err != nil || ev != "event: message\ndata: one\n\n" {
		t.Fatalf("event 1 = %q, %v", ev, err)
	}
	close(read1) // event 2 is written only now
	ev, err = readEvent(br)
	if err != nil || ev != "data: two\n\n" {
		t.Fatalf("event 2 = %q, %v (event 1 was held back until the fake gave up)", ev, err)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("stream end: %v", err)
	}
	if res := e.result(t); res.Outcome != metrics.OutcomeProxied || res.ErrorKind != "" {
		t.Errorf("Result = %+v", res)
	}
}

// pinger streams a ping every 300 ms until the request context ends or
// for at most total; cancelled receives the request-context end.
func pinger(total time.Duration, cancelled chan<- struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		end := time.After(total)
		for {
			select {
			case <-tick.C:
				_, _ = io.WriteString(w, ": ping\n\n")
				w.(http.Flusher).Flush()
			case <-end:
				return
			case <-r.Context().Done():
				cancelled <- struct{}{}
				return
			}
		}
	}
}

// EDGE-68
func TestEDGE68_LongStreamsAndMaxExchange(t *testing.T) {
	t.Parallel()
	t.Run("4s stream survives 1s timeouts", func(t *testing.T) {
		t.Parallel()
		cancelled := make(chan struct{}, 1)
		gw := fake(t, pinger(4*time.Second, cancelled))
		e := newEdge(t, gw.URL, edgeConfig{
			readHeaderTimeout: time.Second, idleTimeout: time.Second,
			opts: func(o *Options) { o.WriteStall, o.HeaderTimeout = time.Second, time.Second },
		})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/mcp", nil)
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatalf("stream cut after %d pings: %v", bytes.Count(b, []byte("ping")), err)
		}
		if n := bytes.Count(b, []byte(": ping\n\n")); n < 10 {
			t.Errorf("only %d pings", n)
		}
		if res := e.result(t); res.Outcome != metrics.OutcomeProxied || res.ErrorKind != "" || res.Status != http.StatusOK {
			t.Errorf("Result = %+v", res)
		}
	})
	t.Run("MAX_EXCHANGE cuts a stream", func(t *testing.T) {
		t.Parallel()
		cancelled := make(chan struct{}, 1)
		gw := fake(t, pinger(time.Hour, cancelled))
		e := newEdge(t, gw.URL, edgeConfig{opts: func(o *Options) { o.MaxExchange = 2 * time.Second }})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/mcp", nil)
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("stream end: %v, want an aborted stream", err)
		}
		if !bytes.Contains(b, []byte(": ping")) {
			t.Error("no ping before the cut")
		}
		recv(t, cancelled, "upstream cancellation")
		res := e.result(t)
		if res.Outcome != metrics.OutcomeTimeout || res.ErrorKind != metrics.KindAborted || res.Status != http.StatusOK {
			t.Errorf("Result = %+v", res)
		}
		if n := e.upstreamErrors(metrics.KindAborted); n != 1 {
			t.Errorf("upstream_errors{aborted} = %v", n)
		}
	})
}

// The body deadline ends with the body: a POST whose answer streams longer
// than BODY_TIMEOUT is not cut.
func TestBodyDeadlineClearedAfterBody(t *testing.T) {
	t.Parallel()
	cancelled := make(chan struct{}, 1)
	ping := pinger(1500*time.Millisecond, cancelled)
	gw := fake(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		ping(w, r)
	})
	e := newEdge(t, gw.URL, edgeConfig{opts: func(o *Options) { o.BodyTimeout = 500 * time.Millisecond }})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/mcp", strings.NewReader(`{"a":1}`))
	resp, err := client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || bytes.Count(b, []byte(": ping")) < 3 {
		t.Errorf("stream cut: %q, %v", b, err)
	}
	if res := e.result(t); res.Outcome != metrics.OutcomeProxied || res.BytesIn != 7 {
		t.Errorf("Result = %+v", res)
	}
}

// EDGE-69
func TestEDGE69_WriteStallCutsClient(t *testing.T) {
	t.Parallel()
	cancelled := make(chan struct{}, 1)
	gw := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		block := bytes.Repeat([]byte("data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n\n"), 1024)
		for {
			if _, err := w.Write(block); err != nil {
				break
			}
			w.(http.Flusher).Flush()
		}
		<-r.Context().Done()
		cancelled <- struct{}{}
	})
	e := newEdge(t, gw.URL, edgeConfig{opts: func(o *Options) { o.WriteStall = 500 * time.Millisecond }})
	c := rawConn(t, e.addr())
	if _, err := io.WriteString(c, "GET /mcp HTTP/1.1\r\nHost: edge.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The client reads nothing: buffers fill, the edge's write blocks past
	// WRITE_STALL, and the upstream request is cancelled.
	recv(t, cancelled, "upstream cancellation")
	res := e.result(t)
	if res.Outcome != metrics.OutcomeTimeout || res.Status != http.StatusOK || res.ErrorKind != "" {
		t.Errorf("Result = %+v", res)
	}
	// The client was cut off: what it finally reads ends mid-stream.
	resp := readResponse(t, c)
	defer func() { _ = resp.Body.Close() }()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.Copy(io.Discard, resp.Body); err == nil {
		t.Error("the stalled client's stream ended cleanly")
	}
}

// EDGE-70
func TestEDGE70_ClientDisconnectCancelsUpstream(t *testing.T) {
	t.Parallel()
	cancelled := make(chan time.Time, 1)
	gw := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		cancelled <- time.Now()
	})
	e := newEdge(t, gw.URL, edgeConfig{})
	c := rawConn(t, e.addr())
	if _, err := io.WriteString(c, "GET /mcp HTTP/1.1\r\nHost: edge.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp := readResponse(t, c)
	defer func() { _ = resp.Body.Close() }()
	ev, err := readEvent(bufio.NewReader(resp.Body))
	if err != nil || ev != "data: one\n\n" {
		t.Fatalf("event = %q, %v", ev, err)
	}
	closedAt := time.Now()
	_ = c.Close()
	at := recv(t, cancelled, "upstream cancellation")
	if d := at.Sub(closedAt); d > time.Second {
		t.Errorf("upstream cancelled %v after the client left", d)
	}
	res := e.result(t)
	if res.Outcome != metrics.OutcomeProxied || res.ErrorKind != "" {
		t.Errorf("Result = %+v", res)
	}
	if n := e.upstreamErrors(metrics.KindAborted); n != 0 {
		t.Errorf("a client disconnect counted as an upstream error: %v", n)
	}
}

// EDGE-71
func TestEDGE71_BodyCap(t *testing.T) {
	t.Parallel()
	const maxBody = 64 << 10
	capped := func(o *Options) { o.MaxBody = maxBody }

	t.Run("Content-Length over the cap: 413 before upstream", func(t *testing.T) {
		t.Parallel()
		called := make(chan struct{}, 1)
		gw := fake(t, func(http.ResponseWriter, *http.Request) { called <- struct{}{} })
		e := newEdge(t, gw.URL, edgeConfig{opts: capped})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/mcp",
			bytes.NewReader(make([]byte, maxBody+1)))
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || errorCode(t, resp) != "request_too_large" {
			t.Errorf("status %d", resp.StatusCode)
		}
		if res := e.result(t); res.Outcome != metrics.OutcomeTooLarge || res.Status != 413 || res.UpstreamStatus != 0 {
			t.Errorf("Result = %+v", res)
		}
		select {
		case <-called:
			t.Error("the gateway was contacted")
		default:
		}
	})

	t.Run("chunked over the cap: upstream aborted, 413", func(t *testing.T) {
		t.Parallel()
		got := make(chan seen, 1)
		gw := fake(t, func(_ http.ResponseWriter, r *http.Request) { got <- record(r) })
		e := newEdge(t, gw.URL, edgeConfig{opts: capped})
		c := rawConn(t, e.addr())
		go func() {
			_, _ = io.WriteString(c, "POST /mcp HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\n\r\n")
			chunk := fmt.Sprintf("%x\r\n%s\r\n", 8<<10, bytes.Repeat([]byte("a"), 8<<10))
			for range 2 * maxBody / (8 << 10) {
				if _, err := io.WriteString(c, chunk); err != nil {
					return
				}
			}
			_, _ = io.WriteString(c, "0\r\n\r\n")
		}()
		resp := readResponse(t, c)
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || errorCode(t, resp) != "request_too_large" {
			t.Errorf("status %d", resp.StatusCode)
		}
		s := recv(t, got, "upstream request")
		if s.bodyErr == nil {
			t.Errorf("the upstream body ended cleanly after %d bytes", s.n)
		}
		if s.n > maxBody {
			t.Errorf("upstream received %d bytes, more than the cap", s.n)
		}
		res := e.result(t)
		if res.Outcome != metrics.OutcomeTooLarge || res.Status != 413 || res.BytesIn != maxBody {
			t.Errorf("Result = %+v", res)
		}
	})

	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("exactly the cap arrives intact chunked=%v", chunked), func(t *testing.T) {
			t.Parallel()
			got := make(chan seen, 1)
			gw := fake(t, func(_ http.ResponseWriter, r *http.Request) { got <- record(r) })
			e := newEdge(t, gw.URL, edgeConfig{opts: capped})
			body := make([]byte, maxBody)
			_, _ = rand.Read(body)
			var rd io.Reader = bytes.NewReader(body)
			if chunked {
				rd = hideLen{rd}
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/mcp", rd)
			if chunked {
				req.ContentLength = -1
			}
			resp, err := client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d", resp.StatusCode)
			}
			s := recv(t, got, "upstream request")
			if s.bodyErr != nil || s.sum != sha256.Sum256(body) {
				t.Errorf("body differs upstream: n=%d err=%v", s.n, s.bodyErr)
			}
			if res := e.result(t); res.Outcome != metrics.OutcomeProxied || res.BytesIn != maxBody {
				t.Errorf("Result = %+v", res)
			}
		})
	}
}

// EDGE-72
func TestEDGE72_SlowBodyTimesOut(t *testing.T) {
	t.Parallel()
	gw := fake(t, func(_ http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) })
	e := newEdge(t, gw.URL, edgeConfig{
		readHeaderTimeout: time.Second,
		opts:              func(o *Options) { o.BodyTimeout = time.Second },
	})
	c := rawConn(t, e.addr())
	if _, err := io.WriteString(c, "POST /mcp HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 100\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := io.WriteString(c, "x"); err != nil {
					return
				}
			}
		}
	}()
	resp := readResponse(t, c)
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusRequestTimeout || errorCode(t, resp) != "request_timeout" {
		t.Errorf("status %d", resp.StatusCode)
	}
	res := e.result(t)
	if res.Outcome != metrics.OutcomeTimeout || res.Status != http.StatusRequestTimeout || res.ErrorKind != "" {
		t.Errorf("Result = %+v", res)
	}
	if res.BytesIn < 1 || res.BytesIn >= 100 {
		t.Errorf("BytesIn = %d", res.BytesIn)
	}
}

// blockUntilCancelled reads the body (so the server watches the connection)
// and never answers.
func blockUntilCancelled(_ http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// hijackFake answers with raw bytes and then resets the connection.
func hijackFake(t *testing.T, raw string) *httptest.Server {
	t.Helper()
	return fake(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		c, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = bw.WriteString(raw)
		_ = bw.Flush()
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		_ = c.Close()
	})
}

// EDGE-74
func TestEDGE74_UpstreamFailures(t *testing.T) {
	t.Parallel()
	type want struct {
		status              int
		code, kind, outcome string
		upstreamStatus      int
	}
	check := func(t *testing.T, e *edge, w want) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/mcp", strings.NewReader(`{}`))
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != w.status || errorCode(t, resp) != w.code {
			t.Errorf("status %d", resp.StatusCode)
		}
		res := e.result(t)
		if res.Status != w.status || res.Outcome != w.outcome || res.ErrorKind != w.kind || res.UpstreamStatus != w.upstreamStatus {
			t.Errorf("Result = %+v", res)
		}
		if n := e.upstreamErrors(w.kind); n != 1 {
			t.Errorf("upstream_errors{%s} = %v", w.kind, n)
		}
	}

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		e := newEdge(t, "http://"+closedPort(t), edgeConfig{})
		check(t, e, want{502, "upstream_unavailable", metrics.KindDial, metrics.OutcomeUpstreamError, 0})
	})
	t.Run("no headers within the timeout", func(t *testing.T) {
		t.Parallel()
		gw := fake(t, blockUntilCancelled)
		e := newEdge(t, gw.URL, edgeConfig{opts: func(o *Options) { o.HeaderTimeout = 300 * time.Millisecond }})
		check(t, e, want{504, "upstream_timeout", metrics.KindTimeout, metrics.OutcomeUpstreamError, 0})
	})
	t.Run("MAX_EXCHANGE before the headers", func(t *testing.T) {
		t.Parallel()
		gw := fake(t, blockUntilCancelled)
		e := newEdge(t, gw.URL, edgeConfig{opts: func(o *Options) { o.MaxExchange = 300 * time.Millisecond }})
		check(t, e, want{504, "upstream_timeout", metrics.KindTimeout, metrics.OutcomeUpstreamError, 0})
	})
	t.Run("reset before the headers", func(t *testing.T) {
		t.Parallel()
		e := newEdge(t, hijackFake(t, "").URL, edgeConfig{})
		check(t, e, want{502, "upstream_unavailable", metrics.KindReset, metrics.OutcomeUpstreamError, 0})
	})
	t.Run("malformed answer", func(t *testing.T) {
		t.Parallel()
		e := newEdge(t, hijackFake(t, "SMTP ready\r\n\r\n").URL, edgeConfig{})
		check(t, e, want{502, "upstream_unavailable", metrics.KindReset, metrics.OutcomeUpstreamError, 0})
	})

	for name, raw := range map[string]string{
		"reset after headers (chunked)": "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" +
			"Transfer-Encoding: chunked\r\n\r\nb\r\ndata: one\n\n\r\n",
		"truncated Content-Length body": "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
			"Content-Length: 100\r\n\r\n{\"partial\":",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEdge(t, hijackFake(t, raw).URL, edgeConfig{})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/mcp", strings.NewReader(`{}`))
			resp, err := client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d", resp.StatusCode)
			}
			_, err = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("client read: %v, want an aborted stream (unexpected EOF)", err)
			}
			res := e.result(t)
			if res.Outcome != metrics.OutcomeUpstreamError || res.ErrorKind != metrics.KindAborted || res.Status != 200 {
				t.Errorf("Result = %+v", res)
			}
			if n := e.upstreamErrors(metrics.KindAborted); n != 1 {
				t.Errorf("upstream_errors{aborted} = %v", n)
			}
		})
	}
}

// EDGE-74 over HTTP/2 on the public side: no hijacking there, so the
// stream is reset (panic(http.ErrAbortHandler)); the metrics still count it.
// Per-write flushing works the same.
func TestEDGE74_AbortOverHTTP2(t *testing.T) {
	t.Parallel()
	gw := hijackFake(t, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"+
		"Transfer-Encoding: chunked\r\n\r\nb\r\ndata: one\n\n\r\n")
	e := newEdge(t, gw.URL, edgeConfig{h2: true})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/mcp", strings.NewReader(`{}`))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %d", resp.Proto, resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	if ev, err := readEvent(br); err != nil || ev != "data: one\n\n" {
		t.Fatalf("event = %q, %v", ev, err)
	}
	if _, err := io.ReadAll(br); err == nil {
		t.Error("the stream ended cleanly after the gateway reset")
	}
	if n := e.upstreamErrors(metrics.KindAborted); n != 1 {
		t.Errorf("upstream_errors{aborted} = %v", n)
	}
	select {
	case res := <-e.results:
		t.Errorf("Serve returned %+v instead of resetting the stream", res)
	default:
	}
}

// EDGE-70 over HTTP/2: the client resets its stream; the upstream request
// is cancelled and Serve returns normally.
func TestEDGE70_ClientResetOverHTTP2(t *testing.T) {
	t.Parallel()
	cancelled := make(chan struct{}, 1)
	gw := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		cancelled <- struct{}{}
	})
	e := newEdge(t, gw.URL, edgeConfig{h2: true})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/mcp", nil)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if ev, err := readEvent(bufio.NewReader(resp.Body)); err != nil || ev != "data: one\n\n" || resp.ProtoMajor != 2 {
		t.Fatalf("%s event = %q, %v", resp.Proto, ev, err)
	}
	cancel()
	recv(t, cancelled, "upstream cancellation")
	if res := e.result(t); res.Outcome != metrics.OutcomeProxied || res.ErrorKind != "" || res.Status != http.StatusOK {
		t.Errorf("Result = %+v", res)
	}
}

// EDGE-75
func TestEDGE75_GatewayStatusesRelayed(t *testing.T) {
	t.Parallel()
	gw := fake(t, func(w http.ResponseWriter, r *http.Request) {
		status, _ := strconv.Atoi(r.URL.Query().Get("status"))
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", "GET, POST, DELETE")
		}
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"status %d"}}`, status)
	})
	e := newEdge(t, gw.URL, edgeConfig{})
	for _, status := range []int{400, 401, 403, 404, 405, 500} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
				e.srv.URL+"/mcp?status="+strconv.Itoa(status), strings.NewReader(`{}`))
			resp, err := client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf(`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"status %d"}}`, status)
			if resp.StatusCode != status || string(b) != want {
				t.Errorf("got %d %s", resp.StatusCode, b)
			}
			if resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
			}
			if v, ok := resp.Header["Www-Authenticate"]; ok {
				t.Errorf("challenge added: %q", v)
			}
			if status == 405 && resp.Header.Get("Allow") != "GET, POST, DELETE" {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
		})
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	t.Run("mid-stream: clean end, upstream cancelled", func(t *testing.T) {
		t.Parallel()
		stop := make(chan struct{})
		cancelled := make(chan struct{}, 1)
		gw := fake(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			cancelled <- struct{}{}
		})
		e := newEdge(t, gw.URL, edgeConfig{stop: stop})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/mcp", nil)
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		if ev, err := readEvent(br); err != nil || ev != "data: one\n\n" {
			t.Fatalf("event = %q, %v", ev, err)
		}
		close(stop)
		rest, err := io.ReadAll(br)
		_ = resp.Body.Close()
		if err != nil || len(rest) != 0 {
			t.Errorf("after Stop: %q, %v (want a clean end)", rest, err)
		}
		recv(t, cancelled, "upstream cancellation")
		if res := e.result(t); res.Outcome != metrics.OutcomeProxied || res.ErrorKind != "" || res.Status != 200 {
			t.Errorf("Result = %+v", res)
		}
	})
	t.Run("before the headers: 503", func(t *testing.T) {
		t.Parallel()
		stop := make(chan struct{})
		arrived := make(chan struct{}, 1)
		gw := fake(t, func(_ http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			<-r.Context().Done()
		})
		e := newEdge(t, gw.URL, edgeConfig{stop: stop})
		go func() {
			<-arrived
			close(stop)
		}()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/mcp", nil)
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" || errorCode(t, resp) != "unavailable" {
			t.Errorf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if res := e.result(t); res.Outcome != metrics.OutcomeUnavailable || res.Status != 503 || res.ErrorKind != "" {
			t.Errorf("Result = %+v", res)
		}
	})
	t.Run("already stopped: no upstream contact", func(t *testing.T) {
		t.Parallel()
		stop := make(chan struct{})
		close(stop)
		called := make(chan struct{}, 1)
		gw := fake(t, func(http.ResponseWriter, *http.Request) { called <- struct{}{} })
		e := newEdge(t, gw.URL, edgeConfig{stop: stop})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/mcp", nil)
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusServiceUnavailable || errorCode(t, resp) != "unavailable" {
			t.Errorf("status %d", resp.StatusCode)
		}
		e.result(t)
		select {
		case <-called:
			t.Error("the gateway was contacted")
		default:
		}
	})
}

// TestKeepAliveAfterStream: the write deadline a relayed response leaves
// behind (for the terminating chunk) must not break the next request on the
// same keep-alive connection once WRITE_STALL has passed.
func TestKeepAliveAfterStream(t *testing.T) {
	t.Parallel()
	gw := fake(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "data: one\n\n") })
	e := newEdge(t, gw.URL, edgeConfig{
		opts:  func(o *Options) { o.WriteStall = 200 * time.Millisecond },
		other: func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "other") },
	})
	cl := client(t)
	get := func(path string) (string, bool) {
		reused := false
		ctx := httptraceReused(t.Context(), &reused)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+path, nil)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return string(b), reused
	}
	if b, _ := get("/mcp"); b != "data: one\n\n" {
		t.Fatalf("stream = %q", b)
	}
	e.result(t)
	time.Sleep(400 * time.Millisecond) // let the stream's last write deadline pass
	b, reused := get("/other")
	if b != "other" || !reused {
		t.Errorf("second request: %q reused=%v", b, reused)
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	gw := fake(t, func(http.ResponseWriter, *http.Request) {})
	m := metrics.New(prometheus.NewRegistry())
	p, err := New(defaultOptions(gw.URL), m)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	p.now = func() time.Time { return now }
	if got := p.Probe(t.Context()); got != "ok" || testutil.ToFloat64(m.UpstreamUp) != 1 {
		t.Fatalf("Probe = %q, up = %v", got, testutil.ToFloat64(m.UpstreamUp))
	}
	gw.Close()
	now = now.Add(9 * time.Second)
	if got := p.Probe(t.Context()); got != "ok" {
		t.Errorf("within 10 s: Probe = %q, want the cached ok", got)
	}
	now = now.Add(2 * time.Second)
	if got := p.Probe(t.Context()); got != "unreachable" || testutil.ToFloat64(m.UpstreamUp) != 0 {
		t.Errorf("after 10 s: Probe = %q, up = %v", got, testutil.ToFloat64(m.UpstreamUp))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	now = now.Add(time.Minute)
	if got := p.Probe(ctx); got != "unreachable" {
		t.Errorf("cancelled: %q", got)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	m := metrics.New(prometheus.NewRegistry())
	for name, mod := range map[string]func(*Options){
		"nil upstream":  func(o *Options) { o.Upstream = nil },
		"ftp upstream":  func(o *Options) { o.Upstream = &url.URL{Scheme: "ftp", Host: "x"} },
		"upstream path": func(o *Options) { o.Upstream = &url.URL{Scheme: "http", Host: "x", Path: "/mcp"} },
		"no host":       func(o *Options) { o.Upstream = &url.URL{Scheme: "http"} },
		"zero body":     func(o *Options) { o.MaxBody = 0 },
		"zero stall":    func(o *Options) { o.WriteStall = 0 },
		"zero exchange": func(o *Options) { o.MaxExchange = 0 },
	} {
		o := defaultOptions("http://127.0.0.1:1")
		mod(&o)
		if _, err := New(o, m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(defaultOptions("http://127.0.0.1:1"), nil); err == nil {
		t.Error("nil metrics accepted")
	}
}

// A query byte that cannot go on an HTTP/1.1 request line (reachable over
// HTTP/2) is refused before any upstream contact.
func TestControlByteInQueryRefused(t *testing.T) {
	t.Parallel()
	m := metrics.New(prometheus.NewRegistry())
	p, err := New(defaultOptions("http://"+closedPort(t)), m)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/mcp", nil)
	r.RequestURI = "/mcp?a=\tb"
	w := httptest.NewRecorder()
	res := p.Serve(w, r, Exchange{})
	if w.Code != 400 || res.Status != 400 || res.Outcome != metrics.OutcomeForbidden || res.ErrorKind != "" {
		t.Errorf("code %d, Result %+v", w.Code, res)
	}
}

func FuzzRawQueryOf(f *testing.F) {
	for _, s := range []string{"/mcp", "/mcp?", "/mcp?a=1&b=%2F&c&d=%zz", "/mcp??", "/mcp?a?", "*", "http://h/mcp?x#y", "/?%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		u, err := url.ParseRequestURI(uri)
		if err != nil {
			return
		}
		q, force := rawQueryOf(&http.Request{RequestURI: uri, URL: u})
		if q != u.RawQuery || force != (u.ForceQuery || u.RawQuery != "") {
			t.Fatalf("%q: got (%q,%v), url.ParseRequestURI has (%q,%v)", uri, q, force, u.RawQuery, u.ForceQuery)
		}
		// What the transport writes on the upstream request line.
		out := url.URL{Scheme: "http", Host: "gw", Path: "/mcp", RawQuery: q, ForceQuery: force}
		want := "/mcp"
		if force {
			want += "?" + q
		}
		if out.RequestURI() != want {
			t.Fatalf("%q: upstream target %q, want %q", uri, out.RequestURI(), want)
		}
	})
}

func BenchmarkServe(b *testing.B) {
	payload := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"x":1}}}`)
	answer := []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"1"}]}}`)
	gw := fake(b, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		_, _ = w.Write(answer)
	})
	e := newEdge(b, gw.URL, edgeConfig{})
	go func() {
		for range e.results {
		}
	}()
	cl := client(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, e.srv.URL+"/mcp", bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		resp, err := cl.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
