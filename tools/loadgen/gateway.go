package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// setupTimeout bounds the opening of every worker's session.
const setupTimeout = 30 * time.Second

// runGateway is `loadgen gateway`: open the workers' sessions, run one open-loop step at -rate, print the report.
func runGateway(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseGatewayArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitPass
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "loadgen: %v\nrun `loadgen gateway -h` for the flags\n", err)
		return exitUsage
	}
	rep := newGatewayReport(cfg, describeMachine(ctx, ""), time.Now())
	if err := loadGateway(ctx, cfg, &rep, stderr); err != nil {
		rep.Error = err.Error()
		_, _ = fmt.Fprintf(stderr, "loadgen: %v\n", err)
	}
	rep.finish(time.Now())
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "loadgen: encode the report: %v\n", err)
		return exitFail
	}
	b = append(b, '\n')
	if _, err := stdout.Write(b); err != nil {
		_, _ = fmt.Fprintf(stderr, "loadgen: write the report: %v\n", err)
		return exitFail
	}
	if cfg.out != "" {
		if err := writeFile(cfg.out, b); err != nil {
			_, _ = fmt.Fprintf(stderr, "loadgen: %v\n", err)
			return exitFail
		}
	}
	printGatewaySummary(stderr, rep)
	if !rep.Pass {
		return exitFail
	}
	return exitPass
}

// loadGateway opens the sessions and runs the step into rep; an error means the run could not be made.
func loadGateway(ctx context.Context, cfg gatewayConfig, rep *gatewayReport, stderr io.Writer) error {
	client := gatewayClient(cfg)
	defer client.CloseIdleConnections()
	c := &mcpClient{hc: client, url: cfg.url, era: cfg.era, headers: cfg.headers}
	sys, err := newGatewaySystem(ctx, c, cfg)
	if err != nil {
		return err
	}
	if cfg.closed() {
		_, _ = fmt.Fprintf(stderr, "%s %s, %s era, %d workers: closed loop with %d in flight, %s warm-up, then %s measured...\n",
			cfg.url, requestName(cfg), cfg.era, cfg.workers, cfg.concurrency, cfg.warmup, cfg.duration)
		rep.summarize(cfg.duration, driveClosed(ctx, sys, closedPlan{concurrency: cfg.concurrency, warmup: cfg.warmup, duration: cfg.duration}))
		return nil
	}
	p := plan{rate: cfg.rate, warmup: cfg.warmup, duration: cfg.duration, maxInflight: cfg.maxInflight}
	_, _ = fmt.Fprintf(stderr, "%s %s, %s era, %d workers: %s/s, %s warm-up, then %s measured...\n",
		cfg.url, requestName(cfg), cfg.era, cfg.workers, formatRate(cfg.rate), cfg.warmup, cfg.duration)
	rep.summarize(cfg.duration, drive(ctx, sys, p))
	return nil
}

// requestName names what each request does, for messages.
func requestName(cfg gatewayConfig) string {
	if cfg.method == methodList {
		return "tools/list"
	}
	return "tools/call " + cfg.tool
}

// gatewayClient is the one keep-alive client of a run: enough idle connections for the requests in flight, no
// proxy (loopback only), -timeout per request.
func gatewayClient(cfg gatewayConfig) *http.Client {
	idle := min(cfg.maxInflight, 1024) + cfg.workers + cfg.concurrency
	return &http.Client{
		Timeout: cfg.timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        idle,
			MaxIdleConnsPerHost: idle,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		// An MCP endpoint that redirects is misconfigured; never follow it elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// gatewaySystem loads one gateway: request i goes to worker i mod -workers.
type gatewaySystem struct {
	workers []*session
	next    atomic.Uint64
	req     request
	era     string
	method  string
}

// newGatewaySystem prepares the request and opens every worker's session, concurrently.
func newGatewaySystem(ctx context.Context, c *mcpClient, cfg gatewayConfig) (*gatewaySystem, error) {
	var (
		r   request
		err error
	)
	if cfg.method == methodList {
		r, err = c.newRequest("tools/list", nil)
	} else {
		r, err = c.newRequest("tools/call", map[string]any{"name": cfg.tool, "arguments": cfg.args})
	}
	if err != nil {
		return nil, err
	}
	sys := &gatewaySystem{workers: make([]*session, cfg.workers), req: r, era: cfg.era, method: cfg.method}
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	var (
		first error // the failure that cancelled the others, not their "context canceled"
		once  sync.Once
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, 16) // sessions opened at once
	for i := range sys.workers {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var extra http.Header
			if n := len(cfg.workerHeaders); n > 0 {
				extra = cfg.workerHeaders[i%n]
			}
			s, err := c.openSession(sctx, extra)
			if err != nil {
				once.Do(func() {
					first = fmt.Errorf("worker %d: %w", i+1, err)
					cancel()
				})
				return
			}
			sys.workers[i] = s
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return sys, nil
}

// call sends the next request and checks its result; the outcome ends when the answer's last byte was read.
func (g *gatewaySystem) call(ctx context.Context) outcome {
	s := g.workers[(g.next.Add(1)-1)%uint64(len(g.workers))]
	result, _, end, f := s.exchange(ctx, g.req)
	if f == nil {
		f = checkResult(g.era, g.method, result)
	}
	if f != nil {
		return outcome{kind: kindError, class: f.kind, errText: f.text, end: end}
	}
	return outcome{kind: kindOK, end: end}
}

// counters has nothing to read: the gateway report needs no target counters.
func (g *gatewaySystem) counters(context.Context) (counters, error) { return counters{}, nil }

// writeFile writes b to path, creating its directory.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}
