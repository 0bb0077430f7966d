package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bareUsageText is printed after a usage error of the bare target and for -h.
const bareUsageText = `usage: loadgen bare [flags]

Serves a bare official go-sdk streamable-HTTP server on loopback, stateless like the gateway in stateless mode, with
one trivial tool: the same name, arguments ({"a", "b"} integers) and result ({"sum"} as structuredContent and as
text) as the stack's trivial tool. It prints "listening <url>" on stdout once it accepts connections and serves
until SIGINT or SIGTERM. loadstack -bench loads it with loadgen gateway to compare the gateway with it.

Flags:
`

// bareConfig is the command line of the bare target.
type bareConfig struct {
	addr string // listen address, loopback only
	tool string // the tool's name
	json bool   // answer application/json instead of an SSE stream
}

// parseBareArgs reads the flags after `bare`; errors are usageError or flag.ErrHelp.
func parseBareArgs(args []string, stderr io.Writer) (bareConfig, error) {
	fs := flag.NewFlagSet("loadgen bare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(fs.Output(), bareUsageText)
		fs.PrintDefaults()
	}
	var cfg bareConfig
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:0", "listen address, on loopback; port 0 picks a free one")
	fs.StringVar(&cfg.tool, "tool", "add", "name of the trivial tool, as the stack exposes it (loadstack: load__add)")
	fs.BoolVar(&cfg.json, "json", false, "answer with application/json bodies; by default an SSE stream, as the gateway answers")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return bareConfig{}, err
		}
		return bareConfig{}, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return bareConfig{}, usageError{fmt.Sprintf("unexpected argument %q after the flags", fs.Arg(0))}
	}
	host, _, err := net.SplitHostPort(cfg.addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return bareConfig{}, usageError{fmt.Sprintf("-addr %q: want a loopback ip:port, such as 127.0.0.1:0", cfg.addr)}
	}
	if cfg.tool == "" {
		return bareConfig{}, usageError{"-tool: must not be empty"}
	}
	return cfg, nil
}

// addInput and addOutput are the trivial tool's arguments and result, as the stack's tool declares them
// (tools/loadstack toolCode).
type addInput struct {
	A int `json:"a" jsonschema:"first addend"`
	B int `json:"b" jsonschema:"second addend"`
}

type addOutput struct {
	Sum int `json:"sum"`
}

// bareHandler is the go-sdk's streamable-HTTP handler, stateless, serving one server with the trivial tool. With
// a nil result the SDK sends the output as structuredContent and as its JSON text, as the gateway maps a tool's
// result.
func bareHandler(cfg bareConfig) http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: "loadgen-bare", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: cfg.tool, Description: "adds a and b"},
		func(_ context.Context, _ *mcp.CallToolRequest, in addInput) (*mcp.CallToolResult, addOutput, error) {
			return nil, addOutput{Sum: in.A + in.B}, nil
		})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: cfg.json})
}

// runBare is `loadgen bare`: listen, print the URL, serve until ctx ends, then shut down within 5 s.
func runBare(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseBareArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitPass
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "loadgen: %v\nrun `loadgen bare -h` for the flags\n", err)
		return exitUsage
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.addr)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "loadgen: listen on %s: %v\n", cfg.addr, err)
		return exitFail
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", bareHandler(cfg))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	if _, err := fmt.Fprintf(stdout, "listening http://%s/mcp\n", l.Addr()); err != nil {
		_ = hs.Close()
		return exitFail
	}
	select {
	case err := <-served:
		_, _ = fmt.Fprintf(stderr, "loadgen: serve: %v\n", err)
		return exitFail
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_, _ = fmt.Fprintf(stderr, "loadgen: shutdown: %v\n", err)
		return exitFail
	}
	return exitPass
}
