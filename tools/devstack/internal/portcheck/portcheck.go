// Package portcheck verifies that make run's addresses are free before anything starts, and names each
// taken one with the variable that moves it (operations.md §1.3 step 5).
package portcheck

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/settings"
)

// Check tries to bind every listener and reports all the taken ones at once.
func Check(ctx context.Context, listeners []settings.Listener) error {
	var errs []error
	for _, l := range listeners {
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", l.Addr)
		if err != nil {
			errs = append(errs, Taken(l, err))
			continue
		}
		if err := ln.Close(); err != nil {
			return fmt.Errorf("release %s: %w", l.Addr, err)
		}
	}
	return errors.Join(errs...)
}

// Taken is the message for one address that cannot be bound.
func Taken(l settings.Listener, cause error) error {
	return fmt.Errorf("port %s (%s) is taken; set %s to another address, or move every port with -port-offset: %w",
		l.Addr, l.Service, l.Var, cause)
}
