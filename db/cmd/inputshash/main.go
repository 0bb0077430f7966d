// Command inputshash writes or checks db/dbq/INPUTS.sha256, the record of
// what `sqlc generate` read and wrote (spec/operations.md §1.4). Run it in the
// db module directory:
//
//	go run ./cmd/inputshash write   # after sqlc generate (make generate)
//	go run ./cmd/inputshash check   # exit 1 naming each stale file
//
// Flags: -dir (the db module, default ".") and -tools-mod (the go.mod that
// pins sqlc, default "<dir>/../tools/go.mod"). It never runs sqlc.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mcpbox/mcpbox/db/internal/inputshash"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("inputshash", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("dir", ".", "the db module directory")
	toolsMod := fl.String("tools-mod", "", "the go.mod pinning sqlc (default <dir>/../tools/go.mod)")
	fl.Usage = func() {
		_, _ = fmt.Fprintln(stderr, "usage: inputshash [-dir d] [-tools-mod f] write|check")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return 2
	}
	if *toolsMod == "" {
		*toolsMod = filepath.Join(*dir, "..", "tools", "go.mod")
	}
	switch fl.Arg(0) {
	case "write":
		if err := inputshash.Write(*dir, *toolsMod); err != nil {
			_, _ = fmt.Fprintln(stderr, "inputshash:", err)
			return 1
		}
		return 0
	case "check":
		stale, err := inputshash.Check(*dir, *toolsMod)
		if err != nil {
			_, _ = fmt.Fprintln(stderr, "inputshash:", err)
			return 1
		}
		if len(stale) == 0 {
			return 0
		}
		_, _ = fmt.Fprintln(stdout, "db/dbq is stale; run make generate. Changed since the last generate (in db/):")
		for _, name := range stale {
			_, _ = fmt.Fprintln(stdout, "  "+name)
		}
		return 1
	default:
		fl.Usage()
		return 2
	}
}
