package auth

import (
	"context"
	"errors"
	"net/netip"
	"regexp"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// Status is GET /auth/status.
type Status struct {
	SetupRequired       bool   `json:"setup_required"`
	OnboardingCompleted bool   `json:"onboarding_completed"`
	Version             string `json:"version"`
}

// Status reports whether first-run setup is still needed.
func (s *Service) Status(ctx context.Context) (Status, error) {
	n, err := s.store.CountAdminUsers(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{SetupRequired: n == 0, Version: s.opt.Version}
	row, err := s.store.GetSetting(ctx, "onboarding_completed")
	switch {
	case err == nil:
		st.OnboardingCompleted = string(row.Value) == "true"
	case !errors.Is(err, db.ErrNotFound):
		return Status{}, err
	}
	return st, nil
}

// usernameRE is the rule of admin_users.username (the DB checks it too).
var usernameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{2,49}$`)

// FieldError is a request field that breaks a rule; the API answers 400
// validation_failed naming it.
type FieldError = password.RuleError

// CheckUsername applies the username rule.
func CheckUsername(username string) error {
	if !usernameRE.MatchString(username) {
		return &FieldError{Field: "username", Message: "username: must be 3 to 50 characters, a letter first, then letters, digits or _."}
	}
	return nil
}

// SetupInput is POST /auth/setup.
type SetupInput struct {
	Username, Password, SetupCode string
	IP                            netip.Addr
	RequestID                     string
}

// Setup creates the first admin (backend.md §7.1): the setup code must
// match; under an advisory lock, only while admin_users is empty. A wrong
// code counts as a failed login of the client IP for throttling.
func (s *Service) Setup(ctx context.Context, in SetupInput) error {
	if err := s.throttle(ctx, in.IP, ""); err != nil {
		return err
	}
	if !seal.SetupCodeMatches(in.SetupCode, s.opt.SetupCode) {
		return errors.Join(ErrSetupCodeInvalid, s.inTx(ctx, func(q *dbq.Queries) error {
			return s.recordFailure(ctx, q, in.IP, "", "auth.setup_code_invalid", "Wrong setup code.", in.RequestID)
		}))
	}
	if err := CheckUsername(in.Username); err != nil {
		return err
	}
	if err := password.CheckNew(in.Username, in.Password); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(q *dbq.Queries) error {
		if err := q.LockSetup(ctx); err != nil {
			return err
		}
		n, err := q.CountAdminUsers(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return ErrAlreadySetup
		}
		u, err := q.InsertAdminUser(ctx, dbq.InsertAdminUserParams{Username: in.Username, PasswordHash: hash})
		if err != nil {
			return err
		}
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "auth.setup", Actor: "admin:" + u.Username,
			Message: "Admin account " + u.Username + " created at first-run setup.", RequestID: in.RequestID,
		})
	})
}
