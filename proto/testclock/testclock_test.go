package testclock_test

import (
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/testclock"
)

func TestAdvance(t *testing.T) {
	t.Parallel()
	c := testclock.New()
	start := c.Now()
	c.Advance(90 * time.Second)
	if got := c.Now().Sub(start); got != 90*time.Second {
		t.Fatalf("advanced %s", got)
	}
}
