package worker_test

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/worker"
)

const logTool = "package tool\n\nimport (\n\t\"context\"\n\t\"log\"\n)\n\ntype Input struct{ Fail bool `json:\"fail\"` }\n\n" +
	"// Main logs.\nfunc Main(ctx context.Context, in Input) (string, error) {\n\tlog.SetFlags(0)\n\tlog.Println(\"hello from log\")\n" +
	"\tif in.Fail {\n\t\tlog.Fatal(\"giving up\")\n\t}\n\treturn \"done\", nil\n}\n"

// The opt-in log package writes to the captured stdout; log.Fatal is never
// a success (SB-30, in-process).
func TestOptInLog(t *testing.T) {
	t.Parallel()
	ok := run(t, worker.Job{Code: logTool, InputType: "Input", Arguments: []byte(`{}`), ExtraPackages: []string{"log"}})
	if !ok.OK || string(ok.JSON) != `"done"` || string(ok.Stdout) != "hello from log\n" {
		t.Fatalf("log tool: %+v stdout %q", ok.Error, ok.Stdout)
	}
	fatal := run(t, worker.Job{Code: logTool, InputType: "Input", Arguments: []byte(`{"fail":true}`), ExtraPackages: []string{"log"}})
	if fatal.OK || fatal.Error == nil || fatal.Error.Type != proto.ErrTypePanic || !strings.Contains(fatal.Error.Message, "giving up") {
		t.Fatalf("log.Fatal: ok %v error %+v", fatal.OK, fatal.Error)
	}
	if !strings.Contains(string(fatal.Stdout), "giving up") {
		t.Errorf("the fatal message is not in stdout: %q", fatal.Stdout)
	}
	// Without the approval the import does not compile.
	none := run(t, worker.Job{Code: logTool, InputType: "Input", Arguments: []byte(`{}`)})
	if none.OK {
		t.Error("log compiled without being approved")
	}
}
