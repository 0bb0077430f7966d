package pool_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/pool"
)

// SB-65: 64 parallel executions of 8 tools with distinct secrets and
// policies. Each response holds only its own secret-derived marker and
// stdout; the tools with allowed_hosts [] are refused the host that the
// others hold open connections to at the same time (the fixture answers
// after 200 ms, so calls overlap).
func TestSB65_ParallelExecutionsOfEightTools(t *testing.T) {
	t.Parallel()
	var open sync.WaitGroup
	broker := fixtureBroker(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		open.Add(1)
		defer open.Done()
		time.Sleep(200 * time.Millisecond)
		_, _ = w.Write([]byte("ok"))
	}))
	cfg := testConfig(t)
	cfg.Warm, cfg.MaxConcurrent, cfg.QueueMax, cfg.QueueWait = 4, 8, 64, 60*time.Second
	p := newPool(t, cfg)

	const tools, runs = 8, 64
	code := make([]string, tools)
	for k := range tools {
		// Distinct code per tool; each reads its secret, prints a marker and
		// calls the shared host.
		code[k] = tool("fmt mcpbox", fmt.Sprintf("\tconst toolID = %d\n", k)+
			"\tm := mcpbox.Secret(\"KEY\")[:7]\n\tfmt.Println(\"marker\", m, toolID)\n"+
			"\tr, err := mcpbox.HTTP.Get(ctx, \"http://api.example.com/\", nil)\n"+
			"\tif err != nil {\n\t\treturn m + \"|refused\", nil\n\t}\n\treturn m + \"|\" + r.Text(), nil\n")
	}
	errs := make(chan error, runs)
	for i := range runs {
		go func() {
			k := i % tools
			secret := fmt.Sprintf("mk-%04d-%s", i, strings.Repeat("s", 12))
			j := job(code[k], 30*time.Second)
			j.Secrets = map[string]*string{"KEY": &secret}
			if k%2 == 0 {
				j.Egress = fixtureBrokerSession(t, broker, "api.example.com")
			} else {
				j.Egress = fixtureBrokerSession(t, broker)
			}
			out, err := p.Execute(context.Background(), j)
			errs <- checkParallel(i, k, out, err)
		}()
	}
	for range runs {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	open.Wait()
}

// checkParallel checks one SB-65 execution: its own marker in the result
// and stdout, nobody else's, and the policy of its tool.
func checkParallel(i, k int, out pool.Outcome, err error) error {
	if err != nil {
		return fmt.Errorf("execution %d: %w", i, err)
	}
	if out.Result == nil || !out.Result.OK {
		return fmt.Errorf("execution %d: result %+v error %+v", i, out.Result, out.Error)
	}
	mine := fmt.Sprintf("mk-%04d", i)
	want := `"` + mine + `|ok"`
	if k%2 == 1 {
		want = `"` + mine + `|refused"`
		var be *egress.BlockedError
		if len(out.Calls) != 1 || !errors.As(out.Calls[0].Err, &be) {
			return fmt.Errorf("execution %d (allowed_hosts []): calls %+v", i, out.Calls)
		}
	} else if len(out.Calls) != 1 || out.Calls[0].Status != 200 {
		return fmt.Errorf("execution %d: calls %+v", i, out.Calls)
	}
	if string(out.Result.JSON) != want || string(out.Stdout) != fmt.Sprintf("marker %s %d\n", mine, k) {
		return fmt.Errorf("execution %d: result %s stdout %q", i, out.Result.JSON, out.Stdout)
	}
	return nil
}
