package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/services/backend/internal/accesstoken"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
)

// Session revocation reasons (admin_sessions.revoked_reason).
const (
	reasonLogout         = "logout"
	reasonPasswordChange = "password_change"
	reasonRefreshReuse   = "refresh_reuse"
	reasonEnded          = "ended"
)

// issueTokens adds an access token and a fresh refresh token (capped by the
// session's expiry) to out.
func (s *Service) issueTokens(ctx context.Context, q *dbq.Queries, out Login, userID, sessionID uuid.UUID, pv int32, sessionExpires time.Time) (Login, error) {
	token, claims, err := s.tokens.Sign(ctx, userID, sessionID, pv)
	if err != nil {
		return Login{}, err
	}
	out.AccessToken, out.AccessExpires = token, claims.ExpiresAt
	out.RefreshToken = randomToken()
	out.RefreshExpires = s.opt.Now().Add(RefreshLifetime)
	if out.RefreshExpires.After(sessionExpires) {
		out.RefreshExpires = sessionExpires
	}
	out.SessionExpires = sessionExpires
	return out, q.InsertRefreshToken(ctx, dbq.InsertRefreshTokenParams{
		SessionID: sessionID, TokenHash: digest(out.RefreshToken), ExpiresAt: out.RefreshExpires,
	})
}

// Refresh rotates a refresh token (backend.md §7.3): the presented token is
// marked used and a new access + refresh pair is issued, in one transaction.
// A token presented a second time revokes its whole session.
func (s *Service) Refresh(ctx context.Context, refreshToken, requestID string) (Login, error) {
	var out Login
	var reused bool
	err := s.inTx(ctx, func(q *dbq.Queries) error {
		rt, err := q.LockRefreshToken(ctx, digest(refreshToken))
		if err != nil {
			return mapNotFound(err, ErrTokenInvalid)
		}
		if rt.UsedAt != nil {
			reused = true
			if _, err := q.RevokeSession(ctx, dbq.RevokeSessionParams{ID: rt.SessionID, Reason: reasonRefreshReuse}); err != nil {
				return err
			}
			return activity.Write(ctx, q, activity.Entry{
				Category: activity.Security, Action: "auth.refresh_reuse", Level: activity.Warning,
				Message: "A used refresh token was presented again; its session was revoked.", RequestID: requestID,
				Details: map[string]any{"session_id": rt.SessionID.String()},
			})
		}
		if !rt.ExpiresAt.After(s.opt.Now()) {
			return ErrTokenExpired
		}
		sess, err := q.AuthenticateSession(ctx, rt.SessionID)
		if err != nil {
			return mapNotFound(err, ErrSessionRevoked)
		}
		if err := q.MarkRefreshTokenUsed(ctx, rt.ID); err != nil {
			return err
		}
		u, err := q.GetAdminUser(ctx, sess.UserID)
		if err != nil {
			return err
		}
		out, err = s.issueTokens(ctx, q, Login{User: userOf(u)}, u.ID, sess.SessionID, u.PasswordVersion, sess.ExpiresAt)
		return err
	})
	if err == nil && reused {
		s.metrics.tokenReuse.Inc()
		return Login{}, ErrSessionRevoked
	}
	return out, err
}

// AuthenticateBearer checks an access token and then its session, user and
// password version in the database (backend.md §7.3: one query, every
// request, no cache).
func (s *Service) AuthenticateBearer(ctx context.Context, token string) (Principal, error) {
	claims, err := s.tokens.Verify(ctx, token)
	switch {
	case errors.Is(err, accesstoken.ErrExpired):
		return Principal{}, ErrTokenExpired
	case err != nil:
		return Principal{}, ErrTokenInvalid
	}
	sess, err := s.store.AuthenticateSession(ctx, claims.SessionID)
	if err != nil {
		return Principal{}, mapNotFound(err, ErrSessionRevoked)
	}
	if sess.UserID != claims.UserID || sess.PasswordVersion != claims.PasswordVersion || sess.Client != ClientToken {
		return Principal{}, ErrSessionRevoked
	}
	return Principal{UserID: sess.UserID, Username: sess.Username, SessionID: sess.SessionID, Client: ClientToken}, nil
}

// Use says whether a request counts as use of its cookie session
// (admin-ui.md §4, backend.md §7.5): an event stream and a background
// refresh (X-Background-Refresh: 1) do not extend the idle timeout, so a
// tab left open on a live page still signs out after MCPBOX_SESSION_IDLE.
type Use bool

const (
	// Active requests slide the idle timeout.
	Active Use = true
	// Passive requests are authenticated but leave last_used_at alone.
	Passive Use = false
)

// touchEvery is how often at most last_used_at is written: a page load
// fans out into several requests, one write a minute is enough for a
// 30-minute timeout.
const touchEvery = time.Minute

// AuthenticateCookie checks a session cookie: the session is open, unexpired
// and used within MCPBOX_SESSION_IDLE; an Active use slides the idle
// timeout (writing last_used_at at most once a minute).
func (s *Service) AuthenticateCookie(ctx context.Context, cookie string, use Use) (Principal, error) {
	sess, err := s.store.AuthenticateCookie(ctx, digest(cookie))
	if err != nil {
		return Principal{}, mapNotFound(err, ErrUnauthenticated)
	}
	idle := s.opt.Now().Sub(sess.LastUsedAt)
	if idle > s.opt.SessionIdle {
		_, err := s.store.RevokeSession(ctx, dbq.RevokeSessionParams{ID: sess.SessionID, Reason: reasonEnded})
		return Principal{}, errors.Join(ErrUnauthenticated, err)
	}
	if use == Active && idle >= touchEvery {
		if err := s.store.TouchSession(ctx, sess.SessionID); err != nil {
			return Principal{}, err
		}
	}
	return Principal{
		UserID: sess.UserID, Username: sess.Username, SessionID: sess.SessionID, Client: ClientCookie,
		csrfHash: sess.CsrfHash,
	}, nil
}

// CheckCSRF compares a request's CSRF token with its cookie session's, in
// constant time. Token sessions need none.
func (p Principal) CheckCSRF(token string) bool {
	if p.Client != ClientCookie {
		return true
	}
	return token != "" && subtle.ConstantTimeCompare(digest(token), p.csrfHash) == 1
}

// Logout revokes the principal's session and all its tokens.
func (s *Service) Logout(ctx context.Context, p Principal, requestID string) error {
	return s.inTx(ctx, func(q *dbq.Queries) error {
		if _, err := q.RevokeSession(ctx, dbq.RevokeSessionParams{ID: p.SessionID, Reason: reasonLogout}); err != nil {
			return err
		}
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "auth.logout", Actor: p.Actor(), Message: p.Username + " signed out.", RequestID: requestID,
		})
	})
}

// ChangePassword checks the current password, stores the new one, bumps
// password_version and revokes every session of the admin.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next, requestID string) error {
	u, err := s.store.GetAdminUser(ctx, p.UserID)
	if err != nil {
		return mapNotFound(err, ErrUnauthenticated)
	}
	ok, _, err := s.hasher.Verify(ctx, current, u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return &FieldError{Field: "current_password", Message: "current_password: does not match the current password."}
	}
	if err := password.CheckChange(u.Username, current, next); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(q *dbq.Queries) error {
		if _, err := q.SetAdminPassword(ctx, dbq.SetAdminPasswordParams{ID: u.ID, PasswordHash: hash}); err != nil {
			return err
		}
		if _, err := q.RevokeUserSessions(ctx, dbq.RevokeUserSessionsParams{UserID: u.ID, Reason: reasonPasswordChange}); err != nil {
			return err
		}
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "auth.password_change", Actor: p.Actor(),
			Message: p.Username + " changed the password; every session was signed out.", RequestID: requestID,
		})
	})
}

// Me returns the principal's user.
func (s *Service) Me(ctx context.Context, p Principal) (User, error) {
	u, err := s.store.GetAdminUser(ctx, p.UserID)
	if err != nil {
		return User{}, mapNotFound(err, ErrUnauthenticated)
	}
	return userOf(u), nil
}

// SessionInfo is one open session (GET /auth/sessions).
type SessionInfo struct {
	ID         string    `json:"id"`
	Client     string    `json:"client"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// Sessions lists the principal's open sessions, newest first.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]SessionInfo, error) {
	rows, err := s.store.ListUserSessions(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]SessionInfo, 0, len(rows))
	for _, r := range rows {
		si := SessionInfo{
			ID: r.ID.String(), Client: r.Client, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt,
			ExpiresAt: r.ExpiresAt, UserAgent: r.UserAgent, Current: r.ID == p.SessionID,
		}
		if r.Ip != nil {
			si.IP = r.Ip.String()
		}
		out = append(out, si)
	}
	return out, nil
}

// EndSession revokes one of the principal's sessions (reason ended).
func (s *Service) EndSession(ctx context.Context, p Principal, id uuid.UUID, requestID string) error {
	return s.inTx(ctx, func(q *dbq.Queries) error {
		n, err := q.RevokeUserSession(ctx, dbq.RevokeUserSessionParams{ID: id, UserID: p.UserID, Reason: reasonEnded})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "auth.session_end", Actor: p.Actor(),
			Message: p.Username + " ended a session.", RequestID: requestID, Details: map[string]any{"session_id": id.String()},
		})
	})
}

// EndAllSessions signs the admin out everywhere, this session included.
func (s *Service) EndAllSessions(ctx context.Context, p Principal, requestID string) error {
	return s.inTx(ctx, func(q *dbq.Queries) error {
		if _, err := q.RevokeUserSessions(ctx, dbq.RevokeUserSessionsParams{UserID: p.UserID, Reason: reasonEnded}); err != nil {
			return err
		}
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "auth.sessions_revoke_all", Actor: p.Actor(),
			Message: p.Username + " signed out everywhere.", RequestID: requestID,
		})
	})
}

// StillOpen re-checks the principal's session for a long-lived request:
// open, unexpired, its user active, and for a cookie session used within
// MCPBOX_SESSION_IDLE (a stream is not use, so an idle tab's stream ends
// with its session).
func (s *Service) StillOpen(ctx context.Context, p Principal) (bool, error) {
	sess, err := s.store.AuthenticateSession(ctx, p.SessionID)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return p.Client != ClientCookie || s.opt.Now().Sub(sess.LastUsedAt) <= s.opt.SessionIdle, nil
}
