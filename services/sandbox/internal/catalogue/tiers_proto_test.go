package catalogue_test

import (
	"slices"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
)

// The catalogue's default and opt-in tiers are exactly the sets the backend
// enforces (proto.DefaultPackages, proto.ApprovablePackages; backend.md
// §6.2): a package added to one side only fails here.
func TestTiersMatchTheBackendsSets(t *testing.T) {
	t.Parallel()
	var def, opt []string
	for _, p := range catalogue.Packages() {
		switch p.Tier {
		case proto.TierDefault:
			def = append(def, p.Path)
		case proto.TierOptIn:
			opt = append(opt, p.Path)
		}
	}
	slices.Sort(def)
	slices.Sort(opt)
	if !slices.Equal(def, proto.DefaultPackages()) {
		t.Errorf("default tier %v\nproto.DefaultPackages %v", def, proto.DefaultPackages())
	}
	if !slices.Equal(opt, proto.ApprovablePackages()) {
		t.Errorf("opt-in tier %v\nproto.ApprovablePackages %v", opt, proto.ApprovablePackages())
	}
}
