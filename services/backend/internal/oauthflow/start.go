package oauthflow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// maxRedirectURI bounds a redirect URI given by the admin.
const maxRedirectURI = 2000

// StartInput is one authorization start.
type StartInput struct {
	SourceID uuid.UUID
	// RedirectURI is the admin's redirect URI; "" = the default
	// <origin>/oauth/callback.
	RedirectURI string
	// RequestOrigin is the request's own scheme://host, the origin of the
	// default redirect URI when MCPBOX_PUBLIC_ORIGIN is empty.
	RequestOrigin string
	// SessionID is the admin session that starts the flow: only a callback
	// in that session completes it (admin-ui.md §11.5).
	SessionID uuid.UUID
	Actor     string
	RequestID string
}

// Start prepares an authorization of an OAuth source (backend.md §13.3) and
// returns the URL to send the admin to. It discovers the source's
// authorization server through the sandbox, registers a client when the
// source has none for it (and stores it on the source), and stores the
// pending flow (PKCE verifier, state hash, client) with its
// source.oauth_start audit row in one transaction.
//
// Errors: ErrSourceNotFound; *NotOAuthError (400); *UnusableError (409);
// a *proto.RuleError naming redirect_uri; *UpstreamError (502); a
// *sandboxclient.Error when the sandbox could not broker a request.
func (s *Service) Start(ctx context.Context, in StartInput) (string, error) {
	src, err := s.loadSource(ctx, in.SourceID)
	if err != nil {
		return "", err
	}
	if err := src.check(); err != nil {
		return "", err
	}
	redirect, err := s.redirectURI(in)
	if err != nil {
		return "", err
	}
	tr, hc := s.newFetchClient(src)
	d, err := s.discover(ctx, src, tr, hc)
	if err != nil {
		return "", err
	}
	client, err := s.resolveClient(ctx, src, d.as, redirect, tr, hc)
	if err != nil {
		return "", err
	}
	verifier, state := oauth2.GenerateVerifier(), newState()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if d.resource != "" {
		opts = append(opts, oauth2.SetAuthURLParam("resource", d.resource))
	}
	authURL := config(client, d.as.AuthorizationEndpoint, d.as.TokenEndpoint, redirect, d.scopes).AuthCodeURL(state, opts...)

	hash := stateHash(state, in.SessionID)
	hashHex := hex.EncodeToString(hash)
	err = s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		cur, err := relock(ctx, q, src)
		if err != nil {
			return err
		}
		if err := s.storeClient(ctx, q, cur, client, d.as.Issuer); err != nil {
			return err
		}
		verifierEnc, err := s.d.Keys.Seal(seal.PurposeOAuthFlowVerifier(hashHex), []byte(verifier))
		if err != nil {
			return fmt.Errorf("seal the verifier: %w", err)
		}
		secretEnc, err := s.sealOptional(seal.PurposeOAuthFlowClientSecret(hashHex), client.secret)
		if err != nil {
			return fmt.Errorf("seal the flow's client secret: %w", err)
		}
		var resource *string
		if d.resource != "" {
			resource = &d.resource
		}
		if err := q.InsertOAuthFlow(ctx, dbq.InsertOAuthFlowParams{
			StateHash: hash, SourceID: cur.ID, VerifierEnc: verifierEnc, RedirectUri: redirect,
			TokenEndpoint: d.as.TokenEndpoint, ClientID: client.id, ClientSecretEnc: secretEnc, Resource: resource,
		}); err != nil {
			return fmt.Errorf("store the OAuth flow: %w", err)
		}
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "source.oauth_start", Actor: in.Actor, RequestID: in.RequestID,
			ServerID: &cur.ServerID,
			Message:  fmt.Sprintf("Started the OAuth sign-in of source '%s' at %s.", cur.Name, d.as.Issuer),
			Details: map[string]any{
				"source_id": cur.ID, "issuer": d.as.Issuer, "client_id": client.id,
				"client_registered": client.registered, "redirect_uri": redirect, "scopes": d.scopes,
			},
		})
	})
	if err != nil {
		return "", err
	}
	return authURL, nil
}

// storeClient records c on the source when it is not the source's client
// yet (a dynamic registration, §13.3, or the client of a flow that another
// flow's registration replaced meanwhile), with issuer when given; for the
// source's own client it records issuer only.
func (s *Service) storeClient(ctx context.Context, q *dbq.Queries, src source, c oauthClient, issuer string) error {
	var iss *string
	if issuer != "" {
		iss = &issuer
	}
	if !c.registered && src.OauthClientID != nil && *src.OauthClientID == c.id {
		if iss == nil {
			return nil
		}
		if err := q.SetOAuthIssuer(ctx, dbq.SetOAuthIssuerParams{ID: src.ID, Issuer: issuer}); err != nil {
			return fmt.Errorf("store the issuer of source %s: %w", src.ID, err)
		}
		return nil
	}
	secretEnc, err := s.sealOptional(seal.PurposeOAuthClientSecret(src.ID.String()), c.secret)
	if err != nil {
		return fmt.Errorf("seal the client secret: %w", err)
	}
	if err := q.SetOAuthClient(ctx, dbq.SetOAuthClientParams{
		ID: src.ID, ClientID: c.id, ClientSecretEnc: secretEnc, Issuer: iss,
	}); err != nil {
		return fmt.Errorf("store the client of source %s: %w", src.ID, err)
	}
	return nil
}

// redirectURI returns the admin's redirect URI, checked, or the default
// <origin>/oauth/callback.
func (s *Service) redirectURI(in StartInput) (string, error) {
	if in.RedirectURI == "" {
		origin := s.d.PublicOrigin
		if origin == "" {
			origin = in.RequestOrigin
		}
		if origin == "" {
			return "", fmt.Errorf("no origin for the default redirect URI of source %s", in.SourceID)
		}
		return strings.TrimSuffix(origin, "/") + CallbackPath, nil
	}
	return in.RedirectURI, ValidateRedirectURI(in.RedirectURI)
}

// ValidateRedirectURI checks a redirect URI given by an admin: an absolute
// http or https URL with a host, at most 2000 characters, without user
// information, fragment, spaces or control characters. The error is a
// *proto.RuleError naming redirect_uri.
func ValidateRedirectURI(raw string) error {
	fail := func(msg string) error { return &proto.RuleError{Field: "redirect_uri", Message: msg} }
	if len(raw) > maxRedirectURI {
		return fail(fmt.Sprintf("must be at most %d characters", maxRedirectURI))
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fail("must not contain spaces or control characters")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fail("must be an absolute http or https URL such as https://mcpbox.example.com/oauth/callback")
	case u.Scheme != "http" && u.Scheme != "https":
		return fail("must use http or https")
	case u.Host == "" || u.Hostname() == "":
		return fail("must name a host")
	case u.User != nil:
		return fail("must not hold user information ('@')")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fail("must not have a fragment ('#')")
	}
	return nil
}

// newState returns 256 random bits, base64url without padding.
func newState() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// stateHash is the key of a flow: sha256 of the admin session id and the
// state, so the state alone is never stored and a state is only good in
// the session that started the flow.
func stateHash(state string, session uuid.UUID) []byte {
	h := sha256.Sum256([]byte(session.String() + "\n" + state))
	return h[:]
}
