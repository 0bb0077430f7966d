package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// The fault stack (issue 10, item 3) is a devstack run of its own, with
// -restart so a killed service comes back, and a private PostgreSQL
// cluster the test can restart. Its ports are the dev ports + 13000
// (21000–22400), clear of the dev and e2e ports and of testport's range
// (26000–32000, where +20000 would land); the cluster listens on 23432,
// below the kernel's ephemeral range.
const (
	faultOffset      = "13000"
	faultPGPort      = "23432"
	faultBackendURL  = "http://127.0.0.1:21000"
	faultInternal    = "127.0.0.1:21004"
	faultLocalMCPURL = "http://127.0.0.1:21002/mcp"
	faultGatewayBase = "http://127.0.0.1:21002"
)

// The gateway's settings that keep the scenarios short: the breaker opens
// after three failures for two seconds, and a sandbox call times out one
// second after the tool's two-second limit.
const (
	faultBreakerFailures = 3
	faultBreakerOpen     = 2 * time.Second
	faultExecMargin      = time.Second
	faultToolTimeoutMS   = 2000
)

// faultStack is the fault tests' devstack run.
type faultStack struct {
	*Stack
	proxy *eventProxy
	env   map[string]string // dev.env
}

// startFaultStack starts devstack -restart with a private cluster, the
// gateway reaching the backend's internal API through proxy.
func startFaultStack(t *testing.T) *faultStack {
	t.Helper()
	data := t.TempDir()
	// As root the cluster runs as user postgres, which must reach <data>/pg.
	if os.Geteuid() == 0 {
		for dir := data; dir != filepath.Dir(dir) && strings.HasPrefix(dir, os.TempDir()); dir = filepath.Dir(dir) {
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	proxy := startEventProxy(t, faultInternal)
	pgData := filepath.Join(data, "pg", "data")
	s := startDevstack(t, devstackRun{
		data: data, offset: faultOffset, args: []string{"-restart"},
		inherit: func(kv string) bool { return !strings.HasPrefix(kv, "MCPBOX_") },
		env: []string{
			"MCPBOX_DEV_PG_PORT=" + faultPGPort,
			"MCPBOX_BACKEND_INTERNAL_URL=http://" + proxy.addr(),
			"MCPBOX_GATEWAY_BREAKER_FAILURES=" + strconv.Itoa(faultBreakerFailures),
			"MCPBOX_GATEWAY_BREAKER_OPEN=" + faultBreakerOpen.String(),
			"MCPBOX_GATEWAY_EXEC_MARGIN=" + faultExecMargin.String(),
		},
		// Whatever happened, leave no server behind (devstack stops it on a clean exit).
		stopped: func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(pgData, "postmaster.pid")); err == nil {
				_ = pgCtl(t, pgData, "stop", "-m", "immediate")
			}
		},
	})
	if !strings.Contains(s.out.String(), "PostgreSQL: private cluster on 127.0.0.1:"+faultPGPort) {
		t.Fatalf("the fault stack does not run on its private cluster:\n%s", s.out.String())
	}
	return &faultStack{Stack: s, proxy: proxy, env: readDevEnv(t, data)}
}

// pid reads <data>/run/<service>.pid, which devstack keeps current.
func (fs *faultStack) pid(t *testing.T, service string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fs.data, "run", service+".pid"))
	if err != nil {
		t.Fatalf("%s pid file: %v", service, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("%s pid file: %v", service, err)
	}
	return pid
}

// signal sends sig to the service's current process.
func (fs *faultStack) signal(t *testing.T, service string, sig syscall.Signal) int {
	t.Helper()
	pid := fs.pid(t, service)
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("kill -%d %s (%d): %v", sig, service, pid, err)
	}
	return pid
}

// waitRestarted waits until devstack has restarted service (its pid file
// names a process other than old).
func (fs *faultStack) waitRestarted(t *testing.T, service string, old int) int {
	t.Helper()
	var pid int
	waitFor(t, service+" restarted by devstack", func() (bool, string) {
		raw, err := os.ReadFile(filepath.Join(fs.data, "run", service+".pid"))
		if err != nil {
			return false, err.Error()
		}
		pid, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
		return pid != 0 && pid != old, "pid file: " + string(raw)
	})
	return pid
}

// children returns the pids of the process's children (the sandbox's
// workers).
func children(t *testing.T, pid int) []int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, f := range tasks {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		for _, field := range strings.Fields(string(raw)) {
			if n, err := strconv.Atoi(field); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// pgCtl runs the cluster's own pg_ctl (found next to the running
// postmaster, else where devstack looks: PATH, then the newest
// /usr/lib/postgresql/*/bin) on pgData, as user postgres when the test
// runs as root, as devstack does.
func pgCtl(t *testing.T, pgData string, args ...string) error {
	t.Helper()
	bin := pgCtlPath(pgData)
	args = append([]string{"-D", pgData, "-w", "-t", "60"}, args...)
	var cmd *exec.Cmd
	ctx, cancel := context.WithTimeout(context.Background(), 70*time.Second)
	defer cancel()
	if os.Geteuid() == 0 {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errors.New("pg_ctl " + strings.Join(args, " ") + ": " + err.Error() + "\n" + string(out))
	}
	return nil
}

func pgCtlPath(pgData string) string {
	if raw, err := os.ReadFile(filepath.Join(pgData, "postmaster.pid")); err == nil {
		first, _, _ := strings.Cut(string(raw), "\n")
		if exe, err := os.Readlink("/proc/" + strings.TrimSpace(first) + "/exe"); err == nil {
			if p := filepath.Join(filepath.Dir(exe), "pg_ctl"); fileExists(p) {
				return p
			}
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return p
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestV := "pg_ctl", -1
	for _, d := range dirs {
		if v, err := strconv.Atoi(filepath.Base(filepath.Dir(d))); err == nil && v > bestV && fileExists(filepath.Join(d, "pg_ctl")) {
			best, bestV = filepath.Join(d, "pg_ctl"), v
		}
	}
	return best
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// gatewayMetric returns the value of one sample of the gateway's /metrics
// (name with its labels exactly as exposed, e.g.
// `mcpbox_gateway_sandbox_requests_total{endpoint="execute",result="ok"}`);
// ok is false when the sample is absent or the gateway did not answer.
func gatewayMetric(name string) (float64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, faultGatewayBase+proto.PathMetrics, http.NoBody)
	if err != nil {
		return 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// Circuit states of mcpbox_gateway_sandbox_circuit_state (gateway.md §13).
const (
	circuitClosed = 0
	circuitOpen   = 2
)

// circuitWatch samples the breaker's state gauge every 50 ms until stopped
// and remembers every state it saw.
type circuitWatch struct {
	seen sync.Map // float64 → true
	stop chan struct{}
	done chan struct{}
}

func watchCircuit() *circuitWatch {
	w := &circuitWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			if v, ok := gatewayMetric("mcpbox_gateway_sandbox_circuit_state"); ok {
				w.seen.Store(v, true)
			}
			select {
			case <-w.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return w
}

// end stops the sampling and reports whether state was seen.
func (w *circuitWatch) end(state float64) bool {
	close(w.stop)
	<-w.done
	_, ok := w.seen.Load(state)
	return ok
}

// eventProxy forwards the gateway's connections to the backend's internal
// listener and can cut the event stream (GET /internal/v1/events) alone:
// drop closes every connection that carried that request and, while
// blocked, closes each new one as soon as it asks for the stream.
type eventProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	conns   map[*proxyConn]struct{}
	blocked bool

	streams atomic.Int64 // event-stream requests forwarded
	refused atomic.Int64 // event-stream requests cut while blocked
}

type proxyConn struct {
	client, upstream net.Conn
	events           bool
}

func startEventProxy(t *testing.T, target string) *eventProxy {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &eventProxy{ln: ln, target: target, conns: map[*proxyConn]struct{}{}}
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.conns {
			c.close()
		}
	})
	return p
}

func (p *eventProxy) addr() string { return p.ln.Addr().String() }

func (p *eventProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(client)
	}
}

func (p *eventProxy) serve(client net.Conn) {
	upstream, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(context.Background(), "tcp", p.target)
	if err != nil {
		_ = client.Close() // the backend is down: the gateway sees a lost connection
		return
	}
	c := &proxyConn{client: client, upstream: upstream}
	p.mu.Lock()
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		c.close()
	}()
	go func() {
		_, _ = io.Copy(client, upstream)
		c.close()
	}()
	marker := []byte("GET " + proto.PathInternalEvents)
	buf := make([]byte, 32<<10)
	var tail []byte // the end of the previous read, for a marker split across reads
	for {
		n, err := client.Read(buf)
		if n > 0 {
			if bytes.Contains(append(tail, buf[:n]...), marker) && !p.markEvents(c) {
				return
			}
			tail = append(tail[:0], buf[max(0, n-len(marker)):n]...)
			if _, werr := upstream.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// markEvents marks c as an event-stream connection; false means the
// stream is blocked and c must be cut.
func (p *eventProxy) markEvents(c *proxyConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blocked {
		p.refused.Add(1)
		return false
	}
	c.events = true
	p.streams.Add(1)
	return true
}

// drop cuts every event-stream connection and blocks new ones until
// unblock; it returns how many it cut.
func (p *eventProxy) drop() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = true
	n := 0
	for c := range p.conns {
		if c.events {
			c.close()
			n++
		}
	}
	return n
}

func (p *eventProxy) unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = false
}

func (c *proxyConn) close() {
	_ = c.client.Close()
	_ = c.upstream.Close()
}
