//go:build e2e

package egress

import (
	"net/netip"
	"testing"
)

// In e2e builds exactly the listed loopback ip:port pairs become
// blocked-unless-approved; other ports and unapproved use stay refused.
func TestE2ELoopback(t *testing.T) {
	t.Parallel()
	srv := newOKServer(t, "fixture")
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	env := newTestEnv(t, Config{}, WithE2ELoopback([]netip.AddrPort{ap}))
	env.net.route(ap.String(), srv.Server)
	url := "http://" + ap.String() + "/"
	if resp, err := get(t, env.session(t, []string{ap.String()}), url); err != nil || string(resp.Body) != "fixture" {
		t.Fatalf("approved e2e loopback pair: %+v, %v", resp, err)
	}
	expectRefused(t, env, nil, []refusal{{url, ReasonPrivateAddress}})
	expectRefused(t, env, []string{"127.0.0.1"}, []refusal{{"http://127.0.0.1:1/", ReasonAlwaysBlocked}})
}
