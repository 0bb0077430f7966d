package catalog_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

func names[T any](list []T, name func(T) string) []string {
	out := []string{}
	for _, x := range list {
		out = append(out, name(x))
	}
	return out
}

func toolNames(c proto.Catalog) []string {
	return names(c.Tools, func(t proto.CatalogTool) string { return t.Name })
}

func withheldNames(c proto.Catalog) []string {
	return names(c.Withheld, func(t proto.WithheldTool) string { return t.Name })
}

func TestBE65_CatalogServesOnlyLiveToolsWithApprovedVersionAndHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	weather := f.server(t, "weather", "running")
	archive := f.server(t, "archive", "stopped")
	m := manifest([]string{"api.weather.example"}, nil, nil)
	m.TimeoutMS = 12000

	forecast := f.goTool(t, weather, "forecast", code("forecasts"), m)
	f.approve(t, forecast, 1)
	f.goTool(t, weather, "draft_tool", code("draft"), m)
	off := f.goTool(t, weather, "off", code("off"), m)
	f.approve(t, off, 1)
	f.disable(t, off)
	old := f.goTool(t, archive, "old", code("old"), m)
	f.approve(t, old, 1)

	ext := manifest([]string{"mcp.example.com"}, nil, nil)
	ext.MemoryMB = 0
	active := f.source(t, weather, "GitHub", "https://mcp.example.com/mcp", "none", nil, "error")
	repos, def := f.externalTool(t, weather, active, "github_list_repos", "list-repos", ext)
	f.approve(t, repos, 1)
	disabled := f.source(t, weather, "Other", "https://mcp.example.com/other", "none", nil, "disabled")
	other, _ := f.externalTool(t, weather, disabled, "other_list", "list", ext)
	f.approve(t, other, 1)
	pending := f.source(t, weather, "New", "https://mcp.example.com/new", "none", nil, "pending_review")
	unreviewed, _ := f.externalTool(t, weather, pending, "new_list", "list", ext)
	f.approve(t, unreviewed, 1)

	w := f.get(t, proto.PathInternalCatalog)
	if w.Code != http.StatusOK {
		t.Fatalf("GET catalog: %d %s", w.Code, w.Body)
	}
	c := f.catalog(t)
	if got, want := toolNames(c), []string{"weather__forecast", "weather__github_list_repos"}; !slices.Equal(got, want) {
		t.Fatalf("tools = %v, want %v", got, want)
	}
	wantHash, err := canon.HashGo(code("forecasts"), m)
	if err != nil {
		t.Fatal(err)
	}
	g := c.Tools[0]
	if g.ToolID != forecast.String() || g.ServerID != weather.String() || g.ServerName != "weather" ||
		g.Kind != proto.ToolKindGo || g.Version != 1 || g.Hash != wantHash || g.TimeoutMS != 12000 ||
		g.Description != "Tool forecast." || string(g.Annotations) != "null" || string(g.OutputSchema) != "null" {
		t.Errorf("go tool entry = %+v", g)
	}
	e := c.Tools[1]
	extHash, err := canon.HashExternal(def, ext)
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != proto.ToolKindExternal || e.Hash != extHash || string(e.Annotations) != `{"readOnlyHint": true}` &&
		string(e.Annotations) != `{"readOnlyHint":true}` {
		t.Errorf("external tool entry = %+v", e)
	}
	reasons := map[string]proto.WithheldReason{}
	for _, x := range c.Withheld {
		reasons[x.Name] = x.Reason
	}
	want := map[string]proto.WithheldReason{
		"weather__draft_tool": proto.WithheldDraft, "weather__off": proto.WithheldDisabled,
		"archive__old": proto.WithheldServerStopped, "weather__other_list": proto.WithheldSourceUnusable,
		"weather__new_list": proto.WithheldSourceUnusable,
	}
	if len(reasons) != len(want) {
		t.Errorf("withheld = %v, want %v", reasons, want)
	}
	for n, r := range want {
		if reasons[n] != r {
			t.Errorf("withheld %s reason = %q, want %q", n, reasons[n], r)
		}
	}

	// ETag and If-None-Match.
	if et := w.Header().Get("ETag"); et != `"0"` {
		t.Fatalf("ETag = %q, want %q", et, `"0"`)
	}
	for _, inm := range []string{`"0"`, `W/"0"`, `"7", "0"`, `*`} {
		nm := f.get(t, proto.PathInternalCatalog, "If-None-Match", inm)
		if nm.Code != http.StatusNotModified || nm.Body.Len() != 0 || nm.Header().Get("ETag") != `"0"` {
			t.Errorf("If-None-Match %s: %d %q ETag %q, want 304 with no body", inm, nm.Code, nm.Body, nm.Header().Get("ETag"))
		}
	}
	dbtest.Exec(t, f.url, "UPDATE revisions SET catalog = catalog + 1")
	nm := f.get(t, proto.PathInternalCatalog, "If-None-Match", `"0"`)
	if nm.Code != http.StatusOK || nm.Header().Get("ETag") != `"1"` {
		t.Fatalf("stale If-None-Match: %d ETag %q, want 200 with ETag \"1\"", nm.Code, nm.Header().Get("ETag"))
	}
	if c := f.catalog(t); c.Revision != 1 {
		t.Errorf("revision = %d, want 1", c.Revision)
	}
}

func TestBE77_WithheldListsEveryNonLiveToolWithItsReason(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "shop", "running")
	stopped := f.server(t, "lab", "stopped")
	m := manifest(nil, nil, nil)

	live := f.goTool(t, srv, "live", code("live"), m)
	f.approve(t, live, 1)
	draft := f.goTool(t, srv, "draft", code("draft"), m)
	pending := f.goTool(t, srv, "pending", code("pending"), m)
	f.setReview(t, pending, "pending_review")
	rejected := f.goTool(t, srv, "rejected", code("rejected"), m)
	f.setReview(t, rejected, "rejected")
	disabled := f.goTool(t, srv, "disabled", code("disabled"), m)
	f.approve(t, disabled, 1)
	f.disable(t, disabled)
	// A disabled draft is "disabled": the first reason that applies.
	disabledDraft := f.goTool(t, srv, "disabled_draft", code("dd"), m)
	f.disable(t, disabledDraft)
	lab := f.goTool(t, stopped, "probe", code("probe"), m)
	f.approve(t, lab, 1)
	f.addGoVersion(t, lab, 2, code("probe 2"), m, "pending_review")
	// A tool with a pending v2 but an approved v1 is live, never withheld.
	upgrading := f.goTool(t, srv, "upgrading", code("u1"), m)
	f.approve(t, upgrading, 1)
	f.addGoVersion(t, upgrading, 2, code("u2"), m, "pending_review")

	c := f.catalog(t)
	want := []proto.WithheldTool{
		{ToolID: lab.String(), ServerID: stopped.String(), Name: "lab__probe", Version: 2, Reason: proto.WithheldServerStopped},
		{ToolID: disabled.String(), ServerID: srv.String(), Name: "shop__disabled", Version: 1, Reason: proto.WithheldDisabled},
		{ToolID: disabledDraft.String(), ServerID: srv.String(), Name: "shop__disabled_draft", Version: 1, Reason: proto.WithheldDisabled},
		{ToolID: draft.String(), ServerID: srv.String(), Name: "shop__draft", Version: 1, Reason: proto.WithheldDraft},
		{ToolID: pending.String(), ServerID: srv.String(), Name: "shop__pending", Version: 1, Reason: proto.WithheldPendingReview},
		{ToolID: rejected.String(), ServerID: srv.String(), Name: "shop__rejected", Version: 1, Reason: proto.WithheldRejected},
	}
	if !slices.Equal(c.Withheld, want) {
		t.Errorf("withheld =\n%+v\nwant\n%+v", c.Withheld, want)
	}
	if got := toolNames(c); !slices.Equal(got, []string{"shop__live", "shop__upgrading"}) {
		t.Errorf("tools = %v, want [shop__live shop__upgrading]", got)
	}
	for _, name := range toolNames(c) {
		if slices.Contains(withheldNames(c), name) {
			t.Errorf("%s is both live and withheld", name)
		}
	}
}

// BE-32 (catalog half, and the plan): while version 2 waits for review the
// catalog and the plan still serve approved version 1.
func TestBE32_PendingVersionKeepsApprovedVersionLive(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather", "running")
	m1 := manifest(nil, nil, nil)
	tool := f.goTool(t, srv, "forecast", code("v1"), m1)
	f.approve(t, tool, 1)
	m2 := m1
	m2.TimeoutMS = 60000
	f.addGoVersion(t, tool, 2, code("v2"), m2, "pending_review")

	h1, err := canon.HashGo(code("v1"), m1)
	if err != nil {
		t.Fatal(err)
	}
	c := f.catalog(t)
	if len(c.Tools) != 1 || c.Tools[0].Version != 1 || c.Tools[0].Hash != h1 || c.Tools[0].TimeoutMS != proto.DefaultTimeoutMS {
		t.Fatalf("catalog tools = %+v, want version 1 with hash %s", c.Tools, h1)
	}
	if len(c.Withheld) != 0 {
		t.Errorf("withheld = %+v, want none", c.Withheld)
	}
	p := f.plan(t, tool, 1)
	if p.Version != 1 || p.Hash != h1 || p.Code != code("v1") || p.Limits.TimeoutMS != proto.DefaultTimeoutMS {
		t.Errorf("plan = version %d hash %s limits %+v, want version 1", p.Version, p.Hash, p.Limits)
	}
	e := wantError(t, f.get(t, planPath(tool, 2)), http.StatusConflict, proto.CodeNotExecutable)
	if want := "Version 2 of 'weather__forecast' is not the approved version (approved: 1)."; e.Message != want {
		t.Errorf("message = %q, want %q", e.Message, want)
	}

	// Once version 2 is approved it replaces version 1 everywhere.
	f.approve(t, tool, 2)
	h2, err := canon.HashGo(code("v2"), m2)
	if err != nil {
		t.Fatal(err)
	}
	if c := f.catalog(t); len(c.Tools) != 1 || c.Tools[0].Version != 2 || c.Tools[0].Hash != h2 || c.Tools[0].TimeoutMS != 60000 {
		t.Errorf("catalog tools after approving v2 = %+v", c.Tools)
	}
	if p := f.plan(t, tool, 2); p.Hash != h2 || p.Limits.TimeoutMS != 60000 {
		t.Errorf("plan of v2 = hash %s limits %+v", p.Hash, p.Limits)
	}
	wantError(t, f.get(t, planPath(tool, 1)), http.StatusConflict, proto.CodeNotExecutable)
}

func TestCatalogEmptyInstallation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.get(t, proto.PathInternalCatalog)
	if w.Code != http.StatusOK || w.Body.String() != `{"revision":0,"tools":[],"withheld":[]}`+"\n" {
		t.Errorf("empty catalog: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}
