package egress

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
)

// answerResolver answers every name: names of even length with a public
// address, others with loopback, so the fuzzer meets both.
type answerResolver struct{}

func (answerResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if len(host)%2 == 0 {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// FuzzURLCheck: CheckURL never panics; an accepted URL is a fixed point
// (checking its normalised form gives the same target); a refused URL is
// never resolved or dialled; a dialled address is always public under
// allowed_hosts = null.
func FuzzURLCheck(f *testing.F) {
	var (
		mu     sync.Mutex
		dialed []netip.AddrPort
	)
	dials := func() []netip.AddrPort {
		mu.Lock()
		defer mu.Unlock()
		return append([]netip.AddrPort(nil), dialed...)
	}
	cls := NewClassifier(nil)
	dial := func(_ context.Context, ap netip.AddrPort) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		dialed = append(dialed, ap)
		return nil, errors.New("fuzz: no network")
	}
	b, err := New(Config{}, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		WithResolver(answerResolver{}), WithTestDial(dial))
	if err != nil {
		f.Fatal(err)
	}
	s := b.NewSession(AnyPublic(), SourceTool, Limits{RequestTimeout: MaxToolRequestTimeout})
	defer s.Close()
	p := s.Policy()
	f.Fuzz(func(t *testing.T, raw string) {
		mu.Lock()
		dialed = dialed[:0]
		mu.Unlock()
		tg, err := p.CheckURL(raw)
		if err != nil {
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("CheckURL(%q) error %T is not a *BlockedError", raw, err)
			}
			if _, derr := s.Do(t.Context(), Request{Method: http.MethodGet, URL: raw}); OutcomeOf(derr) != OutcomeBlocked {
				t.Fatalf("CheckURL refused %q but Do gave %v", raw, derr)
			}
			if d := dials(); len(d) != 0 {
				t.Fatalf("refused %q was dialled: %v", raw, d)
			}
			return
		}
		if n, err := proto.NormalizeHost(tg.Host); err != nil || n != tg.Host {
			t.Fatalf("host %q of %q is not normalised (%q, %v)", tg.Host, raw, n, err)
		}
		again, err := p.CheckURL(tg.URL.String())
		if err != nil {
			t.Fatalf("normalised %q of %q refused: %v", tg.URL, raw, err)
		}
		if again.URL.String() != tg.URL.String() || again.HostPort() != tg.HostPort() {
			t.Fatalf("not a fixed point: %q → %q (%s) → %q (%s)", raw, tg.URL, tg.HostPort(), again.URL, again.HostPort())
		}
		if !utf8.ValidString(tg.URL.String()) || strings.ContainsAny(tg.URL.String(), "\\\r\n\x00 ") {
			t.Fatalf("accepted URL %q holds forbidden characters", tg.URL)
		}
		_, _ = s.Do(t.Context(), Request{Method: http.MethodGet, URL: raw})
		for _, ap := range dials() {
			if cls.Classify(ap.Addr()) != ClassPublic {
				t.Fatalf("%q dialled the non-public %s", raw, ap)
			}
		}
	})
}

// FuzzAllowedHostMatch: entry normalisation is a fixed point; an allowlist's
// Key parses back to the same Key; CheckHost never panics, and a host it
// accepts under a one-entry list is that entry, with or without the port.
func FuzzAllowedHostMatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, entry, host string, port uint16) {
		if port == 0 {
			port = 443
		}
		n, err := proto.NormalizeHost(entry)
		if err != nil {
			if _, lerr := ParseHosts([]string{entry}, "allowed_hosts"); lerr == nil {
				t.Fatalf("ParseHosts accepted %q that NormalizeHost refuses", entry)
			}
			return
		}
		if again, err := proto.NormalizeHost(n); err != nil || again != n {
			t.Fatalf("NormalizeHost(%q) = %q is not a fixed point: %q, %v", entry, n, again, err)
		}
		l, err := ParseHosts([]string{entry}, "allowed_hosts")
		if err != nil {
			t.Fatalf("ParseHosts(%q): %v", entry, err)
		}
		l2, err := ParseHosts(strings.Split(l.Key(), ","), "allowed_hosts")
		if err != nil || l2.Key() != l.Key() {
			t.Fatalf("Key %q does not parse back: %q, %v", l.Key(), l2.Key(), err)
		}
		p := NewPolicy(l, Deny{})
		tg, err := p.CheckHost(host, int(port))
		if err != nil {
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("CheckHost(%q) error %T is not a *BlockedError", host, err)
			}
			return
		}
		if !tg.Approved {
			t.Fatalf("CheckHost(%q, %d) under [%q] accepted without approval", host, port, entry)
		}
		if n != tg.Host && n != tg.HostPort() {
			t.Fatalf("CheckHost(%q, %d) = %s matched entry %q", host, port, tg.HostPort(), n)
		}
		again, err := p.CheckHost(tg.Host, int(port))
		if err != nil || again.HostPort() != tg.HostPort() {
			t.Fatalf("normalised host %q is not a fixed point: %v", tg.Host, err)
		}
		if isASCII(host) {
			up, err := p.CheckHost(strings.ToUpper(host)+".", int(port))
			if err == nil && up.HostPort() != tg.HostPort() {
				t.Fatalf("case or trailing dot changed the match: %q vs %q", up.HostPort(), tg.HostPort())
			}
		}
	})
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
