package approvals

import (
	"fmt"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
)

// checkPackagePath validates an import path against the rule of
// backend.md §4.2 (package_requests.package).
func checkPackagePath(p string) error {
	bad := len(p) == 0 || len(p) > proto.MaxPackagePathLen
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" {
			bad = true
		}
		for i := range len(seg) {
			if c := seg[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				bad = true
			}
		}
	}
	if bad {
		return &proto.RuleError{Field: "package", Message: fmt.Sprintf(
			"must be a Go import path matching %s, at most %d characters, e.g. encoding/xml.", proto.PackagePathPattern, proto.MaxPackagePathLen)}
	}
	return nil
}
