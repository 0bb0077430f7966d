//go:build !e2e

package main

import (
	"github.com/mcpbox/mcpbox/services/sandbox/internal/config"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
)

// e2eEgressOptions: release builds have no way to reach loopback;
// MCPBOX_SANDBOX_E2E_LOOPBACK exists only in builds tagged e2e and is
// ignored here (a test proves such a request is refused).
func e2eEgressOptions(config.Config, func(string) string) ([]egress.Option, error) { return nil, nil }
