package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// fetchTarget is the loopback HTTP server the brokered HTTP scenario's tool reads: loadstack runs it for the whole
// run, and the stack's e2e sandbox may reach exactly its address (MCPBOX_SANDBOX_E2E_LOOPBACK, sandbox.md §12.3).
type fetchTarget struct {
	host string // 127.0.0.1
	port int
	hits atomic.Int64 // GETs answered
	srv  *http.Server
}

// startFetchTarget listens on a free 127.0.0.1 port and answers every GET / with fetchBody.
func startFetchTarget(ctx context.Context) (*fetchTarget, error) {
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fetch target: listen: %w", err)
	}
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		_ = l.Close()
		return nil, fmt.Errorf("fetch target: listener address %v is not TCP", l.Addr())
	}
	t := &fetchTarget{host: "127.0.0.1", port: addr.Port}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		t.hits.Add(1)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(fetchBody))
	})
	t.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = t.srv.Serve(l) }()
	return t, nil
}

// hostPort is the target's address as a manifest host and MCPBOX_SANDBOX_E2E_LOOPBACK name it.
func (t *fetchTarget) hostPort() string { return net.JoinHostPort(t.host, strconv.Itoa(t.port)) }

// url is what the tool reads.
func (t *fetchTarget) url() string { return "http://" + t.hostPort() + "/" }

// close stops the target.
func (t *fetchTarget) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = t.srv.Close()
	}
}
