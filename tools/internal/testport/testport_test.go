package testport_test

import (
	"testing"

	"github.com/mcpbox/mcpbox/tools/internal/testport"
)

func TestPortsAreDistinctAndOutsideTheEphemeralRange(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for range 50 {
		p := testport.Port(t)
		if p < 26000 || p >= 32000 || seen[p] {
			t.Fatalf("port %d (seen before: %v)", p, seen[p])
		}
		seen[p] = true
	}
}
