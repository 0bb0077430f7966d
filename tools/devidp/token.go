package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/tools/devidp/internal/idpapi"
	"github.com/mcpbox/mcpbox/tools/devidp/internal/keyring"
	"github.com/mcpbox/mcpbox/tools/devidp/internal/mint"
)

// listFlag collects a repeatable, comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// token prints one access token: minted by the server on --addr when it runs, else signed directly with
// the key in --state (the issuer is then http://<addr>, which is what the server would use).
func token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devidp token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "", "subject (required)")
	email := fs.String("email", "", "email claim; email_verified is true when set")
	scope := fs.String("scope", "", "scope claim, space separated")
	ttl := fs.Duration("ttl", mint.DefaultTTL, "lifetime; negative for an expired token")
	addr := fs.String("addr", defaultAddr, "address of a running devidp")
	state := fs.String("state", defaultState, "state directory, used when no server answers on --addr")
	offline := fs.Bool("offline", false, "sign from --state without asking the server")
	var aud listFlag
	fs.Var(&aud, "aud", "audience, repeatable or comma separated (default "+mint.DefaultAudience+")")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("token: unexpected argument %q", fs.Arg(0))}
	}
	if *sub == "" {
		return usageError{errors.New("token: --sub is required")}
	}
	if err := requireLoopback(*addr); err != nil {
		return usageError{err}
	}
	req := mint.Request{Sub: *sub, Email: *email, Scope: *scope, TTL: *ttl, Aud: mint.DefaultAudience}
	if *email != "" {
		req.EmailVerified = true
	}
	switch len(aud) {
	case 0:
	case 1:
		req.Aud = aud[0]
	default:
		req.Aud = []string(aud)
	}

	if !*offline {
		tok, err := fromServer(ctx, *addr, req)
		if err == nil {
			_, err = fmt.Fprintln(stdout, tok)
			return err
		}
		if !isUnreachable(err) {
			return err
		}
	}
	ring, err := keyring.Open(*state)
	if err != nil {
		return err
	}
	tok, _, err := idpapi.Issue(ring, "http://"+*addr, time.Now(), req)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

func fromServer(ctx context.Context, addr string, req mint.Request) (string, error) {
	body := map[string]any{"sub": req.Sub, "aud": req.Aud, "ttl": req.TTL.String()}
	if req.Email != "" {
		body["email"] = req.Email
	}
	if req.Scope != "" {
		body["scope"] = req.Scope
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("encode request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/dev/token", bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(hr)
	if err != nil {
		return "", fmt.Errorf("ask devidp on %s: %w", addr, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read devidp answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("devidp on %s answered %s: %s", addr, resp.Status, bytes.TrimSpace(data))
	}
	var tr idpapi.TokenResponse
	if err := json.Unmarshal(data, &tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("devidp on %s answered an unexpected body: %s", addr, bytes.TrimSpace(data))
	}
	return tr.AccessToken, nil
}

// isUnreachable reports an error that means no server is listening, as opposed to one that answered.
func isUnreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
