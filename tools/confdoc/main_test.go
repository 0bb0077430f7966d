package main

import (
	"strings"
	"testing"
)

// OPS-10 (README part): a stale configuration table is detected and named.
func TestOPS10_SpliceNamesStaleTables(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for _, svc := range services() {
		b.WriteString("## " + svc + "\n<!-- BEGIN config-doc " + svc + " -->\n| old |\n<!-- END config-doc " + svc + " -->\n")
	}
	tables := map[string]string{"backend": "| old |\n", "gateway": "| new |\n", "sandbox": "| old |\n", "edge": "| old |\n"}
	out, stale, err := Splice([]byte(b.String()), tables)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) != 1 || stale[0] != "gateway" || !strings.Contains(string(out), "config-doc gateway -->\n| new |\n<!--") {
		t.Fatalf("stale = %v\n%s", stale, out)
	}
	again, stale, _ := Splice(out, tables)
	if len(stale) != 0 || string(again) != string(out) {
		t.Errorf("second splice changed something: %v", stale)
	}
	if _, _, err := Splice([]byte("no markers"), tables); err == nil || !strings.Contains(err.Error(), "BEGIN config-doc backend") {
		t.Errorf("missing markers: %v", err)
	}
}
