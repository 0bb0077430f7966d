package worker

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/traefik/yaegi/interp"

	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue/symbols"
)

func echoJob(b *testing.B) Job {
	b.Helper()
	code, err := os.ReadFile("testdata/bench/echo.go")
	if err != nil {
		b.Fatal(err)
	}
	return Job{Mode: ModeRun, Code: string(code), InputType: "Input", Arguments: json.RawMessage(`{"name":"gopher"}`), Timeout: 10 * time.Second}
}

// BenchmarkRunTrivialTool measures interpreter set-up plus one run of the
// trivial tool (sandbox.md §16), then each phase on its own.
func BenchmarkRunTrivialTool(b *testing.B) {
	job := echoJob(b)
	ctx := context.Background()
	b.Run("total", func(b *testing.B) { // Prepare + Prepared.Run
		for b.Loop() {
			if r := Run(ctx, job); !r.OK {
				b.Fatal(r.Error)
			}
		}
	})
	paths, err := Paths(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("symbols.Exports(default tier)", func(b *testing.B) {
		for b.Loop() {
			if _, err := symbols.Exports(paths...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("interp.New", func(b *testing.B) {
		for b.Loop() {
			_ = interp.New(interp.Options{GoPath: "/", SourcecodeFilesystem: noFS{}})
		}
	})
	b.Run("Prepare", func(b *testing.B) { // interp.New
		for b.Loop() {
			if _, err := Prepare(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("job", func(b *testing.B) { // after Prepare: the imports' maps and mcpbox, compile, harness, Main
		for b.Loop() {
			b.StopTimer()
			p, err := Prepare()
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := p.load(job, []string{"context"}); err != nil {
				b.Fatal(err)
			}
			if err := p.i.Use(harnessExports(ctx, job.Arguments)); err != nil {
				b.Fatal(err)
			}
			i := p.i
			if _, err := i.EvalWithContext(ctx, "//line "+toolFile+":1:1\n"+job.Code); err != nil {
				b.Fatal(err)
			}
			if _, err := i.EvalWithContext(ctx, harness(job.InputType)); err != nil {
				b.Fatal(err)
			}
			v, err := i.EvalWithContext(ctx, "main.mcpboxRun()")
			if err != nil {
				b.Fatal(err)
			}
			if r := outcome(v); !r.OK {
				b.Fatal(r.Error)
			}
		}
	})
}
