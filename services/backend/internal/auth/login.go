package auth

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// LoginInput is POST /auth/login.
type LoginInput struct {
	Username, Password string
	Mode               string // ClientCookie or ClientToken
	IP                 netip.Addr
	UserAgent          string
	RequestID          string
}

// User is the admin as the API shows it.
type User struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	LastLoginAt *time.Time `json:"last_login_at"`
	CreatedAt   time.Time  `json:"created_at"`
}

func userOf(u dbq.AdminUser) User {
	return User{ID: u.ID.String(), Username: u.Username, LastLoginAt: u.LastLoginAt, CreatedAt: u.CreatedAt}
}

// Login is the result of a login or a refresh. Cookie mode fills Cookie and
// CSRFToken; token mode fills the token fields.
type Login struct {
	User           User
	SessionExpires time.Time
	// Cookie mode.
	Cookie    string // the session id for the mcpbox_session cookie
	CSRFToken string
	// Token mode.
	AccessToken    string
	AccessExpires  time.Time
	RefreshToken   string
	RefreshExpires time.Time
}

// throttle refuses a login from an IP with 5 failures in the last minute, or
// for a username with 20 failures in 15 minutes (backend.md §7.4), before any
// hashing; the counts live in login_attempts, shared by every replica.
func (s *Service) throttle(ctx context.Context, ip netip.Addr, username string) error {
	now := s.opt.Now()
	if ip.IsValid() {
		times, err := s.store.LoginFailuresByIP(ctx, dbq.LoginFailuresByIPParams{Ip: ip, Since: now.Add(-ipWindow)})
		if err != nil {
			return err
		}
		if len(times) >= ipLimit {
			return &ThrottledError{RetryAfter: times[len(times)-ipLimit].Add(ipWindow).Sub(now)}
		}
	}
	if username != "" {
		times, err := s.store.LoginFailuresByUsername(ctx, dbq.LoginFailuresByUsernameParams{Username: username, Since: now.Add(-userWindow)})
		if err != nil {
			return err
		}
		if len(times) >= userLimit {
			return &ThrottledError{RetryAfter: times[len(times)-userLimit].Add(userWindow).Sub(now)}
		}
	}
	return nil
}

// recordFailure counts a failed login (or setup-code attempt) and writes its
// security row.
func (s *Service) recordFailure(ctx context.Context, q *dbq.Queries, ip netip.Addr, username, action, msg, requestID string) error {
	if ip.IsValid() {
		if err := q.InsertLoginAttempt(ctx, dbq.InsertLoginAttemptParams{Ip: ip, Username: username, Success: false}); err != nil {
			return err
		}
	}
	details := map[string]any{}
	if ip.IsValid() {
		details["ip"] = ip.String()
	}
	if username != "" {
		details["username"] = username
	}
	return activity.Write(ctx, q, activity.Entry{
		Category: activity.Security, Action: action, Level: activity.Warning, Message: msg,
		RequestID: requestID, Details: details,
	})
}

// Login checks the credentials and opens a session (backend.md §7.2–§7.4).
// Wrong password, unknown user and inactive user are the same
// ErrInvalidCredentials, after the same hashing work. Each verdict is
// counted in mcpbox_backend_admin_logins_total.
func (s *Service) Login(ctx context.Context, in LoginInput) (Login, error) {
	out, err := s.login(ctx, in)
	s.countLogin(err)
	return out, err
}

func (s *Service) login(ctx context.Context, in LoginInput) (Login, error) {
	name := strings.ToLower(in.Username)
	if err := s.throttle(ctx, in.IP, name); err != nil {
		return Login{}, err
	}
	u, err := s.store.GetAdminUserByUsername(ctx, in.Username)
	found := err == nil
	if err != nil && mapNotFound(err, nil) != nil {
		return Login{}, err
	}
	var ok, rehash bool
	if found {
		ok, rehash, err = s.hasher.Verify(ctx, in.Password, u.PasswordHash)
	} else {
		_, err = s.hasher.VerifyUnknown(ctx, in.Password)
	}
	if err != nil {
		return Login{}, err
	}
	if !ok || !u.IsActive {
		return Login{}, errors.Join(ErrInvalidCredentials, s.inTx(ctx, func(q *dbq.Queries) error {
			return s.recordFailure(ctx, q, in.IP, name, "auth.login_failed", "Failed login for "+name+".", in.RequestID)
		}))
	}
	var newHash *string
	if rehash {
		h, err := s.hasher.Hash(ctx, in.Password)
		if err != nil {
			return Login{}, err
		}
		newHash = &h
	}
	var out Login
	err = s.inTx(ctx, func(q *dbq.Queries) error {
		if err := q.RecordLogin(ctx, dbq.RecordLoginParams{ID: u.ID, PasswordHash: newHash}); err != nil {
			return err
		}
		if in.IP.IsValid() {
			if err := q.InsertLoginAttempt(ctx, dbq.InsertLoginAttemptParams{Ip: in.IP, Username: name, Success: true}); err != nil {
				return err
			}
		}
		if out, err = s.openSession(ctx, q, u, in); err != nil {
			return err
		}
		// The sign-in is an audit row of its own (backend.md §14.1, object
		// auth), so the audit view answers "who signed in when" next to
		// what they did (admin-ui.md UI-41).
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "auth.login", Actor: "admin:" + u.Username,
			Message: u.Username + " signed in.", RequestID: in.RequestID,
			Details: map[string]any{"client": in.Mode},
		})
	})
	return out, err
}

// openSession creates the session of a login and its credentials.
func (s *Service) openSession(ctx context.Context, q *dbq.Queries, u dbq.AdminUser, in LoginInput) (Login, error) {
	now := s.opt.Now()
	out := Login{User: userOf(u), SessionExpires: now.Add(s.opt.SessionMax)}
	out.User.LastLoginAt = &now
	params := dbq.InsertSessionParams{
		UserID: u.ID, Client: ClientToken, ExpiresAt: out.SessionExpires,
		UserAgent: truncate(in.UserAgent, 256), Ip: addrPtr(in.IP),
	}
	if in.Mode == ClientCookie {
		out.Cookie, out.CSRFToken = randomToken(), randomToken()
		params.Client, params.TokenHash, params.CsrfHash = ClientCookie, digest(out.Cookie), digest(out.CSRFToken)
	} else {
		params.CsrfHash = digest(randomToken()) // unused: token sessions never send one
	}
	sess, err := q.InsertSession(ctx, params)
	if err != nil {
		return Login{}, err
	}
	if in.Mode == ClientCookie {
		return out, nil
	}
	return s.issueTokens(ctx, q, out, u.ID, sess.ID, u.PasswordVersion, sess.ExpiresAt)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
