package oauthflow

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// source is what a flow or a refresh needs of an external source.
type source struct {
	dbq.GetOAuthSourceRow
	// origin is the origin of the source's URL (see originOf).
	origin string
	// own is the allowed_hosts of a request to that origin: [host[:port]]
	// when the host is covered for the server (backend.md §13.2), else null.
	own proto.AllowedHosts
}

// loadSource reads a source and its server's approved hosts in one
// snapshot.
func (s *Service) loadSource(ctx context.Context, id uuid.UUID) (source, error) {
	var src source
	err := s.d.Store.InSnapshot(ctx, func(q *dbq.Queries) error {
		row, err := q.GetOAuthSource(ctx, id)
		if errors.Is(err, db.ErrNotFound) {
			return ErrSourceNotFound
		}
		if err != nil {
			return fmt.Errorf("read source %s: %w", id, err)
		}
		hosts, err := q.ListToolCoverageHosts(ctx, row.ServerID)
		if err != nil {
			return fmt.Errorf("read the approved hosts of server %s: %w", row.ServerID, err)
		}
		src = newSource(row, hosts)
		return nil
	})
	return src, err
}

// newSource derives the origin and allowed_hosts of a source row.
func newSource(row dbq.GetOAuthSourceRow, hosts []dbq.ListToolCoverageHostsRow) source {
	src := source{GetOAuthSourceRow: row, own: proto.AnyPublicHost()}
	u, err := url.Parse(row.Url)
	if err != nil {
		return src
	}
	src.origin = originOf(u)
	entry, err := proto.NormalizeHost(u.Host)
	if err != nil {
		return src
	}
	host, port := proto.SplitNormalizedHost(entry)
	for _, h := range hosts {
		if h.Host == host && (h.Port == nil || (port != "" && strconv.Itoa(int(*h.Port)) == port)) {
			src.own = proto.OnlyHosts(entry)
			break
		}
	}
	return src
}

// check refuses a source that is not an OAuth source or not usable.
func (src source) check() error {
	if src.AuthType != authOAuth {
		return &NotOAuthError{Source: src.Name, AuthType: src.AuthType}
	}
	if !usable(src.Status) {
		return &UnusableError{Source: src.Name, Status: src.Status}
	}
	return nil
}

// relock re-reads the source under its row lock inside q's transaction and
// checks it again; the allowed hosts read before are kept.
func relock(ctx context.Context, q *dbq.Queries, src source) (source, error) {
	row, err := q.LockOAuthSource(ctx, src.ID)
	if errors.Is(err, db.ErrNotFound) {
		return source{}, ErrSourceNotFound
	}
	if err != nil {
		return source{}, fmt.Errorf("lock source %s: %w", src.ID, err)
	}
	src.GetOAuthSourceRow = dbq.GetOAuthSourceRow(row)
	return src, src.check()
}

// clientSecret opens the source's client secret ("" when it has none).
func (s *Service) clientSecret(src source) (string, error) {
	if src.OauthClientSecretEnc == nil {
		return "", nil
	}
	b, err := s.d.Keys.Open(seal.PurposeOAuthClientSecret(src.ID.String()), src.OauthClientSecretEnc)
	if err != nil {
		return "", fmt.Errorf("open the client secret of source %s: %w", src.ID, err)
	}
	return string(b), nil
}

// sealOptional seals v, or returns nil for "".
func (s *Service) sealOptional(purpose, v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	return s.d.Keys.Seal(purpose, []byte(v))
}
