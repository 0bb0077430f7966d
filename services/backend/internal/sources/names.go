package sources

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
)

// Import names (backend.md §13.2).
const (
	// importPrefixLen is how much of a too-long name is kept before the
	// hash suffix: 31 characters + "_" + 6 hex digits = 38.
	importPrefixLen = 31
	// importHashLen is the length of the hash suffix, in hex digits.
	importHashLen = 6
)

// ImportName is the MCPbox tool name of the upstream tool toolName of the
// source sourceName (§13.2): sanitize(sourceName) + "_" +
// sanitize(toolName); longer than 38 characters, its first 31 characters
// (trailing "_" trimmed) + "_" + the first 6 hex digits of the SHA-256 of
// toolName. Example: "GitHub MCP" + "list-repos" → github_mcp_list_repos.
// The result always passes proto.ValidateToolName.
func ImportName(sourceName, toolName string) string {
	name := sanitize(sourceName) + "_" + sanitize(toolName)
	if len(name) <= proto.MaxToolNameLen {
		return name
	}
	sum := sha256.Sum256([]byte(toolName))
	return strings.TrimRight(name[:importPrefixLen], "_") + "_" + hex.EncodeToString(sum[:])[:importHashLen]
}

// sanitize lowercases s, maps every character outside [a-z0-9] to "_",
// collapses runs of "_", trims "_", prefixes "t_" when the first character
// is not a letter, and yields "tool" when nothing is left.
func sanitize(s string) string {
	var b strings.Builder
	underscore := true // a "_" at the start is trimmed
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			underscore = false
			continue
		}
		if !underscore {
			b.WriteByte('_')
			underscore = true
		}
	}
	out := strings.TrimRight(b.String(), "_")
	switch {
	case out == "":
		return "tool"
	case out[0] < 'a' || out[0] > 'z':
		return "t_" + out
	}
	return out
}
