package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
)

// environOf turns a test environment into NAME=value entries.
func environOf(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// resetWith runs reset-password for username with input on standard input.
func resetWith(t *testing.T, env map[string]string, username, input string) (logs, prompts string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out, prompt bytes.Buffer
	err = resetPassword(strings.NewReader(input), &prompt)(ctx, []string{username}, environOf(env), &out)
	return out.String(), prompt.String(), err
}

// `backend reset-password <username>` reads the new password twice, applies
// the password rules, stores a pinned-parameter hash, bumps
// password_version, revokes every session (admin_reset) and writes the
// audit row; the admin then logs in with the new password only. Unknown
// users, rule violations and mismatched input change nothing.
func TestResetPassword(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	env := testEnv(url)
	env["MCPBOX_SETUP_CODE"] = "reset-setup-code-0123456789"
	const oldPassword, newPassword = "correct horse battery", "  a new one, with spaces  "
	svc := lifecycletest.Start(t, run, nil, env)
	main := "http://" + svc.Logs.WaitListening(t, "main")
	if code := postJSON(t, main+"/api/v1/auth/setup", map[string]string{
		"username": "admin", "password": oldPassword, "setup_code": env["MCPBOX_SETUP_CODE"],
	}, nil); code != http.StatusCreated {
		t.Fatalf("setup: %d", code)
	}
	for range 2 {
		if code := postJSON(t, main+"/api/v1/auth/login", map[string]string{"username": "admin", "password": oldPassword}, nil); code != http.StatusOK {
			t.Fatalf("login: %d", code)
		}
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ name, username, input, want string }{
		{"unknown user", "nobody", newPassword + "\n" + newPassword + "\n", `no admin user named "nobody"`},
		{"too short", "admin", "short\nshort\n", "password: must be 12 to 128 characters (got 5)"},
		{"mismatch", "admin", newPassword + "\n" + newPassword + "x\n", "the two passwords differ"},
		{"given once", "admin", newPassword + "\n", "standard input ended"},
		{"no argument", "", "", "usage: backend reset-password <username>"},
	} {
		if _, _, err := resetWith(t, env, c.username, c.input); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	var version, open int
	dbtest.QueryRow(t, url, `SELECT password_version, (SELECT count(*) FROM admin_sessions WHERE revoked_at IS NULL)
		FROM admin_users WHERE username = 'admin'`, []any{&version, &open})
	if version != 1 || open < 2 {
		t.Fatalf("a refused reset changed the user: password_version %d, open sessions %d", version, open)
	}

	// CRLF line endings, as a Windows terminal sends them; the username in
	// another letter case.
	logs, prompts, err := resetWith(t, env, "ADMIN", newPassword+"\r\n"+newPassword+"\r\n")
	if err != nil {
		t.Fatalf("reset-password: %v\n%s", err, logs)
	}
	if prompts != "New password: Repeat the new password: " || strings.Contains(logs, newPassword) {
		t.Errorf("prompts %q; logs:\n%s", prompts, logs)
	}
	var hash string
	var revoked int
	dbtest.QueryRow(t, url, `SELECT password_hash, password_version,
		(SELECT count(*) FROM admin_sessions WHERE revoked_at IS NULL),
		(SELECT count(*) FROM admin_sessions WHERE revoked_reason = 'admin_reset')
		FROM admin_users WHERE username = 'admin'`, []any{&hash, &version, &open, &revoked})
	if version != 2 || open != 0 || revoked < 2 {
		t.Errorf("after reset: password_version %d, open sessions %d, revoked by admin_reset %d", version, open, revoked)
	}
	ok, rehash, err := password.New(password.Pinned(), 1).Verify(t.Context(), newPassword, hash)
	if err != nil || !ok || rehash {
		t.Errorf("new hash verifies %v (needs rehash %v): %v", ok, rehash, err)
	}
	var actor, category, username string
	dbtest.QueryRow(t, url, `SELECT actor, category, details->>'username' FROM activity_log WHERE action = 'auth.password_reset'`,
		[]any{&actor, &category, &username})
	if actor != "system" || category != "audit" || username != "admin" {
		t.Errorf("audit row: actor %q, category %q, username %q", actor, category, username)
	}

	svc = lifecycletest.Start(t, run, nil, env)
	main = "http://" + svc.Logs.WaitListening(t, "main")
	if code := postJSON(t, main+"/api/v1/auth/login", map[string]string{"username": "admin", "password": oldPassword}, nil); code != http.StatusUnauthorized {
		t.Errorf("login with the old password: %d", code)
	}
	if code := postJSON(t, main+"/api/v1/auth/login", map[string]string{"username": "admin", "password": newPassword}, nil); code != http.StatusOK {
		t.Errorf("login with the new password: %d", code)
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
}

// readNewPassword returns a password only when two lines agree, never with a
// line ending in it, and fails on anything else without panicking.
func FuzzReadNewPassword(f *testing.F) {
	for _, s := range []string{
		"correct horse battery\ncorrect horse battery\n", "pw\r\npw\r\n", "pw\npw", "a\nb\n", "only once\n", "", "\n\n",
		"x\r\nx\n", strings.Repeat("p", maxPasswordLine+1) + "\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		var prompt bytes.Buffer
		got, err := readNewPassword(bufio.NewReader(strings.NewReader(input)), &prompt)
		if err != nil {
			if got != "" {
				t.Fatalf("password %q returned alongside %v", got, err)
			}
			return
		}
		if strings.Contains(got, "\n") || strings.HasSuffix(got, "\r") || len(got) > maxPasswordLine ||
			!strings.HasPrefix(input, got) || prompt.String() != "New password: Repeat the new password: " {
			t.Fatalf("input %q gave password %q, prompts %q", input, got, prompt.String())
		}
	})
}

// On a terminal each hidden read is one line: the reader serves it with its
// line ending, in pieces if the caller's buffer is small, and shows the
// line ending the terminal did not echo.
func TestHiddenLines(t *testing.T) {
	t.Parallel()
	lines := [][]byte{[]byte("correct horse battery"), []byte("correct horse battery")}
	var shown strings.Builder
	h := &hiddenLines{echo: &shown, read: func() ([]byte, error) {
		if len(lines) == 0 {
			return nil, io.EOF
		}
		l := lines[0]
		lines = lines[1:]
		return l, nil
	}}
	got, err := readNewPassword(bufio.NewReaderSize(h, 16), io.Discard)
	if err != nil || got != "correct horse battery" {
		t.Fatalf("readNewPassword = %q, %v", got, err)
	}
	if shown.String() != "\n\n" {
		t.Errorf("shown %q, want the two line endings", shown.String())
	}
	if _, err := readNewPassword(bufio.NewReader(h), io.Discard); err == nil {
		t.Error("an ended terminal gave a password")
	}
}
