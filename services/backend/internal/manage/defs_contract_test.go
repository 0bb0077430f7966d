package manage

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mcpbox/mcpbox/proto"
)

// TestOperationsMatchManagementToolDefs is the contract between the
// dispatch table and the definitions in proto (gateway.md §10.1): every
// served operation accepts exactly the properties of its tool's input
// schema, and the served operations plus the two gateway tools are the 30
// management tools.
func TestOperationsMatchManagementToolDefs(t *testing.T) {
	t.Parallel()
	ops := (&Service{}).operations()
	covered := map[proto.ManagementTool]bool{}
	for tool, op := range ops {
		covered[tool] = true
		if !tool.Valid() {
			t.Errorf("the backend serves %s, which is not a management tool", tool)
			continue
		}
		if tool.ServedByGateway() {
			t.Errorf("the backend serves %s, which the gateway serves itself", tool)
		}
		var schema struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(tool.Def().InputSchema, &schema); err != nil {
			t.Fatalf("%s: input schema: %v", tool, err)
		}
		var props []string
		for name := range schema.Properties {
			props = append(props, name)
		}
		args := slices.Clone(op.args)
		slices.Sort(props)
		slices.Sort(args)
		if diff := cmp.Diff(args, props, cmp.Transformer("empty", func(s []string) []string {
			if s == nil {
				return []string{}
			}
			return s
		})); diff != "" {
			t.Errorf("%s: accepted arguments (-) differ from the schema's properties (+):\n%s", tool, diff)
		}
	}
	for _, tool := range proto.ManagementTools() {
		if tool.ServedByGateway() {
			covered[tool] = true
		}
	}
	for _, tool := range proto.ManagementTools() {
		if !covered[tool] {
			t.Errorf("%s is served by neither the backend nor the gateway", tool)
		}
	}
	if len(covered) != len(proto.ManagementTools()) || len(covered) != 30 {
		t.Errorf("backend operations plus gateway tools are %d tools, want the 30 management tools", len(covered))
	}
}
