package main

import (
	"context"
	"fmt"
	"io"

	"github.com/mcpbox/mcpbox/services/backend/internal/accesstoken"
)

// keyKid is the log key of a JWT signing key's id.
const keyKid = "kid"

// rotateJWTKey implements `backend rotate-jwt-key` (backend.md §3, §7.3): it
// retires the active signing key and creates a new one, in one transaction,
// and logs the new kid. Tokens signed with the old key keep verifying until
// they expire; every replica signs with the new key within a minute.
func rotateJWTKey(ctx context.Context, args, environ []string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("rotate-jwt-key takes no arguments (got %q)", args)
	}
	m, err := openMaintenance(ctx, environ, stdout)
	if err != nil {
		return err
	}
	defer m.Close()
	// The new private key is sealed with the current key: it must be the key
	// this database was created with, or no replica could open it.
	if err := checkKey(ctx, m.log, m.store, m.keys); err != nil {
		return err
	}
	kid, err := accesstoken.New(m.store, m.keys).Rotate(ctx)
	if err != nil {
		return err
	}
	m.log.InfoContext(ctx, "JWT signing key rotated; the previous key verifies until its tokens expire", keyKid, kid)
	return nil
}
