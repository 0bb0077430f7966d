package egress

import (
	"net/netip"

	"github.com/mcpbox/mcpbox/proto/addrclass"
)

// Class is the address class of sandbox.md §12.3 (package proto/addrclass,
// shared with the backend).
type Class = addrclass.Class

// Address classes.
const (
	ClassPublic        = addrclass.ClassPublic
	ClassPrivate       = addrclass.ClassPrivate
	ClassAlwaysBlocked = addrclass.ClassAlwaysBlocked
)

// Classifier assigns an address its class (proto/addrclass).
type Classifier = addrclass.Classifier

// NewClassifier returns a classifier with the fixed tables and the extra
// always-blocked prefixes.
func NewClassifier(deny []netip.Prefix) *Classifier { return addrclass.NewClassifier(deny) }
