package dashboard

import (
	"context"
	"errors"
	"fmt"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

// Packages is GET /packages (backend.md §8.2): the package sets the backend
// enforces and the sandbox's catalogue.
type Packages struct {
	// Default and Approvable are the tiers of proto.DefaultPackages
	// and proto.ApprovablePackages; Approved the packages of the
	// approved package requests. All sorted.
	Default, Approvable, Approved []string
	// Catalogue is the sandbox's GET /v1/packages entries; nil when the
	// sandbox did not answer, and CatalogueError says why.
	Catalogue      []proto.Package
	CatalogueError *proto.Error
}

// Packages returns the package overview. The database must answer (an
// error otherwise); the sandbox need not: its failure is reported in
// CatalogueError with the code the backend uses for it (sandbox_unavailable,
// busy or sandbox_error) and a message without internal text.
func (s *Service) Packages(ctx context.Context) (Packages, error) {
	approved, err := s.store.ListApprovedPackages(ctx)
	if err != nil {
		return Packages{}, fmt.Errorf("packages: list the approved packages: %w", err)
	}
	out := Packages{Default: proto.DefaultPackages(), Approvable: proto.ApprovablePackages(), Approved: approved}
	cat, err := s.sandbox.Packages(ctx)
	if err != nil {
		out.CatalogueError = catalogueError(err)
		return out, nil
	}
	out.Catalogue = cat.Packages
	return out, nil
}

// catalogueError is the error body of a failed GET /v1/packages.
func catalogueError(err error) *proto.Error {
	var se *sandboxclient.Error
	if errors.As(err, &se) {
		return &proto.Error{Code: se.Code(), Message: se.Message()}
	}
	return &proto.Error{Code: proto.CodeSandboxUnavailable, Message: "The package catalogue could not be read from the sandbox; retry in a few seconds."}
}
