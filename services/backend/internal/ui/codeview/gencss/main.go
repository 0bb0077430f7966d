// Command gencss writes the admin UI's code.css from codeview.CSS (admin-ui.md
// §2). Run it from services/backend:
//
//	go run ./internal/ui/codeview/gencss
//
// A codeview test fails while the committed file differs from what this
// writes.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mcpbox/mcpbox/services/backend/internal/ui/codeview"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gencss:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gencss", flag.ContinueOnError)
	out := fs.String("o", "internal/ui/static/code.css", "file to write (relative to services/backend)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	css, err := codeview.CSS()
	if err != nil {
		return err
	}
	return os.WriteFile(*out, css, 0o644) //nolint:gosec // G306: a committed stylesheet, world-readable like the rest of the tree
}
