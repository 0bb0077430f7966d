package testrun

import (
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
)

// publicHost reports whether a normalised manifest host entry ("host",
// "host:port", "[v6]" or "[v6]:port") may reach unreviewed code (backend.md
// §11.2): a public-looking name (§6.5), or an IP literal of the sandbox's
// public class (approvals.PublicLooking, which uses proto/addrclass, the
// broker's own tables).
func publicHost(entry string) bool {
	t, err := approvals.ParseTarget(entry, nil)
	if err != nil {
		return false
	}
	return approvals.PublicLooking(t.Host)
}
