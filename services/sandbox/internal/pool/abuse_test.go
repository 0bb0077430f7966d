package pool_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// rawTool is a whole tool file: package-level code is part of the case.
func rawTool(imports, decls, body string) string {
	src := "package tool\n\nimport (\n\t\"context\"\n"
	for _, imp := range strings.Fields(imports) {
		src += "\t\"" + imp + "\"\n"
	}
	return src + ")\n\n" + decls + "\ntype Input struct{}\n\nfunc Main(ctx context.Context, in Input) (string, error) {\n" + body + "}\n"
}

// CPU, time and memory abuse at the pool layer (sandbox.md §18): each case
// ends with one of the allowed error types, on time, and the pool keeps
// serving.
func TestAbuseIsContained(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	cases := []struct {
		name   string
		code   string
		memory int
		want   []proto.SandboxErrorType
	}{
		// SB-2 (pool layer): an endless loop in a package-level initialiser.
		{
			"initialiser loop", rawTool("", "var x = spin()\n\nfunc spin() int {\n\tfor {\n\t}\n}\n", "\t_ = x\n\treturn \"\", nil\n"), 256,
			[]proto.SandboxErrorType{proto.ErrTypeTimeout},
		},
		// SB-3 (pool layer): an endless loop in init().
		{
			"init loop", rawTool("", "func init() {\n\tfor {\n\t}\n}\n", "\treturn \"\", nil\n"), 256,
			[]proto.SandboxErrorType{proto.ErrTypeTimeout},
		},
		// SB-6 (pool layer): native blocks the interpreter cannot cancel.
		{
			"double lock", rawTool("sync", "", "\tvar mu sync.Mutex\n\tmu.Lock()\n\tmu.Lock()\n\treturn \"\", nil\n"), 256,
			[]proto.SandboxErrorType{proto.ErrTypeTimeout},
		},
		{
			"wait forever", rawTool("sync", "", "\tvar wg sync.WaitGroup\n\twg.Add(1)\n\twg.Wait()\n\treturn \"\", nil\n"), 256,
			[]proto.SandboxErrorType{proto.ErrTypeTimeout},
		},
		// SB-13 (pool layer): a huge string.
		{
			"huge repeat", rawTool("strings", "", "\treturn strings.Repeat(\"x\", 1<<36)[:1], nil\n"), 128,
			[]proto.SandboxErrorType{proto.ErrTypeMemoryLimitExceeded},
		},
		// SB-15 (pool layer): a map that never stops growing.
		{
			"map growth", rawTool("", "", "\tm := map[int]int{}\n\tfor i := 0; i < 1000000000; i++ {\n\t\tm[i] = i\n\t}\n\treturn \"\", nil\n"), 128,
			[]proto.SandboxErrorType{proto.ErrTypeMemoryLimitExceeded, proto.ErrTypeTimeout},
		},
		// SB-17 (pool layer): a gzip bomb built and inflated in memory.
		{
			"gzip bomb", rawTool("bytes compress/gzip io", "", "\tvar buf bytes.Buffer\n\tzw := gzip.NewWriter(&buf)\n\tzero := make([]byte, 1<<20)\n"+
				"\tfor i := 0; i < 4096; i++ {\n\t\t_, _ = zw.Write(zero)\n\t}\n\t_ = zw.Close()\n\tzr, err := gzip.NewReader(&buf)\n\tif err != nil {\n\t\treturn \"\", err\n\t}\n"+
				"\tall, err := io.ReadAll(zr)\n\treturn string(all[:1]), err\n"), 128,
			[]proto.SandboxErrorType{proto.ErrTypeMemoryLimitExceeded, proto.ErrTypeTimeout},
		},
		// SB-16 (pool layer): unbounded interpreted recursion.
		{
			"recursion", rawTool("", "func down(n int) int {\n\treturn down(n+1) + 1\n}\n", "\treturn string(rune(down(0))), nil\n"), 128,
			[]proto.SandboxErrorType{proto.ErrTypeStackOverflow, proto.ErrTypeMemoryLimitExceeded},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := job(tc.code, 2*time.Second)
			j.MemoryMB = tc.memory
			if strings.Contains(tc.code, "compress/gzip") {
				j.ExtraPackages = []string{"compress/gzip"}
			}
			start := time.Now()
			out := exec(t, p, j)
			if out.Error == nil || !slices.Contains(tc.want, out.Error.Type) {
				t.Fatalf("want one of %v, got error %+v result %+v", tc.want, out.Error, out.Result)
			}
			if d := time.Since(start); d > 2*time.Second+time.Second+2*time.Second { // timeout + 1 s, plus a 2 s polling allowance under -race
				t.Errorf("took %s", d)
			}
			if out.PID > 0 && !gone(out.PID) {
				t.Errorf("worker %d still exists", out.PID)
			}
		})
	}
}

// SB-14 (pool layer): a million sleeping goroutines end as a memory or
// thread limit, never as a timeout: the 10 s timeout is far beyond the
// ≈ 1 s the flood needs to pass 128 MiB.
func TestSB14_GoroutineFloodHitsALimit(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	j := job(rawTool("time", "", "\tfor i := 0; i < 1000000; i++ {\n\t\tgo func() { time.Sleep(time.Hour) }()\n\t}\n\treturn \"\", nil\n"), 10*time.Second)
	j.MemoryMB = 128
	out := exec(t, p, j)
	if out.Error == nil || (out.Error.Type != proto.ErrTypeMemoryLimitExceeded && out.Error.Type != proto.ErrTypeThreadLimitExceeded) {
		t.Fatalf("want MemoryLimitExceeded or ThreadLimitExceeded, got error %+v result %+v", out.Error, out.Result)
	}
	if out.PID > 0 && !gone(out.PID) {
		t.Errorf("worker %d still exists", out.PID)
	}
}

// SB-7 (pool layer): Main returns while goroutines spin: the result comes
// back at once and the worker is gone afterwards.
func TestReturnWhileGoroutinesSpin(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	code := rawTool("", "", "\tfor i := 0; i < 4; i++ {\n\t\tgo func() {\n\t\t\tfor {\n\t\t\t}\n\t\t}()\n\t}\n\treturn \"done\", nil\n")
	start := time.Now()
	out := exec(t, p, job(code, 5*time.Second))
	if out.Result == nil || !out.Result.OK || string(out.Result.JSON) != `"done"` {
		t.Fatalf("result %+v error %+v", out.Result, out.Error)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the result waited for the goroutines: %s", d)
	}
	deadline := time.Now().Add(2 * time.Second)
	for out.PID > 0 && !gone(out.PID) {
		if time.Now().After(deadline) {
			t.Fatalf("worker %d still runs after returning its result", out.PID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SB-8 (pool layer): busy goroutines end with the deadline or RLIMIT_CPU,
// and the worker's CPU time stays within WORKER_PROCS × wall time.
func TestBusyGoroutinesAreBounded(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	p := newPool(t, cfg)
	code := rawTool("", "", "\tfor i := 0; i < 8; i++ {\n\t\tgo func() {\n\t\t\tfor {\n\t\t\t}\n\t\t}()\n\t}\n\tfor {\n\t}\n")
	start := time.Now()
	out := exec(t, p, job(code, 2*time.Second))
	wall := time.Since(start)
	if out.Error == nil || (out.Error.Type != proto.ErrTypeTimeout && out.Error.Type != proto.ErrTypeCPULimitExceeded) {
		t.Fatalf("error %+v", out.Error)
	}
	if limit := int64(cfg.WorkerProcs)*wall.Milliseconds() + 100; out.Worker.CPUMS > limit {
		t.Errorf("CPU %d ms > %d procs × %s wall", out.Worker.CPUMS, cfg.WorkerProcs, wall)
	}
}

// SB-10 (pool layer): Main blocked in mcpbox.HTTP.Get on a slow-drip server
// ends as Timeout on time.
func TestSlowDripHTTPTimesOut(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	s := fixtureSession(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				_, _ = w.Write([]byte("."))
				http.NewResponseController(w).Flush() //nolint:errcheck // best effort drip
			}
		}
	}))
	t.Cleanup(func() { close(stop) })
	p := newPool(t, testConfig(t))
	j := job(tool("mcpbox", "\tr, err := mcpbox.HTTP.Get(ctx, \"http://api.example.com/drip\", nil)\n"+
		"\tif err != nil {\n\t\treturn \"\", err\n\t}\n\treturn r.Text(), nil\n"), 2*time.Second)
	j.Egress = s
	start := time.Now()
	out := exec(t, p, j)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s for a 2 s timeout", d)
	}
	if out.Error == nil || out.Error.Type != proto.ErrTypeTimeout {
		t.Fatalf("want Timeout, got error %+v result %+v", out.Error, out.Result)
	}
}

// SB-22 (pool layer): a runtime crash dump larger than the stderr tail is
// capped at 64 KiB in the parent; the panic still classifies.
func TestCrashDumpIsCapped(t *testing.T) {
	t.Parallel()
	p := newPool(t, testConfig(t))
	code := tool("strings time", "\tgo func() { panic(strings.Repeat(\"x\", 300000)) }()\n\ttime.Sleep(time.Second)\n\treturn \"\", nil\n")
	out := exec(t, p, job(code, 2*time.Second))
	wantError(t, out, proto.ErrTypePanic)
	if n := len(out.Error.Message); n > 64<<10 {
		t.Errorf("panic message of %d bytes passed the 64 KiB stderr cap", n)
	}
	if !strings.Contains(out.Error.Message, "xxxx") {
		t.Errorf("message lost the panic value: %.200q", out.Error.Message)
	}
}
