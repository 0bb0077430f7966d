package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the suite, then EDGE-84: the captured logs of every edge
// the suite started contain no token fragment (any 16-byte window of any
// token minted), no Authorization or Cookie value, no service token and no
// query string.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leak := suite.leaks(); leak != "" {
			fmt.Fprintln(os.Stderr, "EDGE-84: the edge logged", leak)
			code = 1
		}
	}
	os.Exit(code)
}
