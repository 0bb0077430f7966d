package sources

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

func hash6(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:6]
}

func TestImportName(t *testing.T) {
	t.Parallel()
	long60 := strings.Repeat("a", 60)
	// The 31st character of the joined name is "_": it is trimmed before
	// the hash suffix.
	underscoreAt31 := strings.Repeat("b", 19) + "-" + strings.Repeat("c", 30)
	tests := []struct {
		name, source, tool, want string
	}{
		{"spec example", "GitHub MCP", "list-repos", "github_mcp_list_repos"},
		{"runs collapse and ends trim", "__My..Source__", "--Get  Item--", "my_source_get_item"},
		{"digit first gets t_", "123 api", "9lives", "t_123_api_t_9lives"},
		{"nothing left is tool", "!!!", "", "tool_tool"},
		{"non-ASCII maps to _", "Ünïcode", "é", "n_code_tool"},
		{"uppercase lowered", "ABC", "DoIt", "abc_doit"},
		{"exactly 38 kept", "abcdefghij", strings.Repeat("x", 27), "abcdefghij_" + strings.Repeat("x", 27)},
		{"BE-83 60-char name", "GitHub MCP", long60, "github_mcp_" + strings.Repeat("a", 20) + "_" + hash6(long60)},
		{"trailing _ trimmed before suffix", "abcdefghij", underscoreAt31, "abcdefghij_" + strings.Repeat("b", 19) + "_" + hash6(underscoreAt31)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ImportName(tc.source, tc.tool)
			if got != tc.want {
				t.Fatalf("ImportName(%q, %q) = %q, want %q", tc.source, tc.tool, got, tc.want)
			}
			if err := proto.ValidateToolName(got); err != nil {
				t.Fatalf("%q is not a tool name: %v", got, err)
			}
		})
	}
	if n := len(ImportName("GitHub MCP", long60)); n != proto.MaxToolNameLen {
		t.Fatalf("BE-83: a 60-char external name yields %d characters, want %d", n, proto.MaxToolNameLen)
	}
}

// FuzzImportName: whatever the source and upstream names (both come from
// outside), the import name is a valid tool name of at most 38
// characters, the plain join when that fits, and otherwise ends with the
// hash of the upstream name.
func FuzzImportName(f *testing.F) {
	for _, seed := range [][2]string{
		{"GitHub MCP", "list-repos"},
		{"", ""},
		{"123", "456"},
		{"_", "_"},
		{"ÄÖÜ", "ß"},
		{"a", strings.Repeat("b-", 40)},
		{strings.Repeat("x", 64), strings.Repeat("y", 200)},
		{"\x00\xff", "\u212a"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, source, tool string) {
		got := ImportName(source, tool)
		if err := proto.ValidateToolName(got); err != nil {
			t.Fatalf("ImportName(%q, %q) = %q: %v", source, tool, got, err)
		}
		joined := sanitize(source) + "_" + sanitize(tool)
		if len(joined) <= proto.MaxToolNameLen {
			if got != joined {
				t.Fatalf("ImportName(%q, %q) = %q, want the join %q", source, tool, got, joined)
			}
			return
		}
		if !strings.HasSuffix(got, "_"+hash6(tool)) || !strings.HasPrefix(joined, strings.TrimSuffix(got, "_"+hash6(tool))) {
			t.Fatalf("ImportName(%q, %q) = %q: not a prefix of %q plus the hash suffix", source, tool, got, joined)
		}
		if got != ImportName(source, tool) {
			t.Fatal("not deterministic")
		}
	})
}
