package oauthflow

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// Bounds of the callback's fields.
const (
	maxState = 512
	maxCode  = 4096
)

// CallbackInput is the return of an authorization.
type CallbackInput struct {
	State string
	Code  string
	// SessionID is the admin session the callback arrives in; it must be
	// the one that started the flow.
	SessionID uuid.UUID
	Actor     string
	RequestID string
}

// Callback completes a flow (backend.md §13.3): it takes the pending flow
// of state (deleting it, so a state is used once whichever replica gets
// it), exchanges the code with the PKCE verifier through the sandbox and
// stores the sealed tokens with the source.oauth_connected audit row in one
// transaction, which also notifies the gateways that the source's server's
// credentials changed. It returns the source id.
//
// Errors: a *proto.RuleError naming code; ErrStateInvalid (400
// oauth_state_invalid: unknown, used, expired, or another session's; nothing
// is stored); *NotOAuthError and *UnusableError when the source changed
// meanwhile; *UpstreamError (502) when the exchange failed; a
// *sandboxclient.Error when the sandbox could not broker it.
func (s *Service) Callback(ctx context.Context, in CallbackInput) (uuid.UUID, error) {
	if in.Code == "" || len(in.Code) > maxCode || strings.ContainsFunc(in.Code, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return uuid.Nil, &proto.RuleError{Field: "code", Message: fmt.Sprintf(
			"must be the authorization code the authorization server returned (1 to %d characters, no control characters)", maxCode)}
	}
	if in.State == "" || len(in.State) > maxState {
		return uuid.Nil, ErrStateInvalid
	}
	hash := stateHash(in.State, in.SessionID)
	flow, err := s.takeFlow(ctx, hash)
	if err != nil {
		return uuid.Nil, err
	}
	src, err := s.loadSource(ctx, flow.SourceID)
	if errors.Is(err, ErrSourceNotFound) {
		return uuid.Nil, ErrStateInvalid
	}
	if err != nil {
		return uuid.Nil, err
	}
	if err := src.check(); err != nil {
		return uuid.Nil, err
	}
	hashHex := hex.EncodeToString(hash)
	verifier, err := s.d.Keys.Open(seal.PurposeOAuthFlowVerifier(hashHex), flow.VerifierEnc)
	if err != nil {
		return uuid.Nil, fmt.Errorf("open the verifier of an OAuth flow of source %s: %w", src.ID, err)
	}
	client := oauthClient{id: flow.ClientID}
	if flow.ClientSecretEnc != nil {
		secret, err := s.d.Keys.Open(seal.PurposeOAuthFlowClientSecret(hashHex), flow.ClientSecretEnc)
		if err != nil {
			return uuid.Nil, fmt.Errorf("open the client secret of an OAuth flow of source %s: %w", src.ID, err)
		}
		client.secret = string(secret)
	}

	tr, hc := s.newFetchClient(src)
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(string(verifier))}
	if flow.Resource != nil {
		opts = append(opts, oauth2.SetAuthURLParam("resource", *flow.Resource))
	}
	t, err := config(client, "", flow.TokenEndpoint, flow.RedirectUri, nil).Exchange(withClient(ctx, hc), in.Code, opts...)
	if err != nil {
		return uuid.Nil, s.explain(tr, "exchanging the authorization code of source '"+src.Name+"'", err,
			in.Code, string(verifier), client.secret)
	}
	ts := newTokenSet(t, flow.TokenEndpoint, "")
	err = s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		cur, err := relock(ctx, q, src)
		if err != nil {
			return err
		}
		if err := s.storeClient(ctx, q, cur, client, ""); err != nil {
			return err
		}
		enc, err := s.sealTokens(cur.ID, ts)
		if err != nil {
			return err
		}
		if err := q.SetOAuthTokens(ctx, dbq.SetOAuthTokensParams{ID: cur.ID, TokensEnc: enc}); err != nil {
			return fmt.Errorf("store the tokens of source %s: %w", cur.ID, err)
		}
		if err := revision.Secrets(ctx, q, cur.ServerID); err != nil {
			return err
		}
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: "source.oauth_connected", Actor: in.Actor, RequestID: in.RequestID,
			ServerID: &cur.ServerID, Message: fmt.Sprintf("Source '%s' signed in with OAuth.", cur.Name),
			Details: map[string]any{
				"source_id": cur.ID, "issuer": deref(cur.OauthIssuer), "scope": ts.Scope,
				"expires_at": ts.ExpiresAt, "refresh_token": ts.RefreshToken != "",
			},
		})
	})
	if err != nil {
		return uuid.Nil, err
	}
	return src.ID, nil
}

// takeFlow deletes and returns the flow of hash; a missing or expired one
// is ErrStateInvalid (an expired one is deleted all the same).
func (s *Service) takeFlow(ctx context.Context, hash []byte) (dbq.TakeOAuthFlowRow, error) {
	var flow dbq.TakeOAuthFlowRow
	found := false
	err := s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		var err error
		flow, err = q.TakeOAuthFlow(ctx, hash)
		if errors.Is(err, db.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("take the OAuth flow: %w", err)
		}
		found = true
		return nil
	})
	switch {
	case err != nil:
		return dbq.TakeOAuthFlowRow{}, err
	case !found || !flow.Live:
		return dbq.TakeOAuthFlowRow{}, ErrStateInvalid
	}
	return flow, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
