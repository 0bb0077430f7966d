package proto_test

import (
	"slices"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// The sets are sorted (membership is a binary search) and disjoint.
func TestPackageSetsAreSortedAndDisjoint(t *testing.T) {
	t.Parallel()
	def, opt := proto.DefaultPackages(), proto.ApprovablePackages()
	if !slices.IsSorted(def) || !slices.IsSorted(opt) {
		t.Fatal("package sets must be sorted (binary search)")
	}
	for _, p := range opt {
		if proto.IsDefaultPackage(p) {
			t.Errorf("%s is in both sets", p)
		}
	}
	if !proto.IsApprovablePackage("encoding/xml") || proto.IsApprovablePackage("os") || !proto.IsDefaultPackage("strings") {
		t.Fatal("membership")
	}
}
