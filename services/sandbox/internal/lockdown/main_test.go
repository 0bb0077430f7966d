package lockdown

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// parentSimArg runs the test binary as a stand-in parent holding a token
// in its environment: it hardens itself (or not), then runs the
// parent_environ probe in a child and prints the result.
const parentSimArg = "__parentsim"

// TestMain dispatches the roles of sandbox.md §2: the test binary is its own
// probe child, so every probe runs in a real process.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case SelfTestArg:
			os.Exit(SelfTestMain(os.Args[2:], os.Stdout))
		case parentSimArg:
			os.Exit(parentSim(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

func parentSim(args []string) int {
	if len(args) == 1 && args[0] == "harden" {
		if err := HardenParent(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return 1
	}
	res, err := RunProbe(context.Background(), exe, "parent_environ")
	if err != nil {
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 1
	}
	return 0
}

// testExe is the probe executable: this test binary.
func testExe(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}
