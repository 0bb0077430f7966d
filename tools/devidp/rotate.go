package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mcpbox/mcpbox/tools/devidp/internal/idpapi"
)

// rotate asks the running server for a new signing key (POST /dev/rotate), or with --retire-previous to
// stop publishing the previous one, and prints the server's answer.
func rotate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devidp rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultAddr, "address of the running devidp")
	retire := fs.Bool("retire-previous", false, "retire the previous key instead of rotating")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("rotate: unexpected argument %q", fs.Arg(0))}
	}
	if err := requireLoopback(*addr); err != nil {
		return usageError{err}
	}
	url := "http://" + *addr + "/dev/rotate"
	if *retire {
		url += "?retire=previous"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, http.NoBody)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("ask devidp on %s: %w", *addr, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read devidp answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("devidp on %s answered %s: %s", *addr, resp.Status, data)
	}
	var rr idpapi.RotateResponse
	if err := json.Unmarshal(data, &rr); err != nil {
		return fmt.Errorf("devidp on %s answered an unexpected body: %s", *addr, data)
	}
	switch {
	case rr.Retired != "":
		_, err = fmt.Fprintf(stdout, "retired %s; signing with %s\n", rr.Retired, rr.KeyID)
	default:
		_, err = fmt.Fprintf(stdout, "signing with %s; %s stays published until retired\n", rr.KeyID, rr.Previous)
	}
	return err
}
