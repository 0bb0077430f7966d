package migrationlint_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/migrationlint"
)

// where is the location and rule of a finding, what the fixtures assert.
type where struct {
	Line int
	Rule migrationlint.Rule
}

func TestLint_EmbeddedMigrationsAreClean(t *testing.T) {
	t.Parallel()
	findings, err := migrationlint.LintFS(db.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("%s", f)
	}
}

// TestOPS37_LintRejects runs the lint over fixtures: each must give exactly
// the listed findings, and every finding names the file, the line and the rule.
func TestOPS37_LintRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []where
	}{
		// OPS-37: an unmarked DROP COLUMN is rejected.
		{"00010_drop_column.sql", []where{{5, migrationlint.RuleDestructive}}},
		// OPS-37: a non-concurrent index on the execution table is rejected.
		{"00011_index_execution_records.sql", []where{{5, migrationlint.RuleAppendOnlyIndex}}},
		{"00012_no_timeouts.sql", []where{{1, migrationlint.RuleLockTimeout}, {1, migrationlint.RuleStatementTimeout}}},
		{"00013_concurrently_in_tx.sql", []where{{4, migrationlint.RuleConcurrently}}},
		{"00014_contract.sql", nil},
		{"00015_concurrent_index.sql", nil},
		{"00016_tricky.sql", nil},
		{"00017_each_destructive.sql", []where{
			{4, migrationlint.RuleDestructive},
			{5, migrationlint.RuleDestructive},
			{6, migrationlint.RuleDestructive},
			{7, migrationlint.RuleDestructive},
			{8, migrationlint.RuleDestructive},
		}},
		{"00018_contract_without_floor.sql", []where{{1, migrationlint.RuleContractFloor}}},
		{"00019_session_settings.sql", []where{
			{2, migrationlint.RuleLockTimeout},
			{2, migrationlint.RuleSessionSetting},
			{3, migrationlint.RuleStatementTimeout},
			{5, migrationlint.RuleAppendOnlyIndex},
		}},
		{"00020_late_timeouts.sql", []where{
			{3, migrationlint.RuleLockTimeout}, {4, migrationlint.RuleStatementTimeout}, {5, migrationlint.RuleAnnotation},
		}},
		{"bad-name.sql", []where{{1, migrationlint.RuleFileName}, {1, migrationlint.RuleAnnotation}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join("testdata", "fixtures", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			findings := migrationlint.Lint(tt.file, src)
			var got []where
			for _, f := range findings {
				got = append(got, where{f.Line, f.Rule})
				prefix := tt.file + ":" + strconv.Itoa(f.Line) + ": " + string(f.Rule) + ": "
				if s := f.String(); !strings.HasPrefix(s, prefix) || len(s) == len(prefix) {
					t.Errorf("finding %q does not start with %q and a message", s, prefix)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s\nall findings:\n%s", diff, join(findings))
			}
		})
	}
}

func TestLintFS_Sequence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ok := "-- +goose Up\nSET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '5s';\nSELECT 1;\n" +
		"-- +goose Down\nSELECT 1;\n"
	for _, name := range []string{"00001_a.sql", "00002_b.sql", "00004_d.sql"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(ok), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	findings, err := migrationlint.LintFS(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"00004_d.sql:1: sequence: version 4 where 3 was expected: versions run 1, 2, 3, … without gaps or duplicates"}
	var got []string
	for _, f := range findings {
		got = append(got, f.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings mismatch (-want +got):\n%s", diff)
	}
}

func join(fs []migrationlint.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}
