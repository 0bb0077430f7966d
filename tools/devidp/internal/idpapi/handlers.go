package idpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/mcpbox/mcpbox/tools/devidp/internal/keyring"
	"github.com/mcpbox/mcpbox/tools/devidp/internal/mint"
)

// Discovery is the OIDC discovery document: the fields the edge reads (issuer, jwks_uri) and the
// required metadata of OpenID Connect Discovery §3 that apply to a provider without /authorize.
type Discovery struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                  []string `json:"scopes_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
}

// TokenResponse is the body of a successful POST /dev/token.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	KeyID       string `json:"kid"`
}

// RotateResponse is the body of a successful POST /dev/rotate.
type RotateResponse struct {
	KeyID    string `json:"kid"`
	Previous string `json:"previous,omitempty"`
	Retired  string `json:"retired,omitempty"`
}

func (h *handler) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Discovery{
		Issuer:                           h.issuer,
		JWKSURI:                          h.issuer + JWKSPath,
		ResponseTypesSupported:           []string{"token"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{"RS256"},
		ScopesSupported:                  []string{"openid", "email"},
		ClaimsSupported:                  []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "email", "email_verified", "scope"},
	})
}

func (h *handler) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := h.ring.PublicSet()
	if err != nil {
		h.log.ErrorContext(r.Context(), "jwks", slog.Any("error", err))
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, set)
}

func (h *handler) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *handler) token(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body: at most 64 KiB")
		return
	}
	req, err := mint.ParseRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	tok, kid, err := Issue(h.ring, h.issuer, h.now(), req)
	if err != nil {
		h.log.ErrorContext(r.Context(), "mint token", slog.Any("error", err))
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	h.log.InfoContext(r.Context(), "token minted", slog.String("sub", req.Sub), slog.String("kid", kid),
		slog.String("ttl", req.TTL.String()))
	writeJSON(w, http.StatusOK, TokenResponse{
		AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(req.TTL.Seconds()), KeyID: kid,
	})
}

func (h *handler) rotate(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Query().Get("retire") {
	case "":
		old := h.ring.Current()
		k, err := h.ring.Rotate()
		if err != nil {
			h.log.ErrorContext(r.Context(), "rotate", slog.Any("error", err))
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		h.log.InfoContext(r.Context(), "key rotated", slog.String("kid", k.ID), slog.String("previous", old.ID))
		writeJSON(w, http.StatusOK, RotateResponse{KeyID: k.ID, Previous: old.ID})
	case "previous":
		old, err := h.ring.RetirePrevious()
		if errors.Is(err, keyring.ErrNoPrevious) {
			writeError(w, http.StatusConflict, "no previous key to retire; rotate first")
			return
		}
		if err != nil {
			h.log.ErrorContext(r.Context(), "retire", slog.Any("error", err))
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		h.log.InfoContext(r.Context(), "previous key retired", slog.String("kid", old.ID))
		writeJSON(w, http.StatusOK, RotateResponse{KeyID: h.ring.Current().ID, Retired: old.ID})
	default:
		writeError(w, http.StatusBadRequest, `retire: the only accepted value is "previous"`)
	}
}

// loopbackOnly refuses control requests from any address but loopback, even though devidp binds only
// to loopback: a forwarded port must not let anyone mint tokens.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() {
			writeError(w, http.StatusForbidden, "control routes answer loopback clients only")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
