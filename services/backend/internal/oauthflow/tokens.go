package oauthflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// refreshMargin: an access token that expires within it is refreshed
// first (backend.md §9.4).
const refreshMargin = 60 * time.Second

// tokenSet is the plaintext of external_mcp_sources.oauth_tokens_enc
// (backend.md §4.2).
type tokenSet struct {
	AccessToken   string     `json:"access_token"`
	RefreshToken  string     `json:"refresh_token"`
	TokenEndpoint string     `json:"token_endpoint"`
	ExpiresAt     *time.Time `json:"expires_at"`
	Scope         string     `json:"scope"`
}

// newTokenSet is the token set of a token response; a response without
// scope keeps the scope granted before.
func newTokenSet(t *oauth2.Token, tokenEndpoint, scopeBefore string) tokenSet {
	ts := tokenSet{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenEndpoint: tokenEndpoint, Scope: scopeBefore}
	if !t.Expiry.IsZero() {
		e := t.Expiry.UTC().Truncate(time.Second)
		ts.ExpiresAt = &e
	}
	if scope, ok := t.Extra("scope").(string); ok && scope != "" {
		ts.Scope = scope
	}
	return ts
}

// fresh reports a token that does not expire within refreshMargin of now.
func (ts tokenSet) fresh(now time.Time) bool {
	return ts.AccessToken != "" && (ts.ExpiresAt == nil || ts.ExpiresAt.After(now.Add(refreshMargin)))
}

// expiry is the expiry, zero when none is known.
func (ts tokenSet) expiry() time.Time {
	if ts.ExpiresAt == nil {
		return time.Time{}
	}
	return *ts.ExpiresAt
}

func (s *Service) sealTokens(id uuid.UUID, ts tokenSet) ([]byte, error) {
	raw, err := json.Marshal(ts) //nolint:gosec // G117: the token set is sealed right below, never stored or sent in the clear
	if err != nil {
		return nil, fmt.Errorf("encode the tokens of source %s: %w", id, err)
	}
	enc, err := s.d.Keys.Seal(seal.PurposeOAuthTokens(id.String()), raw)
	if err != nil {
		return nil, fmt.Errorf("seal the tokens of source %s: %w", id, err)
	}
	return enc, nil
}

// openTokens returns the source's tokens; a source that never signed in is
// a *SignInError.
func (s *Service) openTokens(src source) (tokenSet, error) {
	if src.OauthTokensEnc == nil {
		return tokenSet{}, &SignInError{Source: src.Name, Reason: "it has not signed in yet"}
	}
	raw, err := s.d.Keys.Open(seal.PurposeOAuthTokens(src.ID.String()), src.OauthTokensEnc)
	if err != nil {
		return tokenSet{}, fmt.Errorf("open the tokens of source %s: %w", src.ID, err)
	}
	var ts tokenSet
	if err := json.Unmarshal(raw, &ts); err != nil {
		return tokenSet{}, fmt.Errorf("decode the tokens of source %s: %w", src.ID, err)
	}
	return ts, nil
}

// AccessToken returns a valid access token of an OAuth source, refreshing
// it first when it expires within 60 s (see AccessTokenWithExpiry). Used
// by discovery (§13.2).
func (s *Service) AccessToken(ctx context.Context, sourceID uuid.UUID) (string, error) {
	token, _, err := s.AccessTokenWithExpiry(ctx, sourceID)
	return token, err
}

// AccessTokenWithExpiry returns a valid access token of an OAuth source
// and its expiry (zero when the authorization server gave none), for call
// plans (§9.4). A token that expires within 60 s is refreshed through the
// sandbox broker under the source's row lock, so one replica refreshes
// while the others wait and then read its result; the new tokens are
// stored.
//
// Errors: ErrSourceNotFound; *NotOAuthError; *UnusableError (credentials
// exist only for usable sources, §13.1); *SignInError when the source never
// signed in or the refresh failed upstream; a *sandboxclient.Error when the
// sandbox could not broker the refresh.
func (s *Service) AccessTokenWithExpiry(ctx context.Context, sourceID uuid.UUID) (string, time.Time, error) {
	src, err := s.loadSource(ctx, sourceID)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := src.check(); err != nil {
		return "", time.Time{}, err
	}
	ts, err := s.openTokens(src)
	if err != nil {
		return "", time.Time{}, err
	}
	if ts.fresh(s.now()) {
		return ts.AccessToken, ts.expiry(), nil
	}
	err = s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		cur, err := relock(ctx, q, src)
		if err != nil {
			return err
		}
		if ts, err = s.openTokens(cur); err != nil || ts.fresh(s.now()) {
			return err // another replica refreshed meanwhile
		}
		if ts, err = s.refresh(ctx, cur, ts); err != nil {
			return err
		}
		enc, err := s.sealTokens(cur.ID, ts)
		if err != nil {
			return err
		}
		if err := q.SetOAuthTokens(ctx, dbq.SetOAuthTokensParams{ID: cur.ID, TokensEnc: enc}); err != nil {
			return fmt.Errorf("store the refreshed tokens of source %s: %w", cur.ID, err)
		}
		return nil
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return ts.AccessToken, ts.expiry(), nil
}

// refresh exchanges the refresh token for new tokens at the token endpoint
// (oauth2's token source, brokered by the sandbox).
func (s *Service) refresh(ctx context.Context, src source, ts tokenSet) (tokenSet, error) {
	signIn := func(reason string) error { return &SignInError{Source: src.Name, Reason: reason} }
	switch {
	case ts.RefreshToken == "":
		return tokenSet{}, signIn("its access token expired and the authorization server gave no refresh token")
	case src.OauthClientID == nil || *src.OauthClientID == "":
		return tokenSet{}, signIn("it has no OAuth client id")
	}
	secret, err := s.clientSecret(src)
	if err != nil {
		return tokenSet{}, err
	}
	tr, hc := s.newFetchClient(src)
	cfg := config(oauthClient{id: *src.OauthClientID, secret: secret}, "", ts.TokenEndpoint, "", nil)
	t, err := cfg.TokenSource(withClient(ctx, hc), &oauth2.Token{RefreshToken: ts.RefreshToken}).Token()
	if err != nil {
		err = s.explain(tr, "refreshing the access token", err, ts.RefreshToken, ts.AccessToken, secret)
		var up *UpstreamError
		if errors.As(err, &up) {
			return tokenSet{}, signIn("the token refresh failed: " + up.Message)
		}
		return tokenSet{}, err
	}
	return newTokenSet(t, ts.TokenEndpoint, ts.Scope), nil
}
