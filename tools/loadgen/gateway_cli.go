package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Eras and methods of the gateway target (gateway.md §15).
const (
	eraInitialize = "initialize" // initialize once per worker, then session-less or session requests
	eraModern     = "modern"     // 2026-07-28: every request carries the version header and _meta
	methodCall    = "call"       // tools/call of -tool with -args
	methodList    = "list"       // tools/list, first page
)

// gatewayUsageText is printed after a usage error of the gateway target and for -h.
const gatewayUsageText = `usage: loadgen gateway [flags]

Loads a running gateway's /mcp (or any MCP server's) at a constant open-loop rate (gateway.md §15), or closed loop
with -concurrency, and prints a JSON report on stdout: sent, ok, errors by kind, achieved rate,
p50/p90/p95/p99/max. Exit status 0 when no request failed and, open loop, the achieved rate is at least 99 % of
-rate; 1 otherwise, 2 on a bad command line.

Flags:
`

// gatewayConfig is the command line of the gateway target.
type gatewayConfig struct {
	url         string          // the gateway's /mcp, on a loopback address
	era         string          // eraInitialize or eraModern
	method      string          // methodCall or methodList
	tool        string          // tool of methodCall
	args        json.RawMessage // arguments of methodCall, a JSON object
	rate        float64         // requests per second
	duration    time.Duration   // measured window
	warmup      time.Duration   // before the window: sent, checked, not measured
	workers     int             // MCP clients sharing the load; each initialises once in the initialize era
	timeout     time.Duration   // per request, response body included
	maxInflight int             // requests in flight at most; a send beyond it is dropped (an error)
	headers     http.Header     // -header values, added to every request
	// workerHeaders are the -worker-header values, one header set each: worker i adds set i mod len.
	workerHeaders []http.Header
	// concurrency > 0 makes the run closed loop: that many requests in flight, each sent when the previous one
	// ended; -rate is then not used.
	concurrency int
	out         string // also write the report here ("" = stdout only)
}

// reservedHeaders are the headers loadgen sets itself on MCP requests; -header may not replace them.
func reservedHeaders() []string {
	return []string{
		"Content-Type", "Accept", "Content-Length", "Host", "Transfer-Encoding", "Connection",
		"Mcp-Session-Id", "Mcp-Protocol-Version", "Mcp-Method", "Mcp-Name",
	}
}

// headerFlag collects repeated -header "Name: value" flags.
type headerFlag struct{ h http.Header }

// workerHeaderFlag collects repeated -worker-header "Name: value" flags, each a header set of its own.
type workerHeaderFlag struct{ sets *[]http.Header }

func (f workerHeaderFlag) String() string {
	if f.sets == nil {
		return ""
	}
	return fmt.Sprintf("%d worker headers", len(*f.sets)) // values may be secrets: never printed
}

func (f workerHeaderFlag) Set(v string) error {
	h := http.Header{}
	if err := (headerFlag{h}).Set(v); err != nil {
		return err
	}
	*f.sets = append(*f.sets, h)
	return nil
}

func (f headerFlag) String() string {
	if f.h == nil {
		return ""
	}
	return fmt.Sprintf("%d headers", len(f.h)) // values may be secrets: never printed
}

func (f headerFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	switch {
	case !ok || !validHeaderName(name):
		return errors.New(`want "Name: value", such as "X-MCPbox-Service-Token: <token>"`)
	case strings.ContainsAny(value, "\r\n\x00"):
		return fmt.Errorf("the value of %s contains a line break or NUL", name)
	}
	for _, r := range reservedHeaders() {
		if strings.EqualFold(name, r) {
			return fmt.Errorf("loadgen sets %s itself", http.CanonicalHeaderKey(name))
		}
	}
	f.h.Add(name, value)
	return nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 §5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// parseGatewayArgs reads the flags after `gateway`; errors are usageError or flag.ErrHelp.
func parseGatewayArgs(args []string, stderr io.Writer) (gatewayConfig, error) {
	fs := flag.NewFlagSet("loadgen gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(fs.Output(), gatewayUsageText)
		fs.PrintDefaults()
	}
	cfg := gatewayConfig{headers: http.Header{}}
	var args0 string
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8002/mcp", "the gateway's /mcp URL; loopback addresses only")
	fs.StringVar(&cfg.era, "era", eraInitialize, "initialize (each worker initialises once) or modern (2026-07-28 header and _meta on every request)")
	fs.StringVar(&cfg.method, "method", methodCall, "call (tools/call of -tool) or list (tools/list, first page)")
	fs.StringVar(&cfg.tool, "tool", "", "exposed name of the tool to call, such as e2e__add (required with -method call)")
	fs.StringVar(&args0, "args", "{}", "arguments of each call, a JSON object")
	fs.Float64Var(&cfg.rate, "rate", 250, "requests per second, open loop")
	fs.DurationVar(&cfg.duration, "duration", 60*time.Second, "measured window")
	fs.DurationVar(&cfg.warmup, "warmup", 10*time.Second, "warm-up before the window; its requests are checked (an error fails the run) but not measured")
	fs.IntVar(&cfg.workers, "workers", 8, "MCP clients the requests are spread over, round robin; not a concurrency limit")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "per request, response body included")
	fs.IntVar(&cfg.maxInflight, "max-inflight", 2000, "requests in flight at most; a send beyond it is counted as a dropped error")
	fs.Var(headerFlag{cfg.headers}, "header", `"Name: value" added to every request (repeatable), e.g. "X-MCPbox-Service-Token: <token>" on the remote listener`)
	fs.Var(workerHeaderFlag{&cfg.workerHeaders}, "worker-header", `"Name: value" for one worker (repeatable): worker i adds the (i mod n)-th of the n given, e.g. one "Authorization: Bearer <token>" per user`)
	fs.IntVar(&cfg.concurrency, "concurrency", 0, "closed loop: this many requests in flight for -duration after -warmup, each sent when the previous one ended (measures capacity); 0 is open loop at -rate")
	fs.StringVar(&cfg.out, "out", "", "also write the JSON report to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return gatewayConfig{}, err
		}
		return gatewayConfig{}, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return gatewayConfig{}, usageError{fmt.Sprintf("unexpected argument %q after the flags", fs.Arg(0))}
	}
	rateSet := false
	fs.Visit(func(f *flag.Flag) { rateSet = rateSet || f.Name == "rate" })
	if cfg.concurrency > 0 && rateSet {
		return gatewayConfig{}, usageError{"-rate: not used with -concurrency (closed loop); give one of them"}
	}
	cfg.args = json.RawMessage(args0)
	return cfg, cfg.check()
}

// closed reports whether the run is closed loop.
func (c gatewayConfig) closed() bool { return c.concurrency > 0 }

// check validates every value and compacts -args.
func (c *gatewayConfig) check() error {
	if err := checkLoopbackURL(c.url); err != nil {
		return usageError{err.Error()}
	}
	switch {
	case c.era != eraInitialize && c.era != eraModern:
		return usageError{fmt.Sprintf("-era %q: want initialize or modern", c.era)}
	case c.method != methodCall && c.method != methodList:
		return usageError{fmt.Sprintf("-method %q: want call or list", c.method)}
	case c.method == methodCall && c.tool == "":
		return usageError{"-tool: required with -method call, such as -tool e2e__add"}
	case c.method == methodList && c.tool != "":
		return usageError{"-tool: applies to -method call only"}
	case !(c.rate > 0) || math.IsInf(c.rate, 0):
		return usageError{fmt.Sprintf("-rate %g: must be a positive number of requests per second", c.rate)}
	case c.duration <= 0:
		return usageError{fmt.Sprintf("-duration %s: must be positive, such as 60s", c.duration)}
	case c.warmup < 0:
		return usageError{fmt.Sprintf("-warmup %s: must be zero or positive, such as 10s", c.warmup)}
	case c.workers < 1:
		return usageError{fmt.Sprintf("-workers %d: must be at least 1", c.workers)}
	case c.timeout <= 0:
		return usageError{fmt.Sprintf("-timeout %s: must be positive, such as 30s", c.timeout)}
	case c.maxInflight < 1:
		return usageError{fmt.Sprintf("-max-inflight %d: must be at least 1", c.maxInflight)}
	case c.concurrency < 0 || c.concurrency > maxConcurrency:
		return usageError{fmt.Sprintf("-concurrency %d: must be 0 (open loop) to %d", c.concurrency, maxConcurrency)}
	}
	if n := c.rate * (c.warmup + c.duration).Seconds(); !c.closed() && n > maxRequestsPerStep {
		return usageError{fmt.Sprintf("-rate %g with -warmup %s and -duration %s makes %.0f requests; keep it at most %d (every sample is kept in memory)",
			c.rate, c.warmup, c.duration, n, maxRequestsPerStep)}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(c.args, &obj); err != nil || obj == nil {
		return usageError{fmt.Sprintf("-args %q: must be a JSON object, such as '{\"a\":2,\"b\":40}'", truncate(string(c.args), 80))}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, c.args); err != nil {
		return usageError{fmt.Sprintf("-args: %v", err)}
	}
	c.args = buf.Bytes()
	return nil
}

// checkLoopbackURL accepts an http(s) URL without credentials whose host is localhost or a loopback IP: loadgen
// loads only what runs on this machine.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("-url %q: want an http(s) URL without credentials, such as http://127.0.0.1:8002/mcp", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && !strings.EqualFold(host, "localhost") {
		return fmt.Errorf("-url %q: %s is not a loopback address; loadgen only loads this machine", raw, host)
	}
	return nil
}
