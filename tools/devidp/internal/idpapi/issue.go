package idpapi

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/mcpbox/mcpbox/tools/devidp/internal/keyring"
	"github.com/mcpbox/mcpbox/tools/devidp/internal/mint"
)

// Issue signs the token req describes with the ring's current key and returns it with the kid. The
// server's POST /dev/token and `devidp token` without a server both mint through here.
func Issue(ring *keyring.Ring, issuer string, now time.Time, req mint.Request) (string, string, error) {
	if err := req.Validate(); err != nil {
		return "", "", err
	}
	claims, err := req.Claims(issuer, now)
	if err != nil {
		return "", "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", "", fmt.Errorf("encode claims: %w", err)
	}
	tok, kid, err := ring.Sign(payload)
	if err != nil {
		return "", "", err
	}
	return string(tok), kid, nil
}
