package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/term"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
)

// reasonAdminReset is the revoked_reason of the sessions a reset ends.
const reasonAdminReset = "admin_reset"

// maxPasswordLine bounds one line read from the terminal: far above the
// 128 characters a password may have, so an overlong one is refused by the
// password rules rather than cut.
const maxPasswordLine = 4096

// resetPasswordOnTerminal is `backend reset-password <username>` reading
// the process's standard input and prompting on its standard error. On a
// terminal the password is read with echo off; piped input is read as is.
func resetPasswordOnTerminal(ctx context.Context, args, environ []string, stdout io.Writer) error {
	var in io.Reader = os.Stdin
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		in = &hiddenLines{read: func() ([]byte, error) { return term.ReadPassword(fd) }, echo: os.Stderr}
	}
	return resetPassword(in, os.Stderr)(ctx, args, environ, stdout)
}

// hiddenLines reads a terminal one line at a time with echo off: each
// read returns one line and its line ending, and shows the line ending the
// terminal did not echo.
type hiddenLines struct {
	read    func() ([]byte, error)
	echo    io.Writer
	pending []byte
}

func (h *hiddenLines) Read(p []byte) (int, error) {
	if len(h.pending) == 0 {
		line, err := h.read()
		_, _ = io.WriteString(h.echo, "\n")
		if err != nil {
			return 0, err
		}
		h.pending = append(slices.Clip(line), '\n')
	}
	n := copy(p, h.pending)
	h.pending = h.pending[n:]
	return n, nil
}

// resetPassword returns `backend reset-password <username>` (backend.md §3,
// §7.2): it reads the new password twice, one line each, from in, writing
// its prompts to prompt (standard error, so that standard output stays
// log lines); checks the password rules; stores the hash made with the
// pinned parameters and bumps password_version; revokes every session of
// the user (reason admin_reset); and writes the audit row
// auth.password_reset, all in one transaction.
func resetPassword(in io.Reader, prompt io.Writer) func(ctx context.Context, args, environ []string, stdout io.Writer) error {
	return func(ctx context.Context, args, environ []string, stdout io.Writer) error {
		if len(args) != 1 || args[0] == "" {
			return errors.New("usage: backend reset-password <username> (the new password is read twice from standard input)")
		}
		username := args[0]
		m, err := openMaintenance(ctx, environ, stdout)
		if err != nil {
			return err
		}
		defer m.Close()
		u, err := m.store.GetAdminUserByUsername(ctx, username)
		if errors.Is(err, db.ErrNotFound) {
			return fmt.Errorf("reset-password: no admin user named %q; check the spelling (usernames are compared ignoring letter case)", username)
		}
		if err != nil {
			return fmt.Errorf("reset-password: read user %q: %w", username, err)
		}
		next, err := readNewPassword(bufio.NewReader(io.LimitReader(in, 2*maxPasswordLine)), prompt)
		if err != nil {
			return err
		}
		if err := password.CheckNew(u.Username, next); err != nil {
			return fmt.Errorf("reset-password: %w", err)
		}
		hash, err := password.New(password.Pinned(), 1).Hash(ctx, next)
		if err != nil {
			return fmt.Errorf("reset-password: %w", err)
		}
		var revoked int64
		err = m.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
			if _, err := q.SetAdminPassword(ctx, dbq.SetAdminPasswordParams{ID: u.ID, PasswordHash: hash}); err != nil {
				return err
			}
			if revoked, err = q.RevokeUserSessions(ctx, dbq.RevokeUserSessionsParams{UserID: u.ID, Reason: reasonAdminReset}); err != nil {
				return err
			}
			return activity.Write(ctx, q, activity.Entry{
				Category: activity.Audit, Action: "auth.password_reset", Actor: "system",
				Message: fmt.Sprintf("The password of %s was reset from the command line; every session was signed out.", u.Username),
				Details: map[string]any{"username": u.Username, "sessions_revoked": revoked},
			})
		})
		if err != nil {
			return fmt.Errorf("reset-password: store the new password of %q: %w", u.Username, err)
		}
		m.log.InfoContext(ctx, "password reset; every session of the user was signed out",
			keyUsername, u.Username, keyRevoked, revoked)
		return nil
	}
}

// Log keys of the reset-password line.
const (
	keyUsername = "username"
	keyRevoked  = "sessions_revoked"
)

// readNewPassword reads the new password and its confirmation, one line
// each, and returns it when both agree.
func readNewPassword(in *bufio.Reader, prompt io.Writer) (string, error) {
	first, err := readPasswordLine(in, prompt, "New password: ")
	if err != nil {
		return "", err
	}
	second, err := readPasswordLine(in, prompt, "Repeat the new password: ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("reset-password: the two passwords differ; nothing was changed, run the command again")
	}
	return first, nil
}

// readPasswordLine prompts and reads one line without its line ending.
// Spaces are kept: they may be part of the password.
func readPasswordLine(in *bufio.Reader, prompt io.Writer, text string) (string, error) {
	_, _ = io.WriteString(prompt, text) // a prompt that cannot be shown does not stop a piped password
	line, err := in.ReadString('\n')
	switch {
	case err == nil, errors.Is(err, io.EOF) && line != "": // a last line may lack its line ending
	case errors.Is(err, io.EOF):
		return "", errors.New("reset-password: standard input ended before the new password was given twice (one line each)")
	default:
		return "", fmt.Errorf("reset-password: read the new password: %w", err)
	}
	if len(line) > maxPasswordLine {
		return "", fmt.Errorf("reset-password: a line of standard input is longer than %d bytes", maxPasswordLine)
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}
