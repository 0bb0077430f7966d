package mcpserve

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// The SDK's warning about a list_changed push a session could not receive
// is demoted to Debug; other SDK warnings pass, Info does not.
func TestWarnOnlyDemotesUndeliveredPushes(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(warnOnly{slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})})
	log.Warn("calling notifications/tools/list_changed: rejected by transport: undelivered message: stream not connected")
	log.Info("session connected")
	log.Warn("something the operator should see")
	out := buf.String()
	if strings.Contains(out, "list_changed") || strings.Contains(out, "session connected") || !strings.Contains(out, "the operator should see") {
		t.Fatalf("logged:\n%s", out)
	}
	buf.Reset()
	debug := slog.New(warnOnly{slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})})
	debug.Log(context.Background(), slog.LevelWarn, "calling notifications/tools/list_changed: undelivered message")
	if !strings.Contains(buf.String(), `"level":"DEBUG"`) {
		t.Fatalf("at debug level: %s", buf.String())
	}
}
