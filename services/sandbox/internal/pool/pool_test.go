package pool_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/ipc"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/pool"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/worker"
)

// TestMain makes this test binary a worker when started as one (§2), unless
// MCPBOX_SANDBOX_TEST_WORKER names the non-race build to use instead.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == worker.ProcessArg {
		os.Exit(worker.ProcessMain(os.Args[2:], os.Environ(), os.Stderr))
	}
	os.Exit(m.Run())
}

func workerExe(t testing.TB) string {
	t.Helper()
	if exe := os.Getenv("MCPBOX_SANDBOX_TEST_WORKER"); exe != "" {
		return exe
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func testConfig(t testing.TB) pool.Config {
	t.Helper()
	return pool.Config{
		WorkerExe: workerExe(t), WorkerProcs: 1, Warm: 1, MaxConcurrent: 4, SpawnConcurrency: 2,
		MemoryBudgetMB: 2048, MaxMemoryMB: 512, QueueMax: 8, QueueWait: 10 * time.Second, MaxIdle: time.Minute,
	}
}

type testPool struct {
	*pool.Pool
	reg *prometheus.Registry
}

func newPool(t testing.TB, cfg pool.Config) testPool {
	t.Helper()
	reg := prometheus.NewRegistry()
	p, err := pool.New(cfg, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx)
	t.Cleanup(func() {
		p.Close()
		cancel()
	})
	return testPool{p, reg}
}

func waitReady(t testing.TB, p testPool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); !p.Ready(); {
		if time.Now().After(end) {
			t.Fatal("pool never became ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tool is a tool with an empty Input, the given imports and Main body
// returning string.
func tool(imports, body string) string {
	src := "package tool\n\nimport (\n\t\"context\"\n"
	for _, imp := range strings.Fields(imports) {
		src += "\t\"" + imp + "\"\n"
	}
	return src + ")\n\ntype Input struct{}\n\nfunc Main(ctx context.Context, in Input) (string, error) {\n" + body + "}\n"
}

func job(code string, timeout time.Duration) pool.Job {
	return pool.Job{Mode: ipc.ModeRun, Code: code, InputType: "Input", Arguments: []byte(`{}`), Timeout: timeout, MemoryMB: 256}
}

func exec(t *testing.T, p testPool, j pool.Job) pool.Outcome {
	t.Helper()
	out, err := p.Execute(context.Background(), j)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return out
}

func wantError(t *testing.T, out pool.Outcome, typ proto.SandboxErrorType) {
	t.Helper()
	if out.Error == nil || out.Error.Type != typ {
		t.Fatalf("want %s, got error %+v result %+v (worker %+v)", typ, out.Error, out.Result, out.Worker)
	}
}

// gone reports whether pid no longer exists.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestExecuteTrivialTool(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	out := exec(t, p, job(tool("fmt", "\tfmt.Println(\"hello\")\n\treturn \"hi\", nil\n"), 2*time.Second))
	if out.Error != nil || out.Result == nil || !out.Result.OK || string(out.Result.JSON) != `"hi"` {
		t.Fatalf("outcome %+v error %+v", out, out.Error)
	}
	if string(out.Stdout) != "hello\n" {
		t.Fatalf("stdout %q", out.Stdout)
	}
	if out.Worker.Exit != "code:0" && out.Worker.Exit != "signal:SIGKILL" {
		t.Fatalf("worker exit %q", out.Worker.Exit)
	}
	if out.Worker.MaxRSSKB <= 0 {
		t.Fatalf("max rss %d", out.Worker.MaxRSSKB)
	}
}

// The approved mime package answers from Go's built-in type table in a
// locked-down worker: the host's mime files are never read, so a tool
// behaves the same on every host (catalogue note of "mime").
func TestMimeUsesTheBuiltInTable(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	j := job(tool("mime", "\treturn mime.TypeByExtension(\".json\") + \"|\" + mime.TypeByExtension(\".yaml\"), nil\n"), 5*time.Second)
	j.ExtraPackages = []string{"mime"}
	out := exec(t, p, j)
	if out.Error != nil || out.Result == nil || string(out.Result.JSON) != `"application/json|"` {
		t.Fatalf("error %+v result %+v", out.Error, out.Result)
	}
}

// §8.5: the parent's RSS watchdog kills a worker whose resident memory
// passes its baseline + memory_mb when the address-space limit (at least
// worker.MinAddressHeadroomMB above it) has not stopped it: a tool growing
// slowly to 100 MiB under memory_mb 32 is killed by SIGKILL from the parent
// and classified MemoryLimitExceeded.
func TestRSSWatchdogKillsSlowGrowth(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	j := job(tool("fmt time", "\tvar keep [][]byte\n\tfor i := 0; i < 100; i++ {\n\t\tb := make([]byte, 1<<20)\n"+
		"\t\tfor k := 0; k < len(b); k += 4096 {\n\t\t\tb[k] = 1\n\t\t}\n\t\tkeep = append(keep, b)\n"+
		"\t\ttime.Sleep(5 * time.Millisecond)\n\t}\n\treturn fmt.Sprint(len(keep)), nil\n"), 10*time.Second)
	j.MemoryMB = 32
	out := exec(t, p, j)
	wantError(t, out, proto.ErrTypeMemoryLimitExceeded)
	if out.Worker.Exit != "signal:SIGKILL" || out.Class != "oom" {
		t.Fatalf("worker %+v class %q: not the watchdog's kill", out.Worker, out.Class)
	}
	if out.Worker.MaxRSSKB > 100<<10 {
		t.Fatalf("max RSS %d KiB: the tool reached its 100 MiB", out.Worker.MaxRSSKB)
	}
}

// A worker executable from another build (its ready frame reports another
// package catalogue) never gets a job: the spawn fails, naming the fix.
func TestWorkerFromAnotherBuildRefused(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Warm = 0
	cfg.CatalogueVersion = "0000000000000000"
	p := newPool(t, cfg)
	_, err := p.Execute(context.Background(), job(tool("", "\treturn \"ok\", nil\n"), 5*time.Second))
	if err == nil || !strings.Contains(err.Error(), "install the worker executable built with this sandbox") {
		t.Fatalf("Execute: %v", err)
	}
}

// SB-1 (pool layer): for {} → Timeout within timeout + 1 s, worker killed.
func TestSB1_EndlessLoopTimesOut(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	start := time.Now()
	out := exec(t, p, job(tool("", "\tfor {\n\t}\n"), time.Second))
	wantError(t, out, proto.ErrTypeTimeout)
	if el := time.Since(start); el > 2*time.Second+time.Second {
		t.Fatalf("took %s", el)
	}
	if out.Worker.Exit != "signal:SIGKILL" {
		t.Fatalf("worker exit %q", out.Worker.Exit)
	}
	if out.Class != "timeout" {
		t.Fatalf("class %q", out.Class)
	}
}

// SB-4 and SB-5 (pool layer): blocking forever → Timeout; the worker
// process is gone afterwards.
func TestBlockingToolsTimeOut(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	cases := map[string]string{
		"sleep":   tool("time", "\ttime.Sleep(time.Hour)\n\treturn \"\", nil\n"),
		"receive": tool("", "\tc := make(chan int)\n\t<-c\n\treturn \"\", nil\n"),
		"select":  tool("", "\tselect {}\n"),
	}
	for name, code := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := exec(t, p, job(code, 500*time.Millisecond))
			wantError(t, out, proto.ErrTypeTimeout)
		})
	}
}

// SB-11 (pool layer): a huge allocation → MemoryLimitExceeded; the parent
// keeps working.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	cases := map[string]string{
		// SB-11
		"huge make": tool("", "\tb := make([]byte, 1<<40)\n\treturn string(b[:1]), nil\n"),
		// SB-12 (pool layer): 64 MiB chunks, touched or not.
		"append touched chunks": tool("", "\tvar keep [][]byte\n\tfor i := 0; i < 64; i++ {\n\t\tb := make([]byte, 64<<20)\n"+
			"\t\tfor j := 0; j < len(b); j += 4096 {\n\t\t\tb[j] = 1\n\t\t}\n\t\tkeep = append(keep, b)\n\t}\n\t_ = keep\n\treturn \"kept\", nil\n"),
		"append untouched chunks": tool("", "\tvar keep [][]byte\n\tfor i := 0; i < 64; i++ {\n\t\tkeep = append(keep, make([]byte, 64<<20))\n\t}\n\t_ = keep\n\treturn \"kept\", nil\n"),
	}
	for name, code := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			j := job(code, 2*time.Second)
			j.MemoryMB = 128
			out := exec(t, p, j)
			wantError(t, out, proto.ErrTypeMemoryLimitExceeded)
			// Stopped before RSS passed memory_mb + 20 % (from wait4, never the worker).
			if limit := int64(128 * 1024 * 12 / 10); out.Worker.MaxRSSKB > limit {
				t.Errorf("max RSS %d KiB > %d KiB", out.Worker.MaxRSSKB, limit)
			}
		})
	}
	out := exec(t, p, job(tool("", "\treturn \"still fine\", nil\n"), 2*time.Second))
	if out.Result == nil || string(out.Result.JSON) != `"still fine"` {
		t.Fatalf("after OOM: %+v %+v", out.Result, out.Error)
	}
}

// SB-23 (pool layer) and SB-70 (goroutine panic part): a panic in a
// goroutine → Panic with the value; stdout before it is returned.
func TestGoroutinePanic(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	code := tool("fmt time", "\tfmt.Println(\"before\")\n\ttime.Sleep(100 * time.Millisecond)\n"+
		"\tgo func() { panic(\"x marks\") }()\n\ttime.Sleep(time.Second)\n\treturn \"\", nil\n")
	out := exec(t, p, job(code, 2*time.Second))
	wantError(t, out, proto.ErrTypePanic)
	if !strings.Contains(out.Error.Message, "x marks") {
		t.Fatalf("message %q", out.Error.Message)
	}
	if string(out.Stdout) != "before\n" {
		t.Fatalf("stdout %q", out.Stdout)
	}
}

// SB-70 (timeout part): stdout written before a timeout is returned.
func TestStdoutBeforeTimeout(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	out := exec(t, p, job(tool("fmt", "\tfmt.Println(\"progress\")\n\tfor {\n\t}\n"), 500*time.Millisecond))
	wantError(t, out, proto.ErrTypeTimeout)
	if string(out.Stdout) != "progress\n" {
		t.Fatalf("stdout %q", out.Stdout)
	}
}

// SB-30 (pool layer): a worker that exits without a result is never a
// success (the opt-in log package's Fatal exits with status 1).
func TestExitWithoutResult(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	j := job(tool("log", "\tlog.Fatal(\"x\")\n\treturn \"\", nil\n"), 2*time.Second)
	j.ExtraPackages = []string{"log"}
	out := exec(t, p, j)
	if out.Result != nil && out.Result.OK || out.Result == nil && out.Error == nil {
		t.Fatalf("want an error, got result %+v error %+v", out.Result, out.Error)
	}
}

// SB-66 and SB-74 (pool layer): N executions run in N distinct workers.
func TestDistinctWorkers(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	code := tool("", "\treturn \"ok\", nil\n")
	pids := map[int]bool{}
	const n = 5
	for range n {
		out := exec(t, p, job(code, 2*time.Second))
		if out.Result == nil {
			t.Fatalf("error %+v", out.Error)
		}
		if out.PID <= 0 || out.JobFrames != 1 {
			t.Fatalf("pid %d, job frames %d", out.PID, out.JobFrames)
		}
		pids[out.PID] = true
	}
	if len(pids) != n {
		t.Fatalf("%d executions used %d distinct workers", n, len(pids))
	}
}

// SB-69 (pool layer): a caller that goes away mid-execution gets a
// cancelled outcome; the worker is killed and reaped at once.
func TestCancelKillsWorker(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	ctx, cancel := context.WithCancel(context.Background())
	var start time.Time
	go func() {
		for p.Stats().Busy == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		start = time.Now()
		cancel()
	}()
	out, err := p.Execute(ctx, job(tool("", "\tfor {\n\t}\n"), 2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Cancelled || out.Error != nil {
		t.Fatalf("outcome %+v", out)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("cancel took %s", el) // SB-69 polling deadline
	}
	if out.Worker.Exit != "signal:SIGKILL" {
		t.Fatalf("exit %q", out.Worker.Exit)
	}
	if !gone(out.PID) {
		t.Fatalf("worker %d still exists", out.PID)
	}
}

// SB-9 (pool layer): with every slot busy and a short queue wait, further
// executions get ErrSaturated.
func TestSaturation(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.MaxConcurrent, cfg.QueueMax, cfg.QueueWait = 1, 1, 100*time.Millisecond
	p := newPool(t, cfg)
	busy := make(chan struct{})
	go func() {
		defer close(busy)
		_, _ = p.Execute(context.Background(), job(tool("time", "\ttime.Sleep(time.Hour)\n\treturn \"\", nil\n"), time.Second))
	}()
	for p.Stats().Busy == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = p.Execute(context.Background(), job(tool("", "\treturn \"\", nil\n"), time.Second))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, pool.ErrSaturated) {
			t.Fatalf("execution %d: %v", i, err)
		}
	}
	<-busy
}

// SB-73 (pool layer): a job whose memory_mb exceeds the remaining budget
// queues until the running one releases it.
func TestMemoryAdmissionQueues(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.MemoryBudgetMB, cfg.MaxMemoryMB = 300, 256
	p := newPool(t, cfg)
	first := make(chan pool.Outcome, 1)
	go func() {
		out, _ := p.Execute(context.Background(), job(tool("time", "\ttime.Sleep(300 * time.Millisecond)\n\treturn \"first\", nil\n"), 2*time.Second))
		first <- out
	}()
	for p.Stats().Busy == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	second := make(chan pool.Outcome, 1)
	go func() {
		out, _ := p.Execute(context.Background(), job(tool("", "\treturn \"second\", nil\n"), 2*time.Second))
		second <- out
	}()
	for p.Stats().Queued == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if s := p.Stats(); s.Busy != 1 {
		t.Fatalf("stats while queued %+v", s)
	}
	a, b := <-first, <-second
	if a.Result == nil || b.Result == nil || string(b.Result.JSON) != `"second"` {
		t.Fatalf("first %+v second %+v", a.Error, b.Error)
	}
}

// SB-74 (pool layer): an idle worker older than MaxIdle is replaced.
func TestIdleWorkerReplaced(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.MaxIdle = 300 * time.Millisecond
	p := newPool(t, cfg)
	waitReady(t, p)
	before := spawnCount(t, p)
	for end := time.Now().Add(10 * time.Second); spawnCount(t, p) < before+2; {
		if time.Now().After(end) {
			t.Fatal("idle worker never replaced")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spawnCount is the number of successful spawns (the spawn histogram's
// sample count).
func spawnCount(t testing.TB, p testPool) uint64 {
	t.Helper()
	mfs, err := p.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "mcpbox_sandbox_worker_spawn_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatal("no spawn histogram")
	return 0
}

// An HTTP call of a tool goes through the job's egress session to a
// loopback fixture, and the parent keeps its own record of the call.
// fixtureSession is an egress session for allowed host api.example.com,
// which the broker's fake resolver puts on a public address and its test
// dial connects to handler on loopback (no test leaves loopback).
func fixtureSession(t *testing.T, handler http.Handler) *egress.Session {
	t.Helper()
	return fixtureBrokerSession(t, fixtureBroker(t, handler), "api.example.com")
}

// fixtureBroker is a broker whose fake resolver puts every host on a public
// address and whose test dial connects that address to handler on loopback.
func fixtureBroker(t *testing.T, handler http.Handler) *egress.Broker {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	public := netip.MustParseAddr("93.184.216.34")
	dial := func(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
		if ap.Addr() != public {
			return nil, errors.New("no route")
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
	}
	b, err := egress.New(egress.Config{}, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		egress.WithResolver(staticResolver{public}), egress.WithTestDial(dial))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureBrokerSession is a tool session of b allowing hosts.
func fixtureBrokerSession(t *testing.T, b *egress.Broker, hosts ...string) *egress.Session {
	t.Helper()
	allow, err := egress.ParseHosts(append([]string{}, hosts...), "allowed_hosts")
	if err != nil {
		t.Fatal(err)
	}
	s := b.NewSession(allow, egress.SourceTool, egress.ToolLimits())
	t.Cleanup(s.Close)
	return s
}

func TestHTTPThroughEgress(t *testing.T) {
	t.Parallel()
	s := fixtureSession(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "fixture says hi")
	}))

	p := newPool(t, testConfig(t))
	j := job(tool("mcpbox", "\tr, err := mcpbox.HTTP.Get(ctx, \"http://api.example.com/x\", nil)\n"+
		"\tif err != nil {\n\t\treturn \"\", err\n\t}\n\treturn r.Text(), nil\n"), 2*time.Second)
	j.Egress = s
	out := exec(t, p, j)
	if out.Result == nil || string(out.Result.JSON) != `"fixture says hi"` {
		t.Fatalf("result %+v error %+v", out.Result, out.Error)
	}
	if len(out.Calls) != 1 || out.Calls[0].Status != 200 || out.Calls[0].Preview != "fixture says hi" {
		t.Fatalf("calls %+v", out.Calls)
	}

	// A host outside allowed_hosts is refused by the broker; the record
	// holds the refusal.
	j = job(tool("mcpbox", "\t_, err := mcpbox.HTTP.Get(ctx, \"http://other.example.com/\", nil)\n"+
		"\treturn \"\", err\n"), 2*time.Second)
	j.Egress = s
	out = exec(t, p, j)
	var be *egress.BlockedError
	if len(out.Calls) != 1 || !errors.As(out.Calls[0].Err, &be) {
		t.Fatalf("calls %+v", out.Calls)
	}
	if out.Result == nil || out.Result.Error == nil || out.Result.Error.HTTPID != 1 {
		t.Fatalf("result %+v", out.Result)
	}
}

type staticResolver struct{ addr netip.Addr }

func (r staticResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{r.addr}, nil
}

// BenchmarkExecuteTrivial runs one trivial tool per op on a warm pool.
func BenchmarkExecuteTrivial(b *testing.B) {
	cfg := testConfig(b)
	cfg.Warm = 4
	p := newPool(b, cfg)
	waitReady(b, p)
	j := job(tool("", "\treturn \"ok\", nil\n"), 5*time.Second)
	b.ResetTimer()
	for b.Loop() {
		out, err := p.Execute(context.Background(), j)
		if err != nil || out.Result == nil || !out.Result.OK {
			b.Fatalf("err %v error %+v", err, out.Error)
		}
	}
}
