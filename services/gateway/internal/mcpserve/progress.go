package mcpserve

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto/obs"
)

// ProgressMessage is the message of a progress notification (gateway.md
// §5.6), e.g. "Running weather__forecast: 20 s elapsed (limit 120 s)".
func ProgressMessage(name string, elapsed, limit int) string {
	return fmt.Sprintf("Running %s: %d s elapsed (limit %d s)", name, elapsed, limit)
}

// withProgress runs fn; when req carries _meta.progressToken and limit is
// known it sends notifications/progress every ProgressInterval until fn
// returns, on the request's own response stream (req.Session.NotifyProgress
// with the handler's context): progress = whole seconds elapsed, total =
// limit in seconds. Progress must strictly increase, so with an interval
// under a second (tests) it counts up by one per notification. The
// last notification is written before the result.
func (g *Gateway) withProgress(ctx context.Context, req *mcp.CallToolRequest, name string, limit time.Duration,
	fn func() *mcp.CallToolResult,
) *mcp.CallToolResult {
	token := req.Params.GetProgressToken()
	if token == nil || limit <= 0 || req.Session == nil {
		return fn()
	}
	total := int(math.Ceil(limit.Seconds()))
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		start := time.Now()
		t := time.NewTicker(g.opts.ProgressInterval)
		defer t.Stop()
		last := 0
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			p := max(last+1, int(time.Since(start).Seconds()))
			last = p
			err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
				ProgressToken: token, Progress: float64(p), Total: float64(total),
				Message: ProgressMessage(name, p, total),
			})
			if err != nil {
				g.log.DebugContext(ctx, "progress notification not delivered", obs.KeyError, err.Error())
			}
		}
	}()
	res := fn()
	close(stop)
	<-stopped
	return res
}
