package httpserve_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// OPS-23 (mechanism): after the signal /readyz answers 503 at once, the
// listener keeps serving for the delay, and an in-flight request completes.
func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	logs := &lifecycletest.Logs{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	health := httpserve.NewHealth()
	release := make(chan struct{})
	started := make(chan struct{})
	mux := http.NewServeMux()
	httpserve.Ops(mux, health, nil)
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpserve.Serve(ctx, log, health, httpserve.Shutdown{Delay: 300 * time.Millisecond, Timeout: 5 * time.Second},
			httpserve.Listener{Name: "main", Addr: "127.0.0.1:0", Handler: mux})
	}()
	base := "http://" + logs.WaitListening(t, "main")
	if code, _ := lifecycletest.Get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz before shutdown: %d", code)
	}
	slow := make(chan string, 1)
	go func() { _, body := lifecycletest.Get(t, base+"/slow"); slow <- body }()
	<-started
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := lifecycletest.Get(t, base+"/readyz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, `"failing":"draining"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz never turned 503: %d %s", code, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	if body := <-slow; body != "done" {
		t.Errorf("in-flight request got %q", body)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestTakenPortFailsTheStartNamingTheListener(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	taken, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = taken.Close() }()
	err = httpserve.Serve(context.Background(), slog.New(slog.DiscardHandler), httpserve.NewHealth(), httpserve.Shutdown{},
		httpserve.Listener{Name: "internal", Addr: taken.Addr().String(), Handler: http.NotFoundHandler()})
	if err == nil || !strings.Contains(err.Error(), "listen internal on "+taken.Addr().String()) {
		t.Errorf("err = %v", err)
	}
}

func TestReadyzNamesTheFailingCheck(t *testing.T) {
	t.Parallel()
	h := httpserve.NewHealth(
		httpserve.Check{Name: "database", Fn: func(context.Context) error { return errors.New("no answer within 2s") }},
		httpserve.Check{Name: "schema", Fn: func(context.Context) error { return nil }},
	)
	mux := http.NewServeMux()
	httpserve.Ops(mux, h, nil)
	logs := &lifecycletest.Logs{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpserve.Serve(ctx, slog.New(slog.NewJSONHandler(logs, nil)), h, httpserve.Shutdown{Timeout: time.Second},
			httpserve.Listener{Name: "main", Addr: "127.0.0.1:0", Handler: mux})
	}()
	base := "http://" + logs.WaitListening(t, "main")
	code, body := lifecycletest.Get(t, base+"/readyz")
	var rb httpserve.ReadyBody
	if err := json.Unmarshal([]byte(body), &rb); err != nil || code != 503 || rb.Status != "not_ready" ||
		rb.Failing != "database" || rb.Checks["schema"] != "ok" {
		t.Errorf("readyz = %d %s", code, body)
	}
	if code, _ := lifecycletest.Get(t, base+"/healthz"); code != 200 {
		t.Errorf("healthz = %d while not ready", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}
