package mcpserve_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
)

// The benchmarks of gateway.md §15. make bench runs them six times and
// gates the ratio of BenchmarkGatewayCallStubSandbox over
// BenchmarkBareSDKCall (tools/benchgate, P3); make test runs each once. All
// three send the same kind of request over loopback HTTP with one shared
// keep-alive client (benchClient), check every answer, and report
// allocations (client side included, the same for all three).

// BenchmarkBareSDKCall is P3's baseline: a plain stateless go-sdk server
// whose one tool returns the stub sandbox's result, answering the same
// session-less tools/call as BenchmarkGatewayCallStubSandbox.
func BenchmarkBareSDKCall(b *testing.B) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "bare", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: benchToolName, Description: "Adds two integers."},
		func(_ context.Context, _ *mcp.CallToolRequest, in benchInput) (*mcp.CallToolResult, benchOutput, error) {
			return nil, benchOutput{Sum: in.A + in.B}, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: true})
	ts := httptest.NewServer(h)
	b.Cleanup(ts.Close)
	runCallBenchmark(b, ts.URL)
}

// BenchmarkGatewayCallStubSandbox is P3's measured side: the same call
// through the whole gateway on the local listener (the listen pipeline,
// classification, the SDK handler and receiving middleware, argument
// validation, a plan-cache hit, the sandbox client, result mapping, the
// record enqueued on a real queue, the metrics), with the sandbox answered
// in memory by the sandbox client's transport (stubCallPath).
func BenchmarkGatewayCallStubSandbox(b *testing.B) {
	calls := &lateCalls{}
	h := mcpservetest.Start(b, mcpservetest.Config{Catalog: benchCatalog(), Calls: calls})
	calls.set(newStubCallPath(b, h))
	runCallBenchmark(b, h.URL(caller.ListenerLocal))
}

// BenchmarkGatewayList500 measures a session-less tools/list (first page)
// through the local listener's whole chain with 500 user tools in the
// catalog (P2 of gateway.md §15).
func BenchmarkGatewayList500(b *testing.B) {
	names := make([]string, 500)
	for i := range names {
		names[i] = fmt.Sprintf("srv%d__tool%03d", i%10, i)
	}
	h := mcpservetest.Start(b, mcpservetest.Config{Catalog: catalogOf(1, names...)})
	body := []byte(mcpservetest.Body(1, "tools/list", nil))
	// The first page holds 100 tools, in name order.
	want := []byte(`"name":"srv0__tool000"`)
	runBenchmark(b, h.URL(caller.ListenerLocal), body, want)
}

// runCallBenchmark measures the tools/call of benchToolName at url.
func runCallBenchmark(b *testing.B, url string) {
	b.Helper()
	body := []byte(mcpservetest.Body(1, "tools/call", map[string]any{"name": benchToolName, "arguments": benchArguments()}))
	runBenchmark(b, url, body, []byte(`"structuredContent":{"sum":42}`))
}

// runBenchmark posts body to url once per iteration with benchClient and
// checks that every answer is a 200 containing want; the first exchange,
// before the timed loop, also warms the caches (plan, validators,
// connections).
func runBenchmark(b *testing.B, url string, body, want []byte) {
	b.Helper()
	client := benchClient()
	var buf bytes.Buffer
	post := func() {
		buf.Reset()
		status, err := benchPost(client, url, body, &buf)
		if err != nil {
			b.Fatal(err)
		}
		if status != http.StatusOK || !bytes.Contains(buf.Bytes(), want) {
			b.Fatalf("status %d, body %q: want 200 with %s", status, buf.Bytes(), want)
		}
	}
	post()
	b.ReportAllocs()
	for b.Loop() {
		post()
	}
}

// benchClient is the one kind of client of the benchmarks: a dedicated
// keep-alive transport (no proxy, no compression), so the benchmarks share
// nothing with other tests' connections.
func benchClient() *http.Client {
	t := &http.Transport{
		MaxIdleConns: 4, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute, DisableCompression: true,
	}
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// benchPost sends one MCP POST and copies the response body into buf.
func benchPost(client *http.Client, url string, body []byte, buf *bytes.Buffer) (int, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if _, err := io.Copy(buf, resp.Body); err != nil {
		return resp.StatusCode, fmt.Errorf("read the answer: %w", err)
	}
	return resp.StatusCode, nil
}
