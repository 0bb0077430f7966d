package egress

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// refusal is one URL that must be refused with a reason.
type refusal struct {
	url    string
	reason Reason
}

// expectRefused sends each URL through a tool session of env with hosts
// (nil = allowed_hosts null) and checks the reason, that the message names
// the next step, and that nothing was resolved or dialled.
func expectRefused(t *testing.T, env *testEnv, hosts []string, cases []refusal) {
	t.Helper()
	s := env.session(t, hosts)
	for _, c := range cases {
		before := len(env.net.dials())
		_, err := get(t, s, c.url)
		got, msg := blockedReason(err)
		if got != c.reason {
			t.Errorf("%s (allowed %q): reason %q (%s), want %q", c.url, hosts, got, msg, c.reason)
			continue
		}
		if !strings.Contains(msg, "mcpbox_request_network_access") && !strings.Contains(msg, "never reach") &&
			!strings.HasPrefix(msg, "Only http and https URLs") {
			t.Errorf("%s: message %q names no next step", c.url, msg)
		}
		for _, leak := range []string{"10.0.0.", "127.0.0.1", "169.254.169.254", "93.184."} {
			// An IPv6 literal is shown in canonical form, which may spell an
			// embedded IPv4 address; only names must not leak answers.
			if strings.Contains(msg, leak) && !strings.Contains(c.url, leak) && !strings.Contains(c.url, "[") {
				t.Errorf("%s: message %q reveals a resolved address", c.url, msg)
			}
		}
		if n := len(env.net.dials()); n != before {
			t.Errorf("%s: refused request dialled %v", c.url, env.net.dials()[before:])
		}
	}
}

func TestSB45_LoopbackAndUnspecifiedRefused(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	env.dns.set("localhost", []string{"127.0.0.1"})
	cases := []refusal{
		{"http://127.0.0.1/", ReasonAlwaysBlocked},
		{"http://127.0.0.1:8080/admin", ReasonAlwaysBlocked},
		{"http://localhost/", ReasonBlockedHostname},
		{"http://LOCALHOST./", ReasonBlockedHostname},
		{"http://api.localhost/", ReasonBlockedHostname},
		{"http://[::1]/", ReasonAlwaysBlocked},
		{"http://0.0.0.0/", ReasonAlwaysBlocked},
		{"http://0/", ReasonBadURL},
		{"http://ip6-localhost/", ReasonBlockedHostname},
		{"http://localhost.localdomain/", ReasonBlockedHostname},
	}
	expectRefused(t, env, nil, cases)
	expectRefused(t, env, []string{"api.example.com"}, cases[:1])
	if n := env.dns.lookups("localhost"); n != 0 {
		t.Errorf("localhost was resolved %d times; it must be refused before DNS", n)
	}
}

func TestSB46_MetadataRefusedEvenWhenApproved(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	env.dns.set("metadata.google.internal", []string{"169.254.169.254"})
	env.dns.set("metadata.azure.com", []string{"169.254.169.254"})
	cases := []refusal{
		{"http://169.254.169.254/latest/meta-data/", ReasonAlwaysBlocked},
		{"http://metadata.google.internal/computeMetadata/v1/", ReasonBlockedHostname},
		{"http://metadata.azure.com/metadata/instance", ReasonBlockedHostname},
		{"http://169.254.169.255/", ReasonAlwaysBlocked},
		{"http://100.100.100.200/latest/meta-data/", ReasonAlwaysBlocked},
		{"http://168.63.129.16/", ReasonAlwaysBlocked},
		{"http://[fd00:ec2::254]/", ReasonAlwaysBlocked},
		{"http://metadata/", ReasonBlockedHostname},
		{"http://instance-data.ec2.internal/", ReasonBlockedHostname},
		{"https://kubernetes.default.svc/api", ReasonBlockedHostname},
	}
	expectRefused(t, env, nil, cases)
	approved := []string{
		"169.254.169.254", "metadata.google.internal", "metadata.azure.com", "169.254.169.255",
		"100.100.100.200", "168.63.129.16", "[fd00:ec2::254]", "metadata", "instance-data.ec2.internal",
		"kubernetes.default.svc",
	}
	expectRefused(t, env, approved, cases)
	msg := (&BlockedError{Host: "169.254.169.254:80", Reason: ReasonAlwaysBlocked}).Error()
	_, err := get(t, env.session(t, approved), "http://169.254.169.254/")
	if err == nil || err.Error() != msg {
		t.Errorf("message = %v, want %q", err, msg)
	}
}

func TestSB47_NonCanonicalIPLiteralsRefusedBeforeDNS(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	var cases []refusal
	for _, host := range []string{
		"2130706433", "0x7f000001", "017700000001", "127.1", "0177.0.0.1",
		"0x7f.0.0.1", "127.0.1", "0", "00000", "1.2.3.04", "0X7F000001", "3232235777",
	} {
		env.dns.set(host, []string{"127.0.0.1"})
		cases = append(cases, refusal{"http://" + host + "/", ReasonBadURL})
	}
	expectRefused(t, env, nil, cases)
	for _, c := range cases {
		host := strings.TrimSuffix(strings.TrimPrefix(c.url, "http://"), "/")
		if n := env.dns.lookups(host); n != 0 {
			t.Errorf("%s was resolved %d times", host, n)
		}
	}
	_, err := get(t, env.session(t, nil), "http://2130706433/")
	if !strings.Contains(err.Error(), "not a canonical IP address") {
		t.Errorf("message %q should name the rule", err)
	}
}

func TestSB48_EmbeddedIPv4AndZonesRefused(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	expectRefused(t, env, nil, []refusal{
		{"http://[::ffff:127.0.0.1]/", ReasonAlwaysBlocked},
		{"http://[::ffff:7f00:1]/", ReasonAlwaysBlocked},
		{"http://[::ffff:169.254.169.254]/", ReasonAlwaysBlocked},
		{"http://[::127.0.0.1]/", ReasonAlwaysBlocked},
		{"http://[64:ff9b::7f00:1]/", ReasonAlwaysBlocked},
		{"http://[2002:7f00:1::]/", ReasonAlwaysBlocked},
		{"http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", ReasonAlwaysBlocked}, // Teredo client 127.0.0.1
		{"http://[fe80::1%25eth0]/", ReasonBadURL},
		{"http://[fe80::1]/", ReasonAlwaysBlocked},
		{"http://[fc00::1]/", ReasonPrivateAddress},
		{"http://[::ffff:10.0.0.1]/", ReasonPrivateAddress},
	})
	// NAT64 to a public IPv4 address stays allowed (IPv6-only clusters).
	srv := newOKServer(t, "nat64")
	env.net.route("[64:ff9b::5db8:d822]:80", srv.Server)
	resp, err := get(t, env.session(t, nil), "http://[64:ff9b::5db8:d822]/")
	if err != nil || resp.Status != http.StatusOK || string(resp.Body) != "nat64" {
		t.Fatalf("NAT64 public: %+v, %v", resp, err)
	}
}

func TestSB49_PrivateRangesNeedApprovalAlwaysBlockedStay(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	srv := newOKServer(t, "lan")
	private := []string{"10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "198.18.0.1", "10.0.0.5"}
	var cases []refusal
	for _, ip := range private {
		env.net.route(ip+":80", srv.Server)
		cases = append(cases, refusal{"http://" + ip + "/", ReasonPrivateAddress})
	}
	always := []refusal{
		{"http://224.0.0.1/", ReasonAlwaysBlocked},
		{"http://255.255.255.255/", ReasonAlwaysBlocked},
		{"http://127.0.0.1/", ReasonAlwaysBlocked},
		{"http://localhost/", ReasonBlockedHostname},
		{"http://169.254.169.254/", ReasonAlwaysBlocked},
	}
	expectRefused(t, env, nil, append(cases, always...))
	approved := append([]string{"224.0.0.1", "255.255.255.255", "127.0.0.1", "localhost", "169.254.169.254"}, private...)
	expectRefused(t, env, approved, always)
	s := env.session(t, approved)
	for _, ip := range private {
		resp, err := get(t, s, "http://"+ip+"/")
		if err != nil || string(resp.Body) != "lan" {
			t.Errorf("approved %s: %+v, %v", ip, resp, err)
		}
	}
}

func TestSB50_DNSRebindingRefusedAtDial(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	srv := newOKServer(t, "public")
	env.net.route("93.184.216.34:80", srv.Server)

	t.Run("new connection", func(t *testing.T) {
		t.Parallel()
		env.dns.set("rebind.example", []string{"93.184.216.34"}, []string{"127.0.0.1"})
		s := env.session(t, nil)
		if resp, err := get(t, s, "http://rebind.example/"); err != nil || string(resp.Body) != "public" {
			t.Fatalf("first request: %+v, %v", resp, err)
		}
		// The server drops the kept-alive connection; the next request
		// (or the transport's retry of it) must dial, and resolve, again.
		srv.CloseClientConnections()
		s.Close()
		_, err := get(t, s, "http://rebind.example/")
		if got, msg := blockedReason(err); got != ReasonAlwaysBlocked {
			t.Fatalf("after the flip: %q (%s), want always_blocked", got, msg)
		}
	})
	t.Run("keep-alive reconnect", func(t *testing.T) {
		t.Parallel()
		closing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Connection", "close") // the server drops the connection after each response
			_, _ = w.Write([]byte("public"))
		}))
		t.Cleanup(closing.Close)
		env.net.route("93.184.216.35:80", closing)
		env.dns.set("flip.example", []string{"93.184.216.35"}, []string{"10.0.0.1"}, []string{"127.0.0.1"})
		s := env.session(t, []string{"flip.example"})
		if resp, err := get(t, s, "http://flip.example/"); err != nil || string(resp.Body) != "public" {
			t.Fatalf("first request: %+v, %v", resp, err)
		}
		_, err := get(t, s, "http://flip.example/")
		if got, msg := blockedReason(err); got != ReasonPrivateAddress {
			t.Fatalf("second connection: %q (%s), want private_address", got, msg)
		}
		_, err = get(t, s, "http://flip.example/")
		if got, msg := blockedReason(err); got != ReasonAlwaysBlocked {
			t.Fatalf("third connection: %q (%s), want always_blocked", got, msg)
		}
	})
}

// TestDialControlRechecksRealSockets proves the net.Dialer.Control hook
// refuses a real connection whose exact address is refused, even when the
// earlier checks were bypassed (SB-50, broker layer): the loopback listener
// never sees a connection.
func TestDialControlRechecksRealSockets(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	b, err := New(Config{}, prometheus.NewRegistry(), env.broker.log, WithResolver(env.dns)) // no test dial: real sockets
	if err != nil {
		t.Fatal(err)
	}
	srv := newOKServer(t, "never")
	s := b.NewSession(AnyPublic(), SourceTool, ToolLimits())
	defer s.Close()
	tg, err := s.policy.CheckHost("rebind.example", 80)
	if err != nil {
		t.Fatal(err)
	}
	control := s.control(tg)
	for _, c := range []struct{ network, addr string }{
		{"tcp4", "127.0.0.1:80"},
		{"tcp6", "[::1]:80"},
		{"tcp4", "10.0.0.1:80"},
		{"udp4", "93.184.216.34:53"},
		{"tcp4", "not an address"},
	} {
		if got, msg := blockedReason(control(c.network, c.addr, nil)); got != ReasonAlwaysBlocked && got != ReasonPrivateAddress {
			t.Errorf("control(%s, %s) = %q (%s), want a refusal", c.network, c.addr, got, msg)
		}
	}
	if err := control("tcp4", "93.184.216.34:80", nil); err != nil {
		t.Errorf("control(public) = %v", err)
	}
	d := net.Dialer{Control: control}
	conn, err := d.DialContext(t.Context(), "tcp4", srv.Listener.Addr().String())
	if err == nil {
		_ = conn.Close()
		t.Fatal("a real dial to loopback passed the Control hook")
	}
	if got, _ := blockedReason(err); got != ReasonAlwaysBlocked {
		t.Errorf("real dial: %v, want always_blocked", err)
	}
	if srv.count() != 0 {
		t.Errorf("the loopback fixture received %d requests", srv.count())
	}
}

func TestSB51_MultiRecordAndApprovedNames(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	srv := newOKServer(t, "nas")
	pub := newOKServer(t, "public")
	env.net.route("10.0.0.5:80", srv.Server)
	env.net.route("10.0.0.1:80", srv.Server)
	env.net.route("93.184.216.34:80", pub.Server)
	env.dns.set("mixed.example", []string{"93.184.216.34", "10.0.0.1"})
	env.dns.set("api.example.com", []string{"10.0.0.5"})
	env.dns.set("nas.lan", []string{"10.0.0.5"})
	expectRefused(t, env, nil, []refusal{{"http://mixed.example/", ReasonPrivateAddress}})
	expectRefused(t, env, []string{"api.example.com"}, []refusal{{"http://api.example.com/", ReasonPrivateAddress}})
	_, err := get(t, env.session(t, []string{"api.example.com"}), "http://api.example.com/")
	if !strings.Contains(err.Error(), "is approved, but it now resolves to a private or reserved address") {
		t.Errorf("approved public-looking name: message %q", err)
	}
	s := env.session(t, []string{"nas.lan", "10.0.0.5"})
	for _, u := range []string{"http://nas.lan/", "http://10.0.0.5/"} {
		if resp, err := get(t, s, u); err != nil || string(resp.Body) != "nas" {
			t.Errorf("%s: %+v, %v", u, resp, err)
		}
	}
	if pub.count() != 0 {
		t.Errorf("the public half of a refused multi-record answer was dialled")
	}
}

func TestSB52_RedirectsReturnedNotFollowed(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := map[string]int{"/302": 302, "/307": 307, "/308": 308}[strings.TrimSuffix(r.URL.Path, "/meta")]
		target := "http://127.0.0.1/"
		if strings.HasSuffix(r.URL.Path, "/meta") {
			target = "http://169.254.169.254/latest/meta-data/"
		}
		http.Redirect(w, r, target, code)
	}))
	t.Cleanup(redirect.Close)
	env.net.route("93.184.216.34:80", redirect)
	env.dns.set("redirect.example", []string{"93.184.216.34"})
	s := env.session(t, nil)
	for _, path := range []string{"/302", "/307", "/308", "/302/meta", "/307/meta", "/308/meta"} {
		resp, err := get(t, s, "http://redirect.example"+path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		loc := resp.Header.Get("Location")
		if resp.Status < 300 || resp.Status > 399 || loc == "" {
			t.Fatalf("%s: status %d, Location %q; want the 3xx returned as is", path, resp.Status, loc)
		}
		_, err = get(t, s, loc) // the tool follows Location by hand
		if got, msg := blockedReason(err); got != ReasonAlwaysBlocked {
			t.Errorf("%s → %s: %q (%s), want always_blocked", path, loc, got, msg)
		}
	}
	// The parent-side client returns redirects too.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://redirect.example/307", nil)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("Client: status %d, want 307 unfollowed", resp.StatusCode)
	}
}

func TestSB53_AllowlistMatching(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	srv := newOKServer(t, "ok")
	for _, port := range []string{"80", "443", "1883", "8081", "9000"} {
		env.net.route("93.184.216.34:"+port, srv.Server)
	}
	env.dns.set("api.example.com", []string{"93.184.216.34"})
	env.dns.set("mqtt.example.com", []string{"93.184.216.34"})
	env.dns.set("xn--mnchen-3ya.example", []string{"93.184.216.34"})
	env.dns.set("other.example.com", []string{"93.184.216.34"})
	env.dns.set("nas.lan", []string{"10.0.0.9"})

	// Unapproved host: the message names host:port and the request tool.
	_, err := get(t, env.session(t, []string{"api.example.com"}), "https://other.example.com/x")
	want := "Network access to 'other.example.com:443' is not approved for this tool. Ask for it with mcpbox_request_network_access (host 'other.example.com', port 443)."
	if err == nil || err.Error() != want {
		t.Errorf("unapproved: %v\nwant %q", err, want)
	}

	// host:port approves that port only; a bare host approves every port.
	s := env.session(t, []string{"mqtt.example.com:8081", "api.example.com"})
	for url, ok := range map[string]bool{
		"http://mqtt.example.com:8081/": true,
		"http://mqtt.example.com/":      false,
		"http://mqtt.example.com:1883/": false,
		"http://api.example.com/":       true,
		"http://api.example.com:9000/":  true,
		"http://api.example.com:1883/":  true,
	} {
		_, err := get(t, s, url)
		if got, msg := blockedReason(err); ok != (err == nil) || (!ok && got != ReasonNotApproved) {
			t.Errorf("%s: %q (%s), want allowed=%v", url, got, msg, ok)
		}
	}

	// Case, trailing dot and IDN match consistently, in entries and URLs.
	for _, entry := range []string{"münchen.example", "xn--mnchen-3ya.example", "MÜNCHEN.EXAMPLE.", "XN--MNCHEN-3YA.example"} {
		s := env.session(t, []string{entry})
		for _, url := range []string{"http://münchen.example/", "http://xn--mnchen-3ya.example/", "http://MÜNCHEN.example./", "http://XN--MNCHEN-3YA.EXAMPLE/"} {
			if _, err := get(t, s, url); err != nil {
				t.Errorf("entry %q, URL %q: %v", entry, url, err)
			}
		}
	}

	// [] refuses everything before DNS; null allows public hosts only.
	expectRefused(t, env, []string{}, []refusal{
		{"http://api.example.com/", ReasonNoNetwork},
		{"http://93.184.216.34/", ReasonNoNetwork},
		{"http://10.0.0.1/", ReasonNoNetwork},
	})
	expectRefused(t, env, nil, []refusal{
		{"http://nas.lan/", ReasonPrivateAddress},
		{"http://10.0.0.1/", ReasonPrivateAddress},
		{"http://db.internal/", ReasonBlockedHostname},
	})
	if _, err := get(t, env.session(t, nil), "http://api.example.com/"); err != nil {
		t.Errorf("null, public host: %v", err)
	}
	if _, err := get(t, env.session(t, []string{"93.184.216.34"}), "http://api.example.com/"); err == nil {
		t.Error("an IP-literal entry must not approve a name resolving to it")
	}
}

func TestSB54_URLAndHeaderTricks(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	srv := newOKServer(t, "ok")
	env.net.route("93.184.216.34:80", srv.Server)
	env.dns.set("api.example.com", []string{"93.184.216.34"})
	expectRefused(t, env, []string{"api.example.com", "127.0.0.1"}, []refusal{
		{"http://api.example.com@127.0.0.1/", ReasonBadURL},
		{"http://api.example.com:80@127.0.0.1/", ReasonBadURL},
		{"http://user:pass@api.example.com/", ReasonBadURL},
		{"http://127.0.0.1#@api.example.com/", ReasonAlwaysBlocked},
		{"http://127.0.0.1?@api.example.com/", ReasonAlwaysBlocked},
		{`http://api.example.com\@127.0.0.1/`, ReasonBadURL},
		{`http:\\127.0.0.1\`, ReasonBadURL},
		{`http://api.example.com\.127.0.0.1/`, ReasonBadURL},
		{"http://api.example.com /", ReasonBadURL},
		{" http://api.example.com/", ReasonBadURL},
		{"http://api.example.com/\t", ReasonBadURL},
		{"http://api.example.com/\r\nHost: 127.0.0.1", ReasonBadURL},
		{"http://api.example.com/%0d%0a\n", ReasonBadURL},
		{"http://api.example.com\u00a0/", ReasonBadURL},
		{"http://api.example.com\u3000/", ReasonBadURL},
		{"http://%31%32%37.0.0.1/", ReasonBadURL},
		{"http://api.example.com:/", ReasonBadURL},
		{"http://api.example.com:0080/", ReasonBadURL},
		{"http://api.example.com:65536/", ReasonBadURL},
		{"http:///path", ReasonBadURL},
		{"http:api.example.com", ReasonBadURL},
		{"//api.example.com/", ReasonBadURL},
		{"http://" + strings.Repeat("a", MaxURLBytes), ReasonBadURL},
	})
	s := env.session(t, []string{"api.example.com"})
	// CR, LF and NUL in header names or values fail the call.
	for _, h := range []http.Header{
		{"X-A": {"v\r\nHost: 169.254.169.254"}},
		{"X-A": {"v\nx"}},
		{"X-A": {"v\x00"}},
		{"X-A\r\nHost": {"v"}},
		{"Bad Name": {"v"}},
	} {
		_, err := s.Do(t.Context(), Request{Method: http.MethodGet, URL: "http://api.example.com/", Header: h})
		if OutcomeOf(err) != OutcomeInvalid || !strings.Contains(err.Error(), "invalid header") {
			t.Errorf("header %q: %v, want invalid header", h, err)
		}
	}
	// A tool-set Host header, or a req.Host override through the
	// RoundTripper, is neutralised: the URL decides.
	_, err := s.Do(t.Context(), Request{
		Method: http.MethodGet, URL: "http://api.example.com/x",
		Header: http.Header{"Host": {"169.254.169.254"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.lastRequest().Host; got != "api.example.com" {
		t.Errorf("Host header override reached the server: %q", got)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://api.example.com/y", nil)
	req.Host = "169.254.169.254"
	resp, err := s.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := srv.lastRequest().Host; got != "api.example.com" {
		t.Errorf("req.Host override reached the server: %q", got)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("fixture saw %d requests, want 2", n)
	}
}

func TestSB55_SchemesRefused(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	expectRefused(t, env, nil, []refusal{
		{"file:///etc/passwd", ReasonBadURL},
		{"file://localhost/etc/passwd", ReasonBadURL},
		{"ftp://ftp.example.com/", ReasonBadURL},
		{"gopher://api.example.com:70/_GET", ReasonBadURL},
		{"data:text/plain,hello", ReasonBadURL},
		{"unix:///var/run/docker.sock", ReasonBadURL},
		{"ws://api.example.com/socket", ReasonBadURL},
		{"wss://api.example.com/socket", ReasonBadURL},
		{"javascript:alert(1)", ReasonBadURL},
		{"api.example.com/path", ReasonBadURL},
	})
	_, err := get(t, env.session(t, nil), "ftp://ftp.example.com/")
	if want := `Only http and https URLs without credentials are allowed: the scheme must be http or https, not "ftp".`; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestSB57_BudgetBodyAndTimeoutCaps(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	srv := newOKServer(t, "ok")
	env.net.route("93.184.216.34:80", srv.Server)
	env.dns.set("api.example.com", []string{"93.184.216.34"})

	t.Run("budget", func(t *testing.T) {
		t.Parallel()
		s := env.session(t, []string{"api.example.com", "blocked.example"})
		for i := range MaxToolRequests {
			url := "http://api.example.com/"
			if i%10 == 0 {
				url = "http://127.0.0.1/" // refused requests count too
			}
			_, err := get(t, s, url)
			if err != nil && OutcomeOf(err) != OutcomeBlocked {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		_, err := get(t, s, "http://api.example.com/")
		if OutcomeOf(err) != OutcomeBudgetExceeded || err.Error() != "This execution already made 100 HTTP requests (the limit)." {
			t.Fatalf("request 101: %v", err)
		}
	})
	// Not parallel: it counts the fixture's requests, which its parallel
	// siblings would change; it runs while they wait.
	t.Run("request body", func(t *testing.T) { //nolint:paralleltest // counts the shared fixture's requests
		s := env.session(t, []string{"api.example.com"})
		before := srv.count()
		_, err := s.Do(t.Context(), Request{Method: http.MethodPost, URL: "http://api.example.com/", Body: make([]byte, 5<<20)})
		if OutcomeOf(err) != OutcomeTooLarge || !strings.Contains(err.Error(), "4 MiB") {
			t.Fatalf("5 MiB body: %v", err)
		}
		_, err = s.Do(t.Context(), Request{Method: http.MethodPost, URL: "http://api.example.com/", Body: make([]byte, 4<<20)})
		if err != nil {
			t.Fatalf("4 MiB body: %v", err)
		}
		if srv.count() != before+1 {
			t.Errorf("the oversize body was sent")
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}))
		t.Cleanup(hang.Close)
		env.net.route("93.184.216.40:80", hang)
		env.dns.set("slow.example", []string{"93.184.216.40"})
		s := env.session(t, []string{"slow.example"})
		_, err := s.Do(t.Context(), Request{Method: http.MethodGet, URL: "http://slow.example/", Timeout: 50 * time.Millisecond})
		if OutcomeOf(err) != OutcomeTimeout || !strings.Contains(err.Error(), "'slow.example:80' timed out") {
			t.Fatalf("hanging server: %v", err)
		}
	})
}
