package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// EDGE-70 through the edge: a client that leaves mid-stream cancels the
// upstream request within 1 s, and open_streams and inflight return to 0.
func TestEDGE70_DisconnectCancelsUpstream(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	cancelled := make(chan time.Time, 1)
	e.GW.Handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "event: message\ndata: 1\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		cancelled <- time.Now()
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.Public+"/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+e.Token("alice", nil))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	buf := make([]byte, 8)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	if got := e.metricValue(t, "mcpbox_edge_open_streams"); got != 1 {
		t.Errorf("open_streams during the stream: %v", got)
	}
	left := time.Now()
	cancel()
	select {
	case at := <-cancelled:
		if d := at.Sub(left); d > time.Second {
			t.Errorf("upstream cancelled after %s", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.metricValue(t, "mcpbox_edge_open_streams") != 0 || e.metricValue(t, "mcpbox_edge_inflight") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("open_streams or inflight did not return to 0")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// EDGE-72 through the edge: a slow body gets 408 at BODY_TIMEOUT; slow
// headers are cut at READ_HEADER_TIMEOUT; 500 such connections leave the
// goroutine count back at its baseline. Not parallel: it counts goroutines.
//
//nolint:paralleltest // counts the process's goroutines
func TestEDGE72_SlowClients(t *testing.T) {
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_BODY_TIMEOUT": "1s", "MCPBOX_EDGE_READ_HEADER_TIMEOUT": "1s"})
	dial := func() net.Conn {
		c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(context.Background(), "tcp", e.PublicAddr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Slow body: 1 byte every 300 ms.
	c := dial()
	defer func() { _ = c.Close() }()
	_, _ = io.WriteString(c, "POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+e.Token("alice", nil)+
		"\r\nContent-Length: 100\r\n\r\n")
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(300 * time.Millisecond):
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufioReader(c), nil)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("slow body: %d, want 408", resp.StatusCode)
	}

	// Slow headers: 500 connections that never finish their headers.
	time.Sleep(200 * time.Millisecond)
	baseline := runtime.NumGoroutine()
	conns := make([]net.Conn, 0, 500)
	for range 500 {
		c := dial()
		_, _ = io.WriteString(c, "POST /mcp HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		conns = append(conns, c)
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("connection %d was not closed by the edge: %v", i, err)
		}
		if len(b) > 0 && !strings.HasPrefix(string(b), "HTTP/1.1 4") {
			t.Fatalf("connection %d got %q", i, b)
		}
		_ = c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline+10 {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines %d, baseline %d", runtime.NumGoroutine(), baseline)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
