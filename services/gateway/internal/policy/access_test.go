package policy_test

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/policy"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// remoteCaller parses identity headers as the remote listener does.
func remoteCaller(t *testing.T, email string) caller.Caller {
	t.Helper()
	h := http.Header{}
	h.Set(proto.HeaderUserEmail, email)
	c, err := caller.ParseIdentity(h)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func withAllowlist(mode proto.AllowlistMode, values ...string) proto.Policy {
	p := proto.DefaultPolicy()
	p.RemoteEmailAllowlist = proto.RemoteEmailAllowlist{Mode: mode, Values: values}
	return p
}

// check asserts that email is served (want "") or limited with the text
// want: initialize always passes, tools/list is refused in band.
func check(t *testing.T, p proto.Policy, email, want string) {
	t.Helper()
	c := caller.Remote("", "")
	if email != "" {
		c = remoteCaller(t, email)
	}
	z := policy.NewAuthorizer(caller.NewAuthFailures(prometheus.NewRegistry()))
	if ref := z.Authorize(p, c, http.MethodPost, "initialize"); ref != nil {
		t.Errorf("%q: initialize refused: %+v", email, ref)
	}
	ref := z.Authorize(p, c, http.MethodPost, "tools/list")
	switch {
	case want == "" && ref != nil:
		t.Errorf("%q: tools/list refused: %+v", email, ref)
	case want != "" && ref == nil:
		t.Errorf("%q: tools/list served, want %q", email, want)
	case want != "" && (ref.Status != http.StatusOK || ref.Code != rpcerr.CodeAccessDenied || ref.Message != want):
		t.Errorf("%q: refusal %+v, want 200 -32080 %q", email, ref, want)
	}
}

// GW-38: policy emails [a@x.com]: A@X.COM is served; b@x.com can
// initialise but tools/list gets -32080 with the not-allowed text.
func TestGW38_EmailAllowlist(t *testing.T) {
	t.Parallel()
	p := withAllowlist(proto.AllowEmails, "a@x.com")
	check(t, p, "A@X.COM", "")
	check(t, p, "a@x.com", "")
	check(t, p, "b@x.com", "Access denied: b@x.com is not allowed to use this MCPbox. Ask the MCPbox admin to add it under Remote access → Who may connect.")
	check(t, p, "a@x.com.evil.example", policy.MsgNotAllowed("a@x.com.evil.example"))
	check(t, withAllowlist(proto.AllowEmails), "a@x.com", policy.MsgNotAllowed("a@x.com"))
}

// GW-39: policy email_domain x.com: u@x.com is served; u@sub.x.com and
// u@y.com are limited.
func TestGW39_EmailDomain(t *testing.T) {
	t.Parallel()
	p := withAllowlist(proto.AllowEmailDomain, "x.com")
	check(t, p, "u@x.com", "")
	check(t, p, "U@X.Com", "")
	check(t, p, "u@sub.x.com", policy.MsgNotAllowed("u@sub.x.com"))
	check(t, p, "u@y.com", policy.MsgNotAllowed("u@y.com"))
	check(t, p, "u@notx.com", policy.MsgNotAllowed("u@notx.com"))
	check(t, p, "", policy.MsgMissingEmail)
}

// GW-40: policy everyone: any email is served; no email is still limited;
// an unknown policy type limits everyone.
func TestGW40_EveryoneAndUnknownMode(t *testing.T) {
	t.Parallel()
	p := withAllowlist(proto.AllowEveryone)
	check(t, p, "anyone@anywhere.example", "")
	check(t, p, "", "This MCPbox requires a signed-in user with an email address, and this connection's token carries none. "+
		"Ask the MCPbox admin to include the email claim in the identity provider's tokens.")
	for _, mode := range []proto.AllowlistMode{"", "all", "Everyone"} {
		q := withAllowlist(mode, "a@x.com", "x.com")
		check(t, q, "a@x.com", policy.MsgNotAllowed("a@x.com"))
	}
}

// The anonymous set of §6.3, for a limited caller (the decision half of
// GW-37): initialize, server/discover, ping and notifications pass; every
// other method gets the error in band; GET and DELETE get 403.
func TestLimitedCallerMethods(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	z := policy.NewAuthorizer(caller.NewAuthFailures(reg))
	p := withAllowlist(proto.AllowEveryone)
	anon := caller.Remote("", "sub-1")
	for _, m := range []string{"initialize", "server/discover", "ping", "notifications/initialized", "notifications/cancelled"} {
		if ref := z.Authorize(p, anon, http.MethodPost, m); ref != nil {
			t.Errorf("%s refused", m)
		}
	}
	for _, m := range []string{"tools/list", "tools/call", "subscriptions/listen", "resources/list", "", "notifications", "pingx"} {
		ref := z.Authorize(p, anon, http.MethodPost, m)
		if ref == nil || ref.Status != http.StatusOK || ref.Message != policy.MsgMissingEmail {
			t.Errorf("%q: %+v", m, ref)
		}
	}
	for _, hm := range []string{http.MethodGet, http.MethodDelete} {
		ref := z.Authorize(p, anon, hm, "")
		if ref == nil || ref.Status != http.StatusForbidden || ref.Code != rpcerr.CodeAccessDenied || ref.Message != policy.MsgMissingEmail {
			t.Errorf("%s: %+v", hm, ref)
		}
	}
	denied := remoteCaller(t, "b@x.com")
	if ref := z.Authorize(withAllowlist(proto.AllowEmails, "a@x.com"), denied, http.MethodGet, ""); ref == nil || ref.Status != http.StatusForbidden {
		t.Errorf("GET by a refused email: %+v", ref)
	}
	// Local callers are never limited, whatever the policy.
	for _, hm := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		if ref := z.Authorize(withAllowlist("nonsense"), caller.Local(), hm, "tools/call"); ref != nil {
			t.Errorf("local %s refused", hm)
		}
	}
	for reason, want := range map[string]float64{"no_email": 9, "not_allowed": 1} {
		got := value(t, reg, "mcpbox_gateway_auth_failures_total", "reason", reason)
		if got != want {
			t.Errorf("auth_failures_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
}
