package mcpserve_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
)

// A caller holds at most MaxSessionsPerCaller subscriptions/listen streams
// on a replica: opening one more ends its oldest; another caller's streams
// are untouched (§5.6). The gauge follows.
func TestListenStreamCapPerCaller(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode, MaxSessionsPerCaller: 2})
		// open opens a listen stream and returns a channel closed when it ends.
		open := func(listener string, hdr http.Header) <-chan struct{} {
			params := mcpservetest.ModernParams(map[string]any{"notifications": map[string]any{"toolsListChanged": true}})
			resp := h.Stream(t, mcpservetest.Req{
				Listener: listener, Body: mcpservetest.Body(1, "subscriptions/listen", params),
				Header: merge(hdr, mcpservetest.ModernHeaders("subscriptions/listen", "")),
			})
			t.Cleanup(func() { _ = resp.Body.Close() })
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: listen status %d", mode, resp.StatusCode)
			}
			done := make(chan struct{})
			go func() {
				_, _ = io.Copy(io.Discard, resp.Body)
				close(done)
			}()
			return done
		}
		first := open(caller.ListenerLocal, nil)
		second := open(caller.ListenerLocal, nil)
		remote := open(caller.ListenerRemote, remoteUser("a@example.com"))
		mcpservetest.Eventually(t, "two local streams", func() bool {
			return gaugeValue(h, "mcpbox_gateway_listen_streams", "local") == 2
		})
		third := open(caller.ListenerLocal, nil)
		select {
		case <-first:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the oldest stream stayed open", mode)
		}
		for _, s := range []<-chan struct{}{second, third, remote} {
			select {
			case <-s:
				t.Errorf("%s: a stream within the cap ended", mode)
			default:
			}
		}
		mcpservetest.Eventually(t, "the gauges", func() bool {
			return gaugeValue(h, "mcpbox_gateway_listen_streams", "local") == 2 &&
				gaugeValue(h, "mcpbox_gateway_listen_streams", "remote") == 1
		})
		if mode == mcpserve.ModeHybrid {
			h.Gateway.CloseStreams()
			for _, s := range []<-chan struct{}{second, third, remote} {
				select {
				case <-s:
				case <-time.After(5 * time.Second):
					t.Fatal("CloseStreams left a listen stream open")
				}
			}
		}
	}
}

// CloseStreams (shutdown) ends a hybrid session's GET stream and the
// session: its id gets 404 afterwards.
func TestCloseStreamsEndsSessions(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid})
	id := initSession(t, h, caller.ListenerLocal, nil)
	resp := h.Stream(t, mcpservetest.Req{Method: http.MethodGet, Header: mcpservetest.Headers(
		"Mcp-Session-Id", id, "Mcp-Protocol-Version", "2025-11-25", "Accept", "text/event-stream")})
	defer func() { _ = resp.Body.Close() }()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		close(done)
	}()
	h.Gateway.CloseStreams()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the GET stream stayed open")
	}
	mcpservetest.Eventually(t, "the session to close", func() bool {
		return sessionStatus(t, h, caller.ListenerLocal, http.MethodPost, id, nil) == http.StatusNotFound
	})
}
