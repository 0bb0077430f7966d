package main

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// `backend rotate-jwt-key` makes a new key active, logs its kid and retires
// the old key, which still verifies; the backend starts with the new key.
func TestRotateJWTKey(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	env := testEnv(url)
	startOnce(t, env)
	var oldKid string
	dbtest.QueryRow(t, url, "SELECT kid FROM signing_keys WHERE retired_at IS NULL", []any{&oldKid})

	logs, err := lifecycletest.Run(t, run, []string{"rotate-jwt-key"}, env)
	if err != nil {
		t.Fatalf("rotate-jwt-key: %v\n%s", err, logs.String())
	}
	var logged string
	for _, l := range logs.Lines(t) {
		if kid, ok := l[keyKid].(string); ok && strings.HasPrefix(l["msg"].(string), "JWT signing key rotated") {
			logged = kid
		}
	}
	var active string
	var retired, total int
	dbtest.QueryRow(t, url, `SELECT (SELECT kid FROM signing_keys WHERE retired_at IS NULL),
		(SELECT count(*) FROM signing_keys WHERE kid = $1 AND retired_at IS NOT NULL), (SELECT count(*) FROM signing_keys)`,
		[]any{&active, &retired, &total}, oldKid)
	if logged == "" || logged != active || active == oldKid || retired != 1 || total != 2 {
		t.Errorf("logged kid %q, active %q (old %q), old retired %d, keys %d", logged, active, oldKid, retired, total)
	}
	startOnce(t, env) // the new active key opens with the configured key
	if _, err := lifecycletest.Run(t, run, []string{"rotate-jwt-key", "--now"}, env); err == nil || !strings.Contains(err.Error(), "no arguments") {
		t.Errorf("rotate-jwt-key with an argument: %v", err)
	}
}
