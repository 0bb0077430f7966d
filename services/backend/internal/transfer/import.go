package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// errDryRun rolls back the transaction of a dry run.
var errDryRun = errors.New("transfer: dry run")

// Import checks and imports a document (§14.4). Before anything is written
// or the sandbox is called, the document must be well-formed JSON
// (*SyntaxError), carry a signature made with the current or an old key
// (*SignatureError), be format_version 2 and break no rule (*proto.RuleError
// naming each field). Then every go version is analysed again
// (*sandboxclient.Error when the sandbox fails: nothing is written), and
// one transaction writes the package records and then each server in its
// own savepoint: a server that cannot be imported is listed in
// Result.Errors and the others go on. A dry run does the same and rolls
// back. progress receives the tools processed out of the tools in the
// document, from 0 to the total.
func (s *Service) Import(ctx context.Context, a Audit, raw []byte, opt Options, progress activity.Progress) (Result, error) {
	if progress == nil {
		progress = activity.NoProgress
	}
	if opt.OnConflict == "" {
		opt.OnConflict = ConflictSkip
	}
	d, keyID, err := Open(s.d.Keys, raw)
	if err != nil {
		return Result{}, err
	}
	skip := map[string]bool{}
	if opt.OnConflict == ConflictSkip {
		if skip, err = s.takenNames(ctx, d); err != nil {
			return Result{}, err
		}
	}
	plans, err := s.prepare(ctx, d, skip, progress)
	if err != nil {
		return Result{}, fmt.Errorf("import: %w", err)
	}
	var res Result
	err = s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		res = newResult(opt.DryRun)
		if keyID != s.d.Keys.CurrentID() {
			res.warn("", "signature", "", "The document was signed with the old encryption key id %d; it verified.", keyID)
		}
		im := &importer{a: a, actor: a.importActor(), opt: opt, now: time.Now().UTC(), res: &res}
		if err := im.run(ctx, q, d, plans); err != nil {
			return err
		}
		if opt.DryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return Result{}, fmt.Errorf("import: %w", err)
	}
	total := d.ToolCount()
	progress(total, total)
	return res, nil
}

// takenNames returns the document's server names that already exist.
func (s *Service) takenNames(ctx context.Context, d *Document) (map[string]bool, error) {
	names := make([]string, len(d.Servers))
	for i, srv := range d.Servers {
		names[i] = srv.Name
	}
	out := map[string]bool{}
	err := s.d.Store.InSnapshot(ctx, func(q *dbq.Queries) error {
		taken, err := q.ServerNamesTaken(ctx, names)
		for _, n := range taken {
			out[n] = true
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("import: server names: %w", err)
	}
	return out, nil
}
