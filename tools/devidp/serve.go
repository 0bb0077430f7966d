package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/mcpbox/mcpbox/tools/devidp/internal/idpapi"
	"github.com/mcpbox/mcpbox/tools/devidp/internal/keyring"
)

const (
	defaultAddr  = "127.0.0.1:9400"
	defaultState = ".data/devidp"
)

// serve runs the provider until ctx ends.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devidp serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultAddr, "listen address; loopback only")
	state := fs.String("state", defaultState, "directory holding the signing keys (created 0700)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))}
	}
	if err := requireLoopback(*addr); err != nil {
		return usageError{err}
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	ring, err := keyring.Open(*state)
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	issuer := "http://" + ln.Addr().String()
	srv := &http.Server{
		Handler:           idpapi.Handler(ring, issuer, log, time.Now),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	log.InfoContext(ctx, "listening", slog.String("addr", ln.Addr().String()), slog.String("issuer", issuer),
		slog.String("kid", ring.Current().ID), slog.String("state", *state))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.InfoContext(ctx, "stopped")
	return nil
}

// requireLoopback refuses any listen address that is not loopback: devidp mints tokens for anyone who
// asks, so it must never be reachable from another machine.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--addr %q: devidp listens on loopback only; use 127.0.0.1:<port>", addr)
}
