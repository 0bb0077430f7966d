package portcheck_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/portcheck"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/settings"
)

// OPS-6: a taken port aborts the start and is named, with the variable that moves it.
func TestOPS6_TakenPortIsNamedWithItsVariable(t *testing.T) {
	t.Parallel()
	busy, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Close() }()
	free, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	if err := free.Close(); err != nil {
		t.Fatal(err)
	}
	err = portcheck.Check(context.Background(), []settings.Listener{
		{Service: "sandbox", Var: settings.SandboxListen, Addr: freeAddr},
		{Service: "gateway", Var: settings.GatewayRemoteListen, Addr: busy.Addr().String()},
	})
	if err == nil {
		t.Fatal("a taken port passed the check")
	}
	msg := err.Error()
	want := "port " + busy.Addr().String() + " (gateway) is taken; set MCPBOX_GATEWAY_REMOTE_LISTEN to another address"
	if !strings.Contains(msg, want) {
		t.Errorf("message %q, want it to contain %q", msg, want)
	}
	if strings.Contains(msg, freeAddr) {
		t.Errorf("free address named: %q", msg)
	}
	if err := portcheck.Check(context.Background(), []settings.Listener{{Service: "sandbox", Var: settings.SandboxListen, Addr: freeAddr}}); err != nil {
		t.Errorf("free address: %v", err)
	}
}
