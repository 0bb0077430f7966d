package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The load run's admin account, created with the stack's setup code.
const (
	adminUser     = "load_admin"
	adminPassword = "load-admin-password-42"
)

// maxBulk is the most items of one POST /api/v1/approvals/bulk (backend.md §8.2).
const maxBulk = 100

// admin speaks the backend's REST API (backend.md §7–§8) with a token-mode access token, as a script would.
type admin struct {
	base  string // http://127.0.0.1:18000
	token string
	http  *http.Client
}

// apiError is a non-2xx answer of the REST API.
type apiError struct {
	method, path string
	status       int
	body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, truncate(e.body, 300))
}

// newAdmin creates the first admin with the setup code and logs in in token mode.
func newAdmin(ctx context.Context, base, setupCode string) (*admin, error) {
	a := &admin{base: base, http: &http.Client{Timeout: 60 * time.Second}}
	err := a.do(ctx, http.MethodPost, "/api/v1/auth/setup",
		map[string]string{"username": adminUser, "password": adminPassword, "setup_code": setupCode}, nil)
	var apiErr *apiError
	if err != nil && (!errors.As(err, &apiErr) || apiErr.status != http.StatusConflict) { // 409: the admin exists
		return nil, err
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if err := a.do(ctx, http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": adminUser, "password": adminPassword, "mode": "token"}, &login); err != nil {
		return nil, err
	}
	if login.AccessToken == "" {
		return nil, errors.New("POST /api/v1/auth/login returned no access token")
	}
	a.token = login.AccessToken
	return a, nil
}

// do sends one request with an optional JSON body and decodes a 2xx answer into out. A 429 is retried after its
// Retry-After (the REST API limits requests per client, backend.md §7), at most five times.
func (a *admin) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		status, b, retry, err := a.send(ctx, method, path, body)
		if err != nil {
			return err
		}
		if status == http.StatusTooManyRequests && attempt < 5 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
			case <-time.After(retry):
			}
			continue
		}
		if status < 200 || status > 299 {
			return &apiError{method: method, path: path, status: status, body: string(b)}
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("%s %s: decode %s: %w", method, path, truncate(string(b), 200), err)
			}
		}
		return nil
	}
}

// send makes one attempt; retry is the Retry-After of a 429 (1 s when absent).
func (a *admin) send(ctx context.Context, method, path string, body []byte) (int, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	retry := time.Second
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 && n <= 60 {
		retry = time.Duration(n) * time.Second
	}
	return resp.StatusCode, b, retry, nil
}

// toolVersion is the latest version of a tool as the admin reviews it: its number and hash.
type toolVersion struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Hash    string `json:"hash"`
}

// approveLatest reads the tool's latest version and approves that number and hash
// (POST /api/v1/tools/{id}/approve {version, hash}).
func (a *admin) approveLatest(ctx context.Context, toolID string) error {
	var tool struct {
		Latest struct {
			Version int    `json:"version"`
			Hash    string `json:"hash"`
		} `json:"latest"`
	}
	path := "/api/v1/tools/" + url.PathEscape(toolID)
	if err := a.do(ctx, http.MethodGet, path, nil, &tool); err != nil {
		return err
	}
	if tool.Latest.Version < 1 || tool.Latest.Hash == "" {
		return fmt.Errorf("GET %s: no latest version and hash", path)
	}
	return a.do(ctx, http.MethodPost, path+"/approve",
		map[string]any{"version": tool.Latest.Version, "hash": tool.Latest.Hash}, nil)
}

// bulkItem is one item of POST /api/v1/approvals/bulk.
type bulkItem struct {
	Kind    string `json:"kind"`
	ID      string `json:"id"`
	Version int    `json:"version"`
	Hash    string `json:"hash"`
}

// bulkItems turns tool versions into approval items.
func bulkItems(tools []toolVersion) []bulkItem {
	items := make([]bulkItem, len(tools))
	for i, t := range tools {
		items[i] = bulkItem{Kind: "tool", ID: t.ID, Version: t.Version, Hash: t.Hash}
	}
	return items
}

// batches splits items into requests of at most size items.
func batches[T any](items []T, size int) [][]T {
	var out [][]T
	for len(items) > 0 {
		n := min(size, len(items))
		out = append(out, items[:n])
		items = items[n:]
	}
	return out
}

// approveAll approves every tool version in bulk, maxBulk per request; any item that fails is an error.
func (a *admin) approveAll(ctx context.Context, tools []toolVersion) error {
	for _, batch := range batches(bulkItems(tools), maxBulk) {
		var res struct {
			Results []struct {
				ID    string          `json:"id"`
				OK    bool            `json:"ok"`
				Error json.RawMessage `json:"error"`
			} `json:"results"`
		}
		if err := a.do(ctx, http.MethodPost, "/api/v1/approvals/bulk", map[string]any{"action": "approve", "items": batch}, &res); err != nil {
			return err
		}
		if len(res.Results) != len(batch) {
			return fmt.Errorf("POST /api/v1/approvals/bulk: %d results for %d items", len(res.Results), len(batch))
		}
		for _, r := range res.Results {
			if !r.OK {
				return fmt.Errorf("POST /api/v1/approvals/bulk: tool %s: %s", r.ID, truncate(string(r.Error), 200))
			}
		}
	}
	return nil
}

// truncate shortens s to n bytes for messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
