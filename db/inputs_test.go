package db_test

import (
	"path/filepath"
	"testing"

	"github.com/mcpbox/mcpbox/db/internal/inputshash"
)

// TestOPS10_GeneratedCodeIsFresh fails, naming each file, when sqlc's inputs
// or outputs changed since `make generate` wrote dbq/INPUTS.sha256: a stale
// or hand-edited file in db/dbq, or a migration, query or sqlc.yaml edited
// without regenerating.
func TestOPS10_GeneratedCodeIsFresh(t *testing.T) {
	t.Parallel()
	stale, err := inputshash.Check(".", filepath.Join("..", "tools", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range stale {
		t.Errorf("stale (paths in db/): %s; run `make generate` and commit the result", name)
	}
}
