// Command devidp is the developer identity provider of `make run` and the end-to-end tests (edge.md §18):
// an OIDC discovery document and a JWKS on a loopback address, RS256 access tokens for the edge, and key
// rotation on demand. It has no login; clients send its tokens as a header.
//
//	devidp serve [--addr 127.0.0.1:9400] [--state .data/devidp]
//	devidp token --sub S [--email E] [--aud URL]... [--scope S] [--ttl 12h] [--addr A] [--state DIR] [--offline]
//	devidp rotate [--retire-previous] [--addr A]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devidp:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError marks a bad command line (exit status 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

const usage = `usage:
  devidp serve [--addr 127.0.0.1:9400] [--state .data/devidp]
  devidp token --sub S [--email E] [--aud URL]... [--scope S] [--ttl 12h] [--addr 127.0.0.1:9400] [--state .data/devidp] [--offline]
  devidp rotate [--retire-previous] [--addr 127.0.0.1:9400]`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New(usage)}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "token":
		return token(ctx, args[1:], stdout, stderr)
	case "rotate":
		return rotate(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		_, err := fmt.Fprintln(stdout, usage)
		return err
	}
	return usageError{fmt.Errorf("unknown command %q\n%s", args[0], usage)}
}
