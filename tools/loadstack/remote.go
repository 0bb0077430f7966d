package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Dev ports of the listeners loadstack reaches besides those the banner names (tools/devstack/internal/settings
// Defaults); the stack runs them at port + -port-offset.
const (
	devPortSandbox         = 8001 // the sandbox's listener, /metrics included
	devPortGatewayLocal    = 8002 // the gateway's local listener, /metrics included
	devPortBackendInternal = 8004 // the backend's internal listener, /metrics included
	devPortEdgeAdmin       = 9080 // the edge's admin listener, /metrics
	devPortDevIDP          = 9400 // devidp, POST /dev/token
)

// loopbackURL is http://127.0.0.1:<dev port + offset><path>.
func loopbackURL(devPort, offset int, path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(devPort+offset) + path
}

// maxUsers is the most remote users: the emails mode of remote_email_allowlist holds at most 100 addresses
// (backend.md §6.6).
const maxUsers = 100

// remoteRPM is the gateway's per-user limit for the edge runs: the highest mcp_rate_limit_rpm (backend.md §6.6),
// 166 calls a second per user. The edge runs spread their requests over -users users so the limit is not what they
// measure.
const remoteRPM = 10000

// edgeLimitsEnv lifts the edge's per-IP and per-subject token buckets (edge.md §13: 50/s and 10/s by default),
// which every request of a benchmark on one machine would otherwise share.
func edgeLimitsEnv() []string {
	return []string{
		"MCPBOX_EDGE_IP_RPS=100000", "MCPBOX_EDGE_IP_BURST=100000",
		"MCPBOX_EDGE_SUBJECT_RPS=100000", "MCPBOX_EDGE_SUBJECT_BURST=100000",
	}
}

// remoteUser is the i-th remote user of a run (1-based): its subject and email.
func remoteUser(i int) (sub, email string) {
	sub = "bench-" + strconv.Itoa(i)
	return sub, sub + "@example.com"
}

// remoteEmails lists the emails of n users.
func remoteEmails(n int) []string {
	out := make([]string, n)
	for i := range out {
		_, out[i] = remoteUser(i + 1)
	}
	return out
}

// allowRemote puts the users' emails on the remote allowlist and sets the per-user limit to remoteRPM
// (PATCH /api/v1/settings/security-policy).
func (a *admin) allowRemote(ctx context.Context, emails []string) error {
	return a.do(ctx, http.MethodPatch, "/api/v1/settings/security-policy", map[string]any{
		"remote_email_allowlist": map[string]any{"mode": "emails", "values": emails},
		"mcp_rate_limit_rpm":     remoteRPM,
	}, nil)
}

// mintTokens asks devidp (POST /dev/token) for one access token per user, for the audience aud (the edge's
// public /mcp URL); devidp's tokens last 12 hours and carry email_verified.
func mintTokens(ctx context.Context, idp, aud string, users int) ([]string, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	out := make([]string, users)
	for i := range out {
		sub, email := remoteUser(i + 1)
		body, err := json.Marshal(map[string]string{"sub": sub, "email": email, "aud": aud})
		if err != nil {
			return nil, fmt.Errorf("devidp token request: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, idp+"/dev/token", bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("POST %s/dev/token: %w", idp, err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("POST %s/dev/token: %w", idp, err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("POST %s/dev/token: read: %w", idp, err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &tok) != nil || tok.AccessToken == "" {
			return nil, fmt.Errorf("POST %s/dev/token for %s: %d %s", idp, email, resp.StatusCode, truncate(string(b), 200))
		}
		out[i] = tok.AccessToken
	}
	return out, nil
}

// bearer is the Authorization header of token.
func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// waitRemote calls check through the edge as the first user until it succeeds: the allowlist reaches the gateway
// through the backend's event stream, so the first calls after the change may still be refused.
func waitRemote(ctx context.Context, edgeMCP, token string, check func(*seeder, context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last error
	for {
		mc, err := connectMCP(ctx, edgeMCP, bearer(token))
		if err == nil {
			err = check(&seeder{mcp: mc}, ctx)
			mc.close()
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("through the edge (%s) within 60 s: %w", edgeMCP, errors.Join(last, ctx.Err()))
		case <-time.After(500 * time.Millisecond):
		}
	}
}
