package lifecycle_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/lifecycle"
)

func TestServiceDispatch(t *testing.T) {
	t.Parallel()
	var got []string
	record := func(name string) lifecycle.Command {
		return func(_ context.Context, args, _ []string, _ io.Writer) error {
			got = append(got, name+":"+strings.Join(args, ","))
			return nil
		}
	}
	svc := lifecycle.Service{
		ConfigDoc: func() string { return "| table |\n" }, HealthAddr: func(func(string) string) string { return "127.0.0.1:1" },
		Serve: record("serve"), Extra: map[string]lifecycle.Command{"migrate": record("migrate")},
	}
	ctx := context.Background()
	var out bytes.Buffer
	for _, args := range [][]string{nil, {"serve"}, {"migrate", "down", "--force"}, {"config-doc"}} {
		if err := svc.Run(ctx, args, nil, &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	if strings.Join(got, " ") != "serve: serve: migrate:down,--force" || out.String() != "| table |\n" {
		t.Errorf("dispatched %v, printed %q", got, out.String())
	}
	err := svc.Run(ctx, []string{"serv"}, nil, &out)
	if err == nil || !strings.Contains(err.Error(), `unknown command "serv" (want one of config-doc, healthcheck, migrate, serve)`) {
		t.Errorf("unknown command: %v", err)
	}
	if err := svc.Run(ctx, []string{"healthcheck"}, nil, &out); err == nil {
		t.Error("healthcheck of nothing listening passed")
	}
}
