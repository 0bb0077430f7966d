package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
)

// External MCP servers end to end (backend.md §13, gateway.md §8.6,
// sandbox.md §4.5–§4.6, §12–§13): a go-sdk MCP server on loopback (the
// fixture, whose port alone MCPBOX_SANDBOX_E2E_LOOPBACK lets the e2e sandbox
// reach once approved) is added as a source of a server by the LLM through
// the gateway, approved and discovered by the admin over REST, imported by
// the LLM as drafts that the admin approves, and its tools are called
// through the gateway with the go-sdk client.

// extSource is the fixture's source name, so its tools import as
// fixture_<tool>.
const extSource = "fixture"

// importName is the name an imported upstream tool gets (backend.md §13.2:
// sanitize(source) + "_" + sanitize(tool)).
func importName(upstream string) string {
	return extSource + "_" + strings.ReplaceAll(upstream, "-", "_")
}

// exposed is the exposed name of an imported upstream tool.
func (x *extEnv) exposed(upstream string) string { return x.server + "__" + importName(upstream) }

// extSourceJSON is the part of the REST Source resource (§8.1) the tests read.
type extSourceJSON struct {
	ID                  string  `json:"id"`
	Status              string  `json:"status"`
	LastError           *string `json:"last_error"`
	DiscoveredToolCount int     `json:"discovered_tool_count"`
	ImportedToolCount   int     `json:"imported_tool_count"`
}

// extDiscovery is the answer of POST /external-sources/{id}/discover.
type extDiscovery struct {
	Source extSourceJSON `json:"source"`
	Tools  []struct {
		Name            string          `json:"name"`
		Description     string          `json:"description"`
		InputSchema     json.RawMessage `json:"input_schema"`
		ImportName      string          `json:"import_name"`
		AlreadyImported bool            `json:"already_imported"`
	} `json:"tools"`
	ChangedTools []struct {
		ToolID       string `json:"tool_id"`
		ExposedName  string `json:"exposed_name"`
		Version      int    `json:"version"`
		ReviewStatus string `json:"review_status"`
	} `json:"changed_tools"`
}

// extToolJSON is the part of the REST Tool resource an imported tool shows.
type extToolJSON struct {
	ID               string  `json:"id"`
	Kind             string  `json:"kind"`
	ReviewStatus     string  `json:"review_status"`
	LatestVersion    int     `json:"latest_version"`
	ApprovedVersion  *int    `json:"approved_version"`
	ApprovedHash     *string `json:"approved_hash"`
	ExternalSourceID *string `json:"external_source_id"`
	ExternalToolName *string `json:"external_tool_name"`
	Latest           struct {
		Version            int             `json:"version"`
		Hash               string          `json:"hash"`
		ExternalDefinition json.RawMessage `json:"external_definition"`
		Manifest           proto.Manifest  `json:"manifest"`
		Description        string          `json:"description"`
		ChangeSource       string          `json:"change_source"`
	} `json:"latest"`
}

// extEnv is the state the steps share.
type extEnv struct {
	admin    *admin
	client   *goClient
	up       *fixtureMCP
	server   string // the MCPbox server's name
	serverID string
	sourceID string
	toolIDs  map[string]string // upstream name → tool id
}

// BE-82, BE-83, BE-84, GW-73, GW-74, GW-75, SB-79, SB-80, SB-81 against real MCP
// servers on loopback and the real stack from bin/: one upstream that keeps
// sessions (initialize era) and one stateless 2026-07-28 upstream, each the
// source of its own MCPbox server.
//
//nolint:paralleltest // owns the e2e ports while it runs
func TestBE82_GW73_GW74_SB79_ExternalMCPServerEndToEnd(t *testing.T) {
	upstreams := map[string]*fixtureMCP{"sessions": startFixtureMCP(t, false), "stateless": startFixtureMCP(t, true)}
	keyed, odd := startFixtureMCP(t, false), startNotMCP(t)
	st := startStackWith(t, t.TempDir(), "MCPBOX_DATABASE_URL="+dbtest.EmptyURL(t), "MCPBOX_SANDBOX_E2E_LOOPBACK="+
		strings.Join([]string{upstreams["sessions"].addr(), upstreams["stateless"].addr(), keyed.addr(), odd.Listener.Addr().String()}, ","))
	env := readDevEnv(t, st.data)
	a := newAdmin(t, env["MCPBOX_SETUP_CODE"])
	client := connectGo(t, e2eLocalMCPURL, nil)
	newEnv := func(t *testing.T, server string, up *fixtureMCP) *extEnv {
		t.Helper()
		x := &extEnv{admin: a, client: client, up: up, server: server, toolIDs: map[string]string{}}
		var created struct {
			ID string `json:"id"`
		}
		a.must(t, http.MethodPost, "/api/v1/servers", map[string]any{"name": server}, &created)
		x.serverID = created.ID
		return x
	}

	// The refusals of §12: they need nothing but a server.
	t.Run("SB79_BlockedAddressesRefusedAtDiscovery", func(t *testing.T) { blockedDiscovery(t, newEnv(t, "blocked", nil)) })
	t.Run("SB79_NotMCPAnswersNamedAtDiscovery", func(t *testing.T) { notMCPDiscovery(t, newEnv(t, "odd", nil), odd) })
	steps := []struct {
		name string
		run  func(*testing.T, *extEnv)
	}{
		{"BE82_SB79_LLMSourceApprovedThenDiscovered", addApproveDiscover},
		{"BE83_ImportApproveStart", importApproveStart},
		{"GW73_GW75_SB80_ResultsPassThroughUnchanged", passThrough},
		{"SB81_SessionLostThenReinitialisedOnce", sessionLost},
		{"SB81_SessionExpiredWhileIdleReinitialisedOnce", sessionIdleExpiry},
		{"SB81_MayHaveRunNotResent", mayHaveRun},
		{"GW74_BE84_SB80_DefinitionChangeRefusedUntilReapproved", definitionChange},
	}
	t.Run("SB82_HeaderCredentialFromASecret", func(t *testing.T) { headerCredential(t, newEnv(t, "ext_keyed", keyed), st) })
	for _, mode := range []string{"sessions", "stateless"} {
		t.Run("Upstream_"+mode, func(t *testing.T) {
			x := newEnv(t, "ext_"+mode, upstreams[mode])
			for _, s := range steps {
				if !t.Run(s.name, func(t *testing.T) { s.run(t, x) }) {
					return // each step needs the previous one
				}
			}
		})
	}
}

// addApproveDiscover: the LLM adds the fixture as a source (pending_review);
// discovery before the admin's approval is invalid_state and sends nothing
// (BE-82); after the approval, discovery of the loopback address is refused
// until the admin approves the host for the server, and then lists the four
// tools (SB-79: a private source is refused unless approved, an approved
// one works).
func addApproveDiscover(t *testing.T, x *extEnv) {
	added := manage(t, x.client, proto.MgmtAddExternalSource,
		map[string]any{"server_id": x.serverID, "name": extSource, "url": x.up.url()})
	x.sourceID, _ = added["source_id"].(string)
	if x.sourceID == "" || added["status"] != string(proto.SourcePendingReview) {
		t.Fatalf("mcpbox_add_external_source: %v", added)
	}

	// BE-82: not usable yet; the sandbox is not asked, so the fixture sees nothing.
	e := x.admin.failPost(t, "/api/v1/external-sources/"+x.sourceID+"/discover", http.StatusConflict)
	if e.Code != proto.CodeInvalidState || !strings.Contains(e.Message, "pending_review") {
		t.Errorf("discovery of a pending source: %+v, want invalid_state naming pending_review", e)
	}
	if n := x.up.requests.Load(); n != 0 {
		t.Errorf("the fixture received %d requests before its source was approved", n)
	}
	var src extSourceJSON
	x.admin.must(t, http.MethodPost, "/api/v1/external-sources/"+x.sourceID+"/approve", nil, &src)
	if src.Status != string(proto.SourceActive) {
		t.Fatalf("approved source: status %s", src.Status)
	}

	// SB-79, §13.2: the host is not approved for the server, so discovery
	// sends allowed_hosts null and the loopback fixture is a private address.
	e = x.admin.failPost(t, "/api/v1/external-sources/"+x.sourceID+"/discover", http.StatusBadGateway)
	wantMsg := fmt.Sprintf("EgressDenied: '%s' resolves to a private or reserved address; "+
		"such hosts must be approved with mcpbox_request_network_access.", x.up.addr())
	if e.Code != proto.CodeDiscoveryFailed || !strings.Contains(e.Message, wantMsg) {
		t.Errorf("discovery of an unapproved private source: %+v, want discovery_failed with %q", e, wantMsg)
	}
	x.checkSource(t, x.sourceID, string(proto.SourceError), wantMsg)
	if n := x.up.requests.Load(); n != 0 {
		t.Errorf("the fixture received %d requests while its address was not approved", n)
	}

	// The admin approves the exact address; discovery now reaches the fixture.
	x.grantHost(t, x.up.addr())
	var d extDiscovery
	x.admin.must(t, http.MethodPost, "/api/v1/external-sources/"+x.sourceID+"/discover", nil, &d)
	if d.Source.Status != string(proto.SourceActive) || d.Source.LastError != nil || d.Source.DiscoveredToolCount != 4 {
		t.Errorf("discovered source: %+v", d.Source)
	}
	got := map[string]string{}
	for _, tl := range d.Tools {
		got[tl.Name] = tl.ImportName
	}
	want := map[string]string{}
	for _, n := range []string{upEcho, upImage, upWeather, upFail} {
		want[n] = importName(n)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("discovered tools and import names: %v, want %v", got, want)
	}
	if x.up.method("tools/list") == 0 {
		t.Error("the fixture never received tools/list")
	}
	// The sandbox's go-sdk client tries server/discover first; only the
	// session-based fixture makes it fall back to initialize.
	if inits := x.up.method("initialize"); x.up.method("server/discover") == 0 || (inits == 0) != x.up.stateless {
		t.Errorf("stateless %v fixture: %d server/discover, %d initialize", x.up.stateless, x.up.method("server/discover"), inits)
	}
}

// importApproveStart: the LLM imports the four tools, which become drafts
// of version 1 pinned by hash (BE-83; importing again reports name_taken);
// the admin approves each version with the number and hash it read, and
// starts the server.
func importApproveStart(t *testing.T, x *extEnv) {
	names := []string{upEcho, upImage, upWeather, upFail}
	res := manage(t, x.client, proto.MgmtImportExternalTools, map[string]any{"source_id": x.sourceID, "tool_names": names})
	var out struct {
		Imported []struct {
			ToolID      string `json:"tool_id"`
			Name        string `json:"name"`
			ExposedName string `json:"exposed_name"`
		} `json:"imported"`
		Skipped []json.RawMessage `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(jsonOf(t, res)), &out); err != nil || len(out.Imported) != 4 || len(out.Skipped) != 0 {
		t.Fatalf("mcpbox_import_external_tools: %v (%v)", res, err)
	}
	for i, im := range out.Imported {
		if im.ExposedName != x.exposed(names[i]) {
			t.Errorf("imported %+v, want %s", im, x.exposed(names[i]))
		}
		x.toolIDs[names[i]] = im.ToolID
	}
	// BE-83: importing again skips the name as taken.
	again := manage(t, x.client, proto.MgmtImportExternalTools, map[string]any{"source_id": x.sourceID, "tool_names": names[:1]})
	if !sameJSON(jsonOf(t, again["skipped"]), `[{"name":"`+upEcho+`","reason":"name_taken"}]`) || !sameJSON(jsonOf(t, again["imported"]), `[]`) {
		t.Errorf("re-import: %v, want %s skipped as name_taken", again, upEcho)
	}

	// Each draft is version 1 of kind external, pinned to the upstream
	// definition with the fixture's address as its only host.
	for _, n := range names {
		tool := x.tool(t, n)
		if tool.Kind != string(proto.ToolKindExternal) || tool.LatestVersion != 1 || tool.ReviewStatus != string(proto.ReviewDraft) ||
			deref(tool.ExternalToolName) != n || deref(tool.ExternalSourceID) != x.sourceID {
			t.Errorf("imported tool %s: %+v", n, tool)
		}
		if !slices.Equal(tool.Latest.Manifest.Hosts, []string{x.up.addr()}) {
			t.Errorf("%s manifest hosts %v, want [%s]", n, tool.Latest.Manifest.Hosts, x.up.addr())
		}
		var def proto.ExternalDefinition
		if err := json.Unmarshal(tool.Latest.ExternalDefinition, &def); err != nil || def.Name != n || def.SourceID != x.sourceID {
			t.Errorf("%s external_definition %s: %v", n, tool.Latest.ExternalDefinition, err)
		}
		if v := x.admin.approveLatest(t, x.toolIDs[n]); v != 1 {
			t.Errorf("approved %s version %d, want 1", n, v)
		}
	}
	var started struct {
		Status        string `json:"status"`
		LiveToolCount int    `json:"live_tool_count"`
	}
	x.admin.must(t, http.MethodPost, "/api/v1/servers/"+x.serverID+"/start", nil, &started)
	if started.Status != string(proto.ServerRunning) || started.LiveToolCount != 4 {
		t.Fatalf("start: %+v", started)
	}
}

// passThrough lists the imported tools as pinned (GW-75) and calls each
// through the gateway: the client receives exactly what the fixture
// returned (text; an image with its data, mimeType, annotations and _meta;
// structuredContent; isError; result _meta), plus io.mcpbox/execution
// (GW-73, SB-80).
func passThrough(t *testing.T, x *extEnv) {
	tools := x.waitListed(t, "the four imported tools", func(m map[string]*mcp.Tool) bool { return len(m) == 4 })
	for _, n := range []string{upEcho, upImage, upWeather, upFail} {
		got, up := tools[x.exposed(n)], x.up.def(n)
		if got == nil || up == nil {
			t.Fatalf("tools/list lacks %s (upstream %v)", x.exposed(n), up != nil)
		}
		if got.Description != up.Description || !sameValue(t, got.InputSchema, up.InputSchema) || !sameValue(t, got.Annotations, up.Annotations) {
			t.Errorf("%s is not served as pinned:\n got %s\nwant %s", n, jsonOf(t, got), jsonOf(t, up))
		}
		// GW-75: nobody approved the upstream's title or output schema.
		if got.Title != "" || got.OutputSchema != nil {
			t.Errorf("%s served with the upstream's title %q or outputSchema %v", n, got.Title, got.OutputSchema)
		}
	}

	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{upEcho, map[string]any{"text": "hello"}},
		{upImage, map[string]any{}},
		{upWeather, map[string]any{"city": "Oslo"}},
		{upFail, map[string]any{}},
	} {
		before := len(x.up.callsOf(c.tool))
		r := x.call(t, x.exposed(c.tool), c.args)
		// GW-73: the sandbox called the upstream under its own name, with the arguments.
		calls := x.up.callsOf(c.tool)
		if len(calls) != before+1 || !sameJSON(calls[len(calls)-1].Arguments, jsonOf(t, c.args)) {
			t.Errorf("%s: upstream calls %+v, want one more with %v", c.tool, calls, c.args)
		}
		x.checkUnchanged(t, c.tool, r, 1)
	}
	// The result kinds the fixture sent really are there (not just equal).
	img := x.call(t, x.exposed(upImage), nil)
	if len(img.Content) != 2 {
		t.Fatalf("image result content: %s", jsonOf(t, img.Content))
	}
	if ic, ok := img.Content[1].(*mcp.ImageContent); !ok || ic.MIMEType != "image/png" || string(ic.Data) != string(onePixelPNG) {
		t.Errorf("image item: %s", jsonOf(t, img.Content[1]))
	}
	w := x.call(t, x.exposed(upWeather), map[string]any{"city": "Oslo"})
	if !sameJSON(jsonOf(t, w.StructuredContent), `{"city":"Oslo","temp_c":21.5,"conditions":"sunny"}`) {
		t.Errorf("structuredContent %s", jsonOf(t, w.StructuredContent))
	}
	if f := x.call(t, x.exposed(upFail), nil); !f.IsError || f.Meta["example.com/retry_after_s"] != 86400.0 {
		t.Errorf("isError result: %s", jsonOf(t, f))
	}
}

// sessionLost: the fixture restarts unchanged, so the sandbox's pooled
// session id gets 404; the next call re-initialises once, resends, and the
// tool runs exactly once (SB-81, sandbox.md §13.3). A stateless upstream
// has no session to lose: the call simply runs once.
func sessionLost(t *testing.T, x *extEnv) {
	inits, calls := x.up.method("initialize"), len(x.up.callsOf(upEcho))
	x.up.restart()
	x.runsOnceAfter(t, "the restart", inits, calls)
}

// runsOnceAfter calls echo-text after the upstream lost the sandbox's
// session (event says how) and checks that the call succeeded and ran
// exactly once, after one new initialize (none for a stateless upstream);
// inits and calls are the fixture's counts before the event.
func (x *extEnv) runsOnceAfter(t *testing.T, event string, inits, calls int) {
	t.Helper()
	r := x.call(t, x.exposed(upEcho), map[string]any{"text": "after " + event})
	if r.IsError || textOf(t, r) != "echo: after "+event {
		t.Errorf("call after %s: %s", event, jsonOf(t, r))
	}
	wantInits := 1
	if x.up.stateless {
		wantInits = 0
	}
	if n := x.up.method("initialize") - inits; n != wantInits {
		t.Errorf("%d initialize after %s, want %d", n, event, wantInits)
	}
	if n := len(x.up.callsOf(upEcho)) - calls; n != 1 {
		t.Errorf("the fixture ran %s %d times for one call after %s", upEcho, n, event)
	}
}

// sessionIdleExpiry: the fixture closes sessions idle for a second (the
// go-sdk's SessionTimeout), so the sandbox's pooled session, younger than
// the pool's own 5-minute idle expiry (sandbox.md §13.2), is gone at the
// upstream when the next call comes; that call gets 404, re-initialises
// once and runs exactly once (SB-81, §13.3). A stateless upstream keeps no
// session: its call runs once without initialize.
func sessionIdleExpiry(t *testing.T, x *extEnv) {
	x.up.restartExpiring(time.Second)
	defer x.up.restartExpiring(0)
	x.call(t, x.exposed(upEcho), map[string]any{"text": "a session for the new instance"})
	inits, calls := x.up.method("initialize"), len(x.up.callsOf(upEcho))
	time.Sleep(1500 * time.Millisecond) // the upstream's idle timer, not a wait for MCPbox
	x.runsOnceAfter(t, "the idle expiry", inits, calls)
}

// mayHaveRun: a call whose request reached the upstream but got no result
// (the connection reset after the whole request was read; a 502 from a
// proxy in front of the server) may have run, so the sandbox does not
// resend it (sandbox.md §13.3, SB-81): the client gets isError naming the
// failure and the upstream received the request exactly once. (A timeout
// is the third such case; an imported tool's timeout is fixed at 30 s,
// backend.md §13.2, so the sandbox's SB-81 test covers it with a short one.)
func mayHaveRun(t *testing.T, x *extEnv) {
	for _, c := range []struct{ text, wantPrefix string }{
		{faultReset, "ConnectError: "},
		{fault502, "HTTPError: "},
	} {
		before := x.up.faulted(c.text)
		r := x.call(t, x.exposed(upEcho), map[string]any{"text": c.text})
		if got := textOf(t, r); !r.IsError || !strings.HasPrefix(got, c.wantPrefix) {
			t.Errorf("%q: isError %v %q, want isError starting %q", c.text, r.IsError, got, c.wantPrefix)
		}
		if n := x.up.faulted(c.text) - before; n != 1 {
			t.Errorf("%q: the upstream received the call %d times, want once", c.text, n)
		}
	}
	// The next call works.
	if r := x.call(t, x.exposed(upEcho), map[string]any{"text": "after the faults"}); r.IsError || textOf(t, r) != "echo: after the faults" {
		t.Errorf("call after the faults: %s", jsonOf(t, r))
	}
}

// definitionChange: the fixture restarts with echo-text's description
// changed after its approval. The sandbox refuses the call with
// DefinitionChanged without calling the tool, and the gateway adds the next
// step (GW-74, SB-80); the other tools keep working. A session-based
// upstream is refused on the first call (its new session reads the new
// tools/list); a stateless one once the sandbox's cached tools/list is
// refreshed, here by the admin's re-discovery. The admin's re-discovery lists the tool as
// changed with a new pending version showing the new definition while the
// approved one stays in the catalog (BE-84); approving it makes the tool
// callable again.
func definitionChange(t *testing.T, x *extEnv) {
	exposed := x.exposed(upEcho)
	inits, callsBefore := x.up.method("initialize"), len(x.up.callsOf(upEcho))
	x.up.restartChanged()
	var d extDiscovery
	if x.up.stateless {
		// No session to lose: the sandbox's tools/list cache (sandbox.md
		// §4.6, up to 5 minutes) learns the change from the admin's
		// re-discovery, which uses the same pooled session (same URL,
		// headers and allowed_hosts).
		x.admin.must(t, http.MethodPost, "/api/v1/external-sources/"+x.sourceID+"/discover", nil, &d)
	}
	refused := x.call(t, exposed, map[string]any{"text": "hello"})
	// sandbox.md §13.3: the old session's 404 made the sandbox initialise a
	// new one, whose tools/list shows the change.
	if !x.up.stateless && x.up.method("initialize") != inits+1 {
		t.Errorf("first call after the restart: %d new initialize, want 1", x.up.method("initialize")-inits)
	}
	wantText := "DefinitionChanged: the external server changed tool \"" + upEcho + "\" after it was approved; " +
		"refresh the source and approve the new definition\n\nNext step: the external server changed this tool after " +
		"its approval; an admin must re-discover the source and approve the new definition."
	if !refused.IsError || textOf(t, refused) != wantText {
		t.Errorf("call after the change:\n got %s\nwant isError %q", jsonOf(t, refused), wantText)
	}
	// SB-80: refused without calling the tool.
	callsAtRefusal := len(x.up.callsOf(upEcho))
	if callsAtRefusal != callsBefore {
		t.Errorf("the fixture ran %s %d times for the refused call", upEcho, callsAtRefusal-callsBefore)
	}
	// Unchanged tools still run.
	if r := x.call(t, x.exposed(upWeather), map[string]any{"city": "Oslo"}); r.IsError {
		t.Errorf("%s while echo-text changed: %s", upWeather, jsonOf(t, r))
	}

	// BE-84: the admin's re-discovery shows the change as a new pending version.
	if !x.up.stateless {
		x.admin.must(t, http.MethodPost, "/api/v1/external-sources/"+x.sourceID+"/discover", nil, &d)
	}
	id := x.toolIDs[upEcho]
	if len(d.ChangedTools) != 1 || d.ChangedTools[0].ToolID != id || d.ChangedTools[0].Version != 2 ||
		d.ChangedTools[0].ReviewStatus != string(proto.ReviewPendingReview) || d.ChangedTools[0].ExposedName != exposed {
		t.Errorf("re-discovery changed_tools: %+v, want %s version 2 pending_review", d.ChangedTools, exposed)
	}
	for _, tl := range d.Tools {
		if tl.Name == upEcho && (tl.Description != echoDescV2 || !tl.AlreadyImported) {
			t.Errorf("re-discovered %s: %+v", upEcho, tl)
		}
	}
	tool := x.tool(t, upEcho)
	var def proto.ExternalDefinition
	_ = json.Unmarshal(tool.Latest.ExternalDefinition, &def)
	if tool.ApprovedVersion == nil || *tool.ApprovedVersion != 1 || tool.LatestVersion != 2 ||
		tool.ReviewStatus != string(proto.ReviewPendingReview) || tool.Latest.ChangeSource != string(proto.ChangeDiscovery) ||
		def.Description != echoDescV2 || tool.ApprovedHash == nil || *tool.ApprovedHash == tool.Latest.Hash {
		t.Errorf("tool after re-discovery: %+v (definition %s)", tool, tool.Latest.ExternalDefinition)
	}
	var diff struct {
		Base     *int   `json:"base"`
		Target   int    `json:"target"`
		CodeDiff string `json:"code_diff"`
	}
	x.admin.must(t, http.MethodGet, "/api/v1/tools/"+id+"/versions/2/diff", nil, &diff)
	if diff.Base == nil || *diff.Base != 1 || diff.Target != 2 ||
		!strings.Contains(diff.CodeDiff, "-") || !strings.Contains(diff.CodeDiff, echoDescV2) {
		t.Errorf("diff of version 2 against the approved version: %+v", diff)
	}
	// The approval queue lists the tool, to be compared with version 1.
	var queue struct {
		Items []struct {
			ID       string `json:"id"`
			DiffBase *int   `json:"diff_base"`
		} `json:"items"`
	}
	x.admin.must(t, http.MethodGet, "/api/v1/approvals/tools", nil, &queue)
	if len(queue.Items) != 1 || queue.Items[0].ID != id || queue.Items[0].DiffBase == nil || *queue.Items[0].DiffBase != 1 {
		t.Errorf("approval queue: %s, want %s with diff_base 1", jsonOf(t, queue), id)
	}
	// The approved version stays in the catalog, and its calls stay refused.
	if tl := x.listed(t)[exposed]; tl == nil || tl.Description != echoDescV1 || listedVersion(tl) != 1 {
		t.Errorf("tools/list while version 2 waits: %s", jsonOf(t, tl))
	}
	if r := x.call(t, exposed, map[string]any{"text": "hello"}); !r.IsError || !strings.HasPrefix(textOf(t, r), "DefinitionChanged: ") {
		t.Errorf("call while version 2 waits: %s", jsonOf(t, r))
	}
	if n := len(x.up.callsOf(upEcho)); n != callsAtRefusal {
		t.Errorf("the fixture ran %s %d more times after the refusal", upEcho, n-callsAtRefusal)
	}

	// The admin approves version 2: the new definition serves and runs.
	if v := x.admin.approveLatest(t, id); v != 2 {
		t.Fatalf("approved version %d, want 2", v)
	}
	x.waitListed(t, exposed+" at version 2", func(m map[string]*mcp.Tool) bool {
		return m[exposed] != nil && listedVersion(m[exposed]) == 2 && m[exposed].Description == echoDescV2
	})
	r := x.call(t, exposed, map[string]any{"text": "again"})
	x.checkUnchanged(t, upEcho, r, 2)
	if got := textOf(t, r); got != "echo: again" {
		t.Errorf("call of version 2: %q", got)
	}
}

// blockedDiscovery: sources whose address is always blocked (a loopback
// port the e2e sandbox was not told about, even approved for the server;
// the cloud metadata address) are refused at discovery with the message
// naming the class, before anything is dialled (sandbox.md §12.3, §12.7).
func blockedDiscovery(t *testing.T, x *extEnv) {
	var dialled atomic.Int64
	unlisted := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { dialled.Add(1) }))
	defer unlisted.Close()
	addr := strings.TrimPrefix(unlisted.URL, "http://")
	// Approved for the server: still never reachable.
	x.grantHost(t, addr)
	for _, c := range []struct{ name, url, host string }{
		{"unlisted loopback", unlisted.URL + "/mcp", addr},
		{"metadata", "http://169.254.169.254/latest/mcp", "169.254.169.254:80"},
	} {
		var src extSourceJSON
		x.admin.must(t, http.MethodPost, "/api/v1/servers/"+x.serverID+"/external-sources",
			map[string]any{"name": c.name, "url": c.url}, &src)
		if src.Status != string(proto.SourceActive) {
			t.Errorf("admin-added source %s: status %s, want active", c.name, src.Status)
		}
		e := x.admin.failPost(t, "/api/v1/external-sources/"+src.ID+"/discover", http.StatusBadGateway)
		want := "EgressDenied: '" + c.host + "' is a loopback, link-local or metadata destination, which tools can never reach."
		if e.Code != proto.CodeDiscoveryFailed || e.Message != "Discovery failed: "+want {
			t.Errorf("discovery of %s: %+v, want discovery_failed %q", c.url, e, want)
		}
		x.checkSource(t, src.ID, string(proto.SourceError), want)
		x.admin.must(t, http.MethodDelete, "/api/v1/external-sources/"+src.ID, nil, nil)
	}
	if n := dialled.Load(); n != 0 {
		t.Errorf("the unlisted loopback listener received %d requests", n)
	}
}

// headerCredential: a source with header auth takes its credential from a
// secret of the server (backend.md §13.1). The admin adds it, discovers,
// imports echo-text (approved at once, its manifest naming the secret) and
// starts the server; every request to the upstream carries the header, the
// call runs, and after the upstream rotates its key and the admin sets the
// secret's new value, calls carry the new one. Neither value appears in a
// result or a log line (SB-82).
func headerCredential(t *testing.T, x *extEnv, st *Stack) {
	const header, secret = "X-Api-Key", "UPSTREAM_KEY"
	oldKey, newKey := "e2e-upstream-key-one-5f3a9c", "e2e-upstream-key-two-81d0e4"
	x.up.requireKey(header, oldKey)
	x.admin.must(t, http.MethodPost, "/api/v1/servers/"+x.serverID+"/secrets", map[string]any{"name": secret, "value": oldKey}, nil)
	var src extSourceJSON
	x.admin.must(t, http.MethodPost, "/api/v1/servers/"+x.serverID+"/external-sources", map[string]any{
		"name": extSource, "url": x.up.url(), "auth_type": "header", "auth_header_name": header, "auth_secret_name": secret,
	}, &src)
	x.sourceID = src.ID
	x.grantHost(t, x.up.addr())
	var d extDiscovery
	x.admin.must(t, http.MethodPost, "/api/v1/external-sources/"+x.sourceID+"/discover", nil, &d)
	if len(d.Tools) != 4 {
		t.Fatalf("discovery with the key: %+v", d)
	}
	var imp struct {
		Imported []struct {
			ToolID string `json:"tool_id"`
		} `json:"imported"`
	}
	x.admin.must(t, http.MethodPost, "/api/v1/external-sources/"+x.sourceID+"/import", map[string]any{"tool_names": []string{upEcho}}, &imp)
	if len(imp.Imported) != 1 {
		t.Fatalf("import: %+v", imp)
	}
	x.toolIDs[upEcho] = imp.Imported[0].ToolID
	if m := x.tool(t, upEcho).Latest.Manifest; !slices.Equal(m.Secrets, []string{secret}) {
		t.Errorf("imported tool's manifest secrets %v, want [%s]", m.Secrets, secret)
	}
	x.admin.must(t, http.MethodPost, "/api/v1/servers/"+x.serverID+"/start", nil, nil)
	x.waitListed(t, x.exposed(upEcho), func(m map[string]*mcp.Tool) bool { return m[x.exposed(upEcho)] != nil })
	if r := x.call(t, x.exposed(upEcho), map[string]any{"text": "with the key"}); r.IsError || textOf(t, r) != "echo: with the key" {
		t.Errorf("call with the key: %s", jsonOf(t, r))
	}
	if n := x.up.refusedCount(); n != 0 {
		t.Errorf("the upstream refused %d requests without the key", n)
	}

	// The upstream rotates its key; until the admin sets the new value the
	// call is refused with AuthRequired, then it runs with the new key.
	x.up.requireKey(header, newKey)
	r := x.call(t, x.exposed(upEcho), map[string]any{"text": "old key"})
	if !r.IsError || !strings.HasPrefix(textOf(t, r), "AuthRequired: ") {
		t.Errorf("call with the rotated-out key: %s", jsonOf(t, r))
	}
	x.admin.must(t, http.MethodPut, "/api/v1/servers/"+x.serverID+"/secrets/"+secret, map[string]any{"value": newKey}, nil)
	waitFor(t, "a call with the new key", func() (bool, string) {
		r := x.call(t, x.exposed(upEcho), map[string]any{"text": "new key"})
		return !r.IsError && textOf(t, r) == "echo: new key", jsonOf(t, r)
	})
	checkNotLogged(t, st, []string{oldKey, newKey})
}

// startNotMCP serves, on loopback, the answers of §13.4 that are not MCP:
// /redirect a 302, /challenge a Cloudflare challenge page, /login a 401
// with its challenge header.
func startNotMCP(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere/mcp", http.StatusFound)
	})
	mux.HandleFunc("/challenge", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cf-Mitigated", "challenge")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "<!DOCTYPE html><title>Just a moment...</title>")
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="http://`+r.Host+`/.well-known/oauth-protected-resource/login"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// notMCPDiscovery: a source answering a redirect, a challenge page or a
// 401 fails discovery with the sandbox's error type and its next step in
// the message, and the source is marked error with it (SB-79, sandbox.md
// §13.4); the address is approved, so nothing else stands in the way.
func notMCPDiscovery(t *testing.T, x *extEnv, odd *httptest.Server) {
	x.grantHost(t, odd.Listener.Addr().String())
	for _, c := range []struct{ path, want string }{
		{"/redirect", "Redirect: The MCP server answered with a redirect (HTTP 302); redirects are not followed; update the source URL."},
		{"/challenge", "CloudflareChallenge: The MCP server is behind a bot challenge page (Cloudflare)"},
		{"/login", "AuthRequired: The MCP server requires authorization (HTTP 401); configure a token or connect with OAuth."},
	} {
		var src extSourceJSON
		x.admin.must(t, http.MethodPost, "/api/v1/servers/"+x.serverID+"/external-sources",
			map[string]any{"name": strings.TrimPrefix(c.path, "/"), "url": odd.URL + c.path}, &src)
		e := x.admin.failPost(t, "/api/v1/external-sources/"+src.ID+"/discover", http.StatusBadGateway)
		if e.Code != proto.CodeDiscoveryFailed || !strings.HasPrefix(e.Message, "Discovery failed: "+c.want) {
			t.Errorf("discovery of %s: %+v, want discovery_failed starting %q", c.path, e, "Discovery failed: "+c.want)
		}
		x.checkSource(t, src.ID, string(proto.SourceError), c.want)
	}
}

// grantHost approves host:port for the extEnv's server (an admin grant,
// backend.md §6.2).
func (x *extEnv) grantHost(t *testing.T, hostPort string) {
	t.Helper()
	host, port, ok := strings.Cut(hostPort, ":")
	p, err := strconv.Atoi(port)
	if !ok || err != nil {
		t.Fatalf("not host:port: %q", hostPort)
	}
	x.admin.must(t, http.MethodPost, "/api/v1/servers/"+x.serverID+"/network-requests",
		map[string]any{"host": host, "port": p, "justification": "e2e fixture"}, nil)
}

// checkSource checks a source's status and that its last_error holds msg.
func (x *extEnv) checkSource(t *testing.T, id, status, msg string) {
	t.Helper()
	var src extSourceJSON
	x.admin.must(t, http.MethodGet, "/api/v1/external-sources/"+url.PathEscape(id), nil, &src)
	if src.Status != status || !strings.Contains(deref(src.LastError), msg) {
		t.Errorf("source %s: status %s, last_error %q; want %s with %q", id, src.Status, deref(src.LastError), status, msg)
	}
}

// tool reads the REST Tool of an imported upstream tool.
func (x *extEnv) tool(t *testing.T, upstream string) extToolJSON {
	t.Helper()
	var tool extToolJSON
	x.admin.must(t, http.MethodGet, "/api/v1/tools/"+url.PathEscape(x.toolIDs[upstream]), nil, &tool)
	return tool
}

// listed returns the server's tools of tools/list by exposed name, as a
// new client lists them: a 2026-07-28 client keeps a listing for its ttlMs
// (30 s, SEP-2549) unless a list_changed reaches it first, so a client that
// listed before an approval may serve its cached list for a while; these
// tests check what the gateway serves, not that cache.
func (x *extEnv) listed(t *testing.T) map[string]*mcp.Tool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := connectGo(t, e2eLocalMCPURL, nil)
	defer func() { _ = c.cs.Close() }()
	out := map[string]*mcp.Tool{}
	for tool, err := range c.cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		if strings.HasPrefix(tool.Name, x.server+"__") {
			out[tool.Name] = tool
		}
	}
	return out
}

// waitListed lists tools until ok holds.
func (x *extEnv) waitListed(t *testing.T, what string, ok func(map[string]*mcp.Tool) bool) map[string]*mcp.Tool {
	t.Helper()
	var m map[string]*mcp.Tool
	waitFor(t, "tools/list with "+what, func() (bool, string) {
		m = x.listed(t)
		return ok(m), jsonOf(t, m)
	})
	return m
}

// listedVersion is the version in a listed tool's io.mcpbox/tool _meta.
func listedVersion(tool *mcp.Tool) int {
	m, _ := tool.Meta["io.mcpbox/tool"].(map[string]any)
	v, _ := m["version"].(float64)
	return int(v)
}

// call sends tools/call through the gateway with the go-sdk client.
func (x *extEnv) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	r, err := x.client.cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	return r
}

// checkUnchanged checks that r, as the client received it, is the result
// the fixture returned for upstream (checkSameResult).
func (x *extEnv) checkUnchanged(t *testing.T, upstream string, r *mcp.CallToolResult, version int) {
	t.Helper()
	checkSameResult(t, upstream, r, x.up.result(upstream), x.toolIDs[upstream], version)
}

// checkSameResult checks that got, the result of an imported tool as a
// client of the gateway received it, is want, the result the upstream
// returned, once io.mcpbox/execution (naming version of toolID) is taken
// out of _meta.
func checkSameResult(t *testing.T, upstream string, got, want *mcp.CallToolResult, toolID string, version int) {
	t.Helper()
	g := withoutEnvelope(t, got)
	meta, _ := g["_meta"].(map[string]any)
	exec, _ := meta["io.mcpbox/execution"].(map[string]any)
	if exec["tool_id"] != toolID || exec["version"] != float64(version) {
		t.Errorf("%s: _meta io.mcpbox/execution %v, want version %d of %s", upstream, exec, version, toolID)
	}
	delete(meta, "io.mcpbox/execution")
	if len(meta) == 0 {
		delete(g, "_meta")
	}
	if w := withoutEnvelope(t, want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s: the client received\n %s\nthe upstream returned\n %s", upstream, jsonOf(t, g), jsonOf(t, w))
	}
}

// withoutEnvelope is a result as a JSON object without the fields the SDK
// of the sending server sets on every result of the 2026-07-28 era
// (resultType, and its own io.modelcontextprotocol/serverInfo in _meta):
// they belong to the hop, not to the tool's result.
func withoutEnvelope(t *testing.T, r *mcp.CallToolResult) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(jsonOf(t, r)), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "resultType")
	meta, _ := m["_meta"].(map[string]any)
	for k := range meta {
		if strings.HasPrefix(k, "io.modelcontextprotocol/") {
			delete(meta, k)
		}
	}
	if meta != nil && len(meta) == 0 {
		delete(m, "_meta")
	}
	return m
}

// textOf is the text of a result's only text item.
func textOf(t *testing.T, r *mcp.CallToolResult) string {
	t.Helper()
	if len(r.Content) != 1 {
		t.Fatalf("result has %d content items: %s", len(r.Content), jsonOf(t, r))
	}
	tc, ok := r.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("result item is not text: %s", jsonOf(t, r))
	}
	return tc.Text
}

// jsonOf is v as JSON.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameValue reports whether a and b marshal to the same JSON value.
func sameValue(t *testing.T, a, b any) bool {
	t.Helper()
	return sameJSON(jsonOf(t, a), jsonOf(t, b))
}

// failPost sends a POST without a body that must fail with status and
// returns its error.
func (a *admin) failPost(t *testing.T, path string, status int) proto.Error {
	t.Helper()
	got, body := a.do(t, http.MethodPost, path, nil)
	var e proto.ErrorBody
	if got != status || json.Unmarshal(body, &e) != nil {
		t.Fatalf("POST %s: %d %s, want %d", path, got, body, status)
	}
	return e.Error
}
