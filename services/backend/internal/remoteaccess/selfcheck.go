package remoteaccess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

const (
	// checkLimit bounds one whole check (admin-ui.md §11.11).
	checkLimit = 60 * time.Second
	// checkLock is the advisory lock that keeps one check at a time per
	// installation ("mcpbox_c" in ASCII).
	checkLock int64 = 0x6d6370626f785f63
	// auditSelfCheck is the audit action of a check.
	auditSelfCheck = "settings.self_check"
)

var (
	// ErrCheckRunning is a check started while another runs: 409
	// invalid_state.
	ErrCheckRunning = errors.New("remoteaccess: a check is already running")
	// ErrNoPublicURL is a check without a saved public URL: 409
	// invalid_state.
	ErrNoPublicURL = errors.New("remoteaccess: no public URL is saved")
)

// Step results.
const (
	Pass    = "pass"
	Warning = "warning"
	Fail    = "fail"
	Skipped = "skipped"
)

// Step is the outcome of one step R1–R7 of the check.
type Step struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Result string `json:"result"`
	// Critical marks a failure that exposes the installation (an endpoint
	// answering without authentication).
	Critical bool   `json:"critical,omitempty"`
	Observed string `json:"observed"`
	Fix      string `json:"fix"`
}

// Result is a finished check, as stored in remote_selfcheck_result and
// returned by the API. The expected values are the ones it compared
// against.
type Result struct {
	StartedAt        time.Time `json:"started_at"`
	FinishedAt       time.Time `json:"finished_at"`
	PublicURL        string    `json:"public_url"`
	ExpectedIssuer   string    `json:"expected_issuer"`
	ExpectedAudience string    `json:"expected_audience"`
	Steps            []Step    `json:"steps"`
}

// counts returns how many steps had each result.
func (r Result) counts() map[string]int {
	c := map[string]int{Pass: 0, Warning: 0, Fail: 0, Skipped: 0}
	for _, s := range r.Steps {
		c[s.Result]++
	}
	return c
}

// Run runs the connectivity self-check (admin-ui.md §11.11) against the
// saved settings, at most one at a time per installation (advisory lock)
// and for at most 60 s, reporting the steps finished out of 7 to progress.
// The check goes on when the caller goes away, so its result is always
// stored: in remote_selfcheck_result, with a settings.self_check audit row,
// in one transaction. Errors: ErrCheckRunning, ErrNoPublicURL.
func (s *Service) Run(ctx context.Context, actor, requestID string, progress activity.Progress) (Result, error) {
	unlock, ok, err := s.d.Store.TryLock(ctx, checkLock)
	if err != nil {
		return Result{}, fmt.Errorf("remoteaccess: self-check lock: %w", err)
	}
	if !ok {
		return Result{}, ErrCheckRunning
	}
	defer unlock()
	cfg, err := s.Get(ctx)
	if err != nil {
		return Result{}, err
	}
	if cfg.PublicURL == "" {
		return Result{}, ErrNoPublicURL
	}
	ctx = context.WithoutCancel(ctx)
	checkCtx, cancel := context.WithTimeout(ctx, checkLimit)
	defer cancel()
	res := Result{
		StartedAt: now(), PublicURL: cfg.PublicURL, ExpectedIssuer: cfg.ExpectedIssuer, ExpectedAudience: cfg.ExpectedAudience,
	}
	c := &check{f: &fetcher{sandbox: s.d.Sandbox, requestID: requestID}, cfg: cfg}
	res.Steps = c.run(checkCtx, progress)
	res.FinishedAt = now()
	if err := s.save(ctx, actor, requestID, res); err != nil {
		return Result{}, err
	}
	return res, nil
}

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// save stores the result and writes its audit row in one transaction.
func (s *Service) save(ctx context.Context, actor, requestID string, res Result) error {
	raw, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("remoteaccess: encode the result: %w", err)
	}
	counts := res.counts()
	results := map[string]string{}
	var failed []string
	for _, st := range res.Steps {
		results[st.ID] = st.Result
		if st.Result == Fail {
			failed = append(failed, st.ID)
		}
	}
	level := activity.Info
	msg := fmt.Sprintf("Remote access self-check of %s: %d passed, %d warnings, %d failed, %d skipped.",
		res.PublicURL, counts[Pass], counts[Warning], counts[Fail], counts[Skipped])
	if len(failed) > 0 {
		level = activity.Warning
		msg += " Failed: " + strings.Join(failed, ", ") + "."
	}
	return s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		_, err := q.UpsertSetting(ctx, dbq.UpsertSettingParams{
			Key: string(proto.SettingRemoteSelfcheckResult), Value: raw, UpdatedBy: actor,
		})
		if err != nil {
			return fmt.Errorf("remoteaccess: store the result: %w", err)
		}
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: auditSelfCheck, Level: level, Actor: actor, RequestID: requestID,
			Message: msg,
			Details: map[string]any{"public_url": res.PublicURL, "results": results, "counts": counts},
		})
	})
}

// Last returns the stored result of the last check, or nil when none ran
// (or the stored value is unreadable).
func (s *Service) Last(ctx context.Context) (*Result, error) {
	row, err := s.d.Store.GetSetting(ctx, string(proto.SettingRemoteSelfcheckResult))
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, nil //nolint:nilnil // no check ran yet
	case err != nil:
		return nil, fmt.Errorf("remoteaccess: read the last result: %w", err)
	}
	var res Result
	if json.Unmarshal(row.Value, &res) != nil || res.Steps == nil {
		return nil, nil //nolint:nilnil // unreadable: as if none ran
	}
	return &res, nil
}
