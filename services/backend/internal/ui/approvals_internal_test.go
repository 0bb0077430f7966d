package ui

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto"
)

// UI-56 (below the browser): every secret is listed next to every host the
// version may reach, "any public host" under allow_all_public; no host, no
// warning line.
func TestUI56_ReachLines(t *testing.T) {
	t.Parallel()
	m := proto.Manifest{Secrets: []string{"TOKEN", "API_KEY"}, Hosts: []string{"api.example.com", "nas.lan:8080"}}
	r := reachOf(m, false)
	want := []string{
		"this version can send API_KEY to api.example.com, nas.lan:8080",
		"this version can send TOKEN to api.example.com, nas.lan:8080",
	}
	if !slices.Equal(r.Lines, want) {
		t.Errorf("lines %q, want %q", r.Lines, want)
	}
	r = reachOf(m, true)
	if !slices.Equal(r.Hosts, []string{anyPublicHost, "nas.lan:8080"}) || !strings.Contains(r.Lines[0], "any public host") {
		t.Errorf("allow_all_public: hosts %q lines %q", r.Hosts, r.Lines)
	}
	r = reachOf(proto.Manifest{Secrets: []string{"API_KEY"}}, false)
	if len(r.Lines) != 0 || !slices.Equal(r.Secrets, []string{"API_KEY"}) {
		t.Errorf("no hosts: %+v", r)
	}
}

// The queue's URL round-trips (U6) and unknown values fall back to the
// defaults.
func TestApprovalsQueryRoundTrip(t *testing.T) {
	t.Parallel()
	q := parseApprovalsQuery(url.Values{"kind": {"network"}, "status": {"all"}, "q": {"  api  "}, "cursor": {"abc"}})
	if q != (approvalsQuery{Kind: kindNetwork, Status: statusAll, Q: "api", Cursor: "abc"}) {
		t.Fatalf("parsed %+v", q)
	}
	u, err := url.Parse(q.Href())
	if err != nil || parseApprovalsQuery(u.Query()) != q {
		t.Errorf("Href %s does not round-trip", q.Href())
	}
	if d := parseApprovalsQuery(url.Values{"kind": {"x"}, "status": {"y"}}); d.Kind != kindTools || d.Status != statusPending {
		t.Errorf("defaults: %+v", d)
	}
	for _, bad := range []string{"", "//evil.example/approvals", "https://evil.example/", "/servers"} {
		if got := backTo(bad); got != "/approvals" {
			t.Errorf("backTo(%q) = %q", bad, got)
		}
	}
}

// FuzzApprovalsQuery: any query string parses to a valid kind and status,
// a bounded valid-UTF-8 search, and a URL that parses back to the same
// query; backTo always stays on the queue.
func FuzzApprovalsQuery(f *testing.F) {
	for _, s := range []string{"", "kind=packages&status=rejected&q=zip", "q=%ff%fe&cursor=" + strings.Repeat("a", 2000), "kind=tools&kind=network", "q=%E2%80%9C%22%3Cscript%3E"} {
		f.Add(s, "/approvals?kind=network")
	}
	f.Fuzz(func(t *testing.T, raw, back string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q := parseApprovalsQuery(v)
		if kindName(q.Kind) == "" {
			t.Fatalf("kind %q", q.Kind)
		}
		switch q.Status {
		case statusPending, statusApproved, statusRejected, statusAll:
		default:
			t.Fatalf("status %q", q.Status)
		}
		if !utf8.ValidString(q.Q) || utf8.RuneCountInString(q.Q) > maxApprovalsQ || len(q.Cursor) > maxApprovalsCursor {
			t.Fatalf("q %q cursor %d bytes", q.Q, len(q.Cursor))
		}
		u, err := url.Parse(q.Href())
		if err != nil {
			t.Fatal(err)
		}
		if got := parseApprovalsQuery(u.Query()); got != q {
			t.Fatalf("round trip %+v → %+v", q, got)
		}
		if b := backTo(back); !strings.HasPrefix(b, "/approvals") || safeNext(b) != b {
			t.Fatalf("backTo(%q) = %q", back, b)
		}
	})
}
