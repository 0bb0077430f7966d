package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mcpbox/mcpbox/proto/obs"
)

// Listener is one HTTP surface of a service.
type Listener struct {
	Name    string // label for logs: "main", "internal", "local", "remote", "public", "admin"
	Addr    string
	Handler http.Handler
	// WriteTimeout bounds a response; 0 means none (streams set their own
	// deadlines through http.ResponseController).
	WriteTimeout time.Duration
	// Configure, when set, adjusts the server after the defaults are set
	// (the edge's own timeouts, header cap, TLS and shutdown hooks).
	Configure func(*http.Server)
	// Wrap, when set, wraps the bound listener (the edge's TLS and
	// smuggling guard).
	Wrap func(net.Listener) net.Listener
}

// Shutdown sets the drain timing of Serve.
type Shutdown struct {
	Delay   time.Duration // /readyz answers 503 this long before listeners close
	Timeout time.Duration // longest drain of in-flight requests after that
}

// Serve binds every listener, logs "listening" with each bound address, and
// serves until ctx ends or one listener fails. Then it marks health draining,
// waits sd.Delay, and shuts every server down within sd.Timeout.
func Serve(ctx context.Context, log *slog.Logger, health *Health, sd Shutdown, listeners ...Listener) error {
	var lc net.ListenConfig
	servers := make([]*http.Server, 0, len(listeners))
	nls := make([]net.Listener, 0, len(listeners))
	closeAll := func() {
		for _, l := range nls {
			_ = l.Close()
		}
	}
	for _, l := range listeners {
		nl, err := lc.Listen(ctx, "tcp", l.Addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("listen %s on %s: %w", l.Name, l.Addr, err)
		}
		addr := nl.Addr().String()
		if l.Wrap != nil {
			nl = l.Wrap(nl)
		}
		nls = append(nls, nl)
		srv := &http.Server{
			Handler:           l.Handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      l.WriteTimeout,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		if l.Configure != nil {
			l.Configure(srv)
		}
		servers = append(servers, srv)
		log.Info("listening", obs.KeyListener, l.Name, obs.KeyAddr, addr)
	}

	errc := make(chan error, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Go(func() {
			if err := srv.Serve(nls[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve %s: %w", listeners[i].Name, err)
			}
		})
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	health.SetDraining()
	log.Info("shutting down", obs.KeyReason, shutdownReason(ctx, serveErr))
	if serveErr == nil && sd.Delay > 0 {
		time.Sleep(sd.Delay)
	}
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sd.Timeout)
	defer cancel()
	var shutdownErr error
	for _, srv := range servers {
		if err := srv.Shutdown(drainCtx); err != nil {
			shutdownErr = errors.Join(shutdownErr, fmt.Errorf("drain: %w", err))
			_ = srv.Close()
		}
	}
	wg.Wait()
	return errors.Join(serveErr, shutdownErr)
}

func shutdownReason(ctx context.Context, err error) string {
	if err != nil {
		return "listener_failed"
	}
	if ctx.Err() != nil {
		return "signal"
	}
	return "stopped"
}

// WithoutDrainDeadline drops the drain deadline from Serve's error: work
// still running at MCPBOX_SHUTDOWN_TIMEOUT is cancelled, which is the
// designed end of a shutdown (gateway.md §12 steps 5–6, edge.md §16: exit
// 0), not a failure. Any other error stays.
func WithoutDrainDeadline(log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	var kept []error
	for _, e := range flatten(err) {
		if errors.Is(e, context.DeadlineExceeded) {
			log.Warn("the drain deadline passed; calls still running were cancelled")
			continue
		}
		kept = append(kept, e)
	}
	return errors.Join(kept...)
}

// flatten lists the errors joined in err (err itself when it joins none).
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
