package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/envcfg"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
)

func TestExitCode(t *testing.T) {
	t.Parallel()
	cfgErr := fmt.Errorf("config: %w", &envcfg.Error{Problems: []string{"MCPBOX_X: required"}})
	for err, want := range map[error]int{nil: 0, cfgErr: 2, errors.New("db down"): 1} {
		if got := lifecycle.ExitCode(err); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
}

func TestGetenv(t *testing.T) {
	t.Parallel()
	get := lifecycle.Getenv([]string{"A=1", "B=x=y", "C"})
	if get("A") != "1" || get("B") != "x=y" || get("C") != "" || get("D") != "" {
		t.Error("Getenv parses NAME=value entries")
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	if err := lifecycle.Healthcheck(context.Background(), ":"+port); err != nil {
		t.Errorf("healthy service: %v", err)
	}
	srv.Close()
	if err := lifecycle.Healthcheck(context.Background(), "127.0.0.1:"+port); err == nil || !strings.Contains(err.Error(), "healthcheck") {
		t.Errorf("stopped service: %v", err)
	}
}

// TuneGC raises the GC target unless GOGC says otherwise.
func TestTuneGC(t *testing.T) { //nolint:paralleltest // the GC percent is process-wide
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	lifecycle.TuneGC(lifecycle.CallPathGCPercent)(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != lifecycle.CallPathGCPercent {
		t.Errorf("without GOGC: GC percent %d, want %d", got, lifecycle.CallPathGCPercent)
	}
	lifecycle.TuneGC(lifecycle.CallPathGCPercent)(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC=100: GC percent %d, want it left at 100", got)
	}
}
