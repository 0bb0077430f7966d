package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
	"github.com/mcpbox/mcpbox/services/backend/internal/ui/codeview"
)

// anyPublicHost is how the reach lines and the manifest name the whole
// public internet (network policy allow_all_public).
const anyPublicHost = "any public host"

// Card notices.
const (
	msgNewerVersion = "A newer version was submitted while you were reviewing. Review the changes below."
	msgReasonNeeded = "A reason is required: 1 to 2000 characters, shown to the LLM. (reason is required)"
)

// approvalsToolCard is a tool of the queue (admin-ui.md §11.7).
type approvalsToolCard struct {
	CSRF, Back string
	ID         uuid.UUID
	DOMID      string // approval-tool-<id>
	Exposed    string
	ServerID   uuid.UUID
	Server     string
	External   bool
	Status     string // Pending review, Approved, Rejected, Draft
	StatusTag  string // tag class
	Version    int
	Hash       string
	Author     string
	Created    time.Time
	Notes      string
	Rejection  string

	// Base is the last approved version the code is compared with (0:
	// none was ever approved, or the shown version is the approved one).
	Base          int
	NeverApproved bool
	CodeLabel     string
	Code          template.HTML // the diff, or the highlighted code
	CodeTooLarge  bool
	Manifest      codeview.ManifestDiff
	AnyPublic     bool
	Timeout       string
	Memory        string

	Reach approvalsReach

	CanDecide, CanRevoke bool
	Notice               string // the stale-review notice (U8)
	Message              string // the result of a decision
	Focus                bool   // the card takes focus after it was swapped in
	ReasonError          string
	Reason               string
}

// approvalsReach is the "Secrets and reach" block of a Go tool (UI-56).
type approvalsReach struct {
	Secrets []string
	Hosts   []string // what the version may reach once approved
	Lines   []string // "this version can send API_KEY to api.example.com, nas.lan:8080"
}

// reachOf lists every secret the version reads next to the hosts it may
// reach once approved: its manifest hosts, with "any public host" first
// under allow_all_public (public manifest hosts are then part of it).
func reachOf(m proto.Manifest, anyPublic bool) approvalsReach {
	r := approvalsReach{Secrets: slices.Clone(m.Secrets)}
	slices.Sort(r.Secrets)
	if anyPublic {
		r.Hosts = append(r.Hosts, anyPublicHost)
	}
	for _, h := range m.Hosts {
		if n, err := proto.NormalizeHost(h); err == nil {
			h = n
		}
		if anyPublic && approvals.PublicLooking(hostOnly(h)) {
			continue
		}
		if !slices.Contains(r.Hosts, h) {
			r.Hosts = append(r.Hosts, h)
		}
	}
	if len(r.Hosts) == 0 {
		return r
	}
	reach := strings.Join(r.Hosts, ", ")
	for _, s := range r.Secrets {
		r.Lines = append(r.Lines, "this version can send "+s+" to "+reach)
	}
	return r
}

// hostOnly is the host of a normalised "host" or "host:port" entry.
func hostOnly(entry string) string {
	h, _ := proto.SplitNormalizedHost(entry)
	return h
}

// reviewLabel is a review status as the page shows it, with its tag class.
func reviewLabel(s proto.ReviewStatus) (string, string) {
	switch s {
	case proto.ReviewPendingReview:
		return "Pending review", "tag-warn"
	case proto.ReviewApproved:
		return "Approved", "tag-good"
	case proto.ReviewRejected:
		return "Rejected", ""
	}
	return "Draft", ""
}

// authorText names who wrote a version (backend.md §2 actors).
func authorText(actor string) string {
	switch {
	case actor == "llm:local":
		return "Local LLM client"
	case strings.HasPrefix(actor, "llm:remote:"):
		return "Remote LLM client (" + strings.TrimPrefix(actor, "llm:remote:") + ")"
	case strings.HasPrefix(actor, "llm:"):
		return "LLM client (" + strings.TrimPrefix(actor, "llm:") + ")"
	case strings.HasPrefix(actor, "admin:"):
		return "Admin " + strings.TrimPrefix(actor, "admin:")
	case strings.HasPrefix(actor, "import:"):
		return "Import (" + strings.TrimPrefix(actor, "import:") + ")"
	}
	return actor
}

// toolCard builds the card of a tool's latest version: its code compared
// with the last approved version (or in full when none was approved), its
// manifest compared alike, and the secrets it could send where.
func (h *handler) toolCard(ctx context.Context, st *state, t tools.Tool, anyPublic bool, back string) (*approvalsToolCard, error) {
	v := t.Latest
	c := &approvalsToolCard{
		CSRF: st.csrf, Back: back, ID: t.ID, DOMID: "approval-tool-" + t.ID.String(), Exposed: t.ExposedName(),
		ServerID: t.ServerID, Server: t.ServerName, External: t.Kind == proto.ToolKindExternal,
		Version: v.Version, Hash: v.Hash, Author: authorText(v.CreatedBy), Created: v.CreatedAt, AnyPublic: anyPublic,
	}
	c.Status, c.StatusTag = reviewLabel(t.ReviewStatus)
	if t.PublishNotes != nil {
		c.Notes = *t.PublishNotes
	}
	if t.RejectionReason != nil && t.ReviewStatus == proto.ReviewRejected {
		c.Rejection = *t.RejectionReason
	}
	approvedIsLatest := t.ApprovedVersion != nil && *t.ApprovedVersion == v.Version
	c.CanDecide = t.ReviewStatus == proto.ReviewPendingReview
	c.CanRevoke = approvedIsLatest
	var base *tools.Version
	if t.ApprovedVersion != nil && !approvedIsLatest {
		_, bv, err := h.d.Tools.GetVersion(ctx, t.ID, *t.ApprovedVersion)
		if err != nil {
			return nil, err
		}
		base = &bv
		c.Base = bv.Version
	}
	c.NeverApproved = t.ApprovedVersion == nil
	text, isJSON := versionText(v)
	switch {
	case base != nil:
		old, _ := versionText(*base)
		view, err := codeview.Diff("version "+strconv.Itoa(base.Version), "version "+strconv.Itoa(v.Version), old, text)
		if err != nil {
			return nil, err
		}
		c.CodeTooLarge = view.TooLarge
		c.Code = codeview.RenderDiff(view)
		c.CodeLabel = "Changes from version " + strconv.Itoa(base.Version) + " to version " + strconv.Itoa(v.Version) + " of " + c.Exposed
	default:
		var (
			html template.HTML
			err  error
		)
		if isJSON {
			html, err = codeview.HighlightJSON([]byte(text))
		} else {
			html, err = codeview.Highlight(text)
		}
		if err != nil {
			return nil, err
		}
		c.CodeTooLarge = codeview.TooLarge(text)
		c.Code = html
		c.CodeLabel = "Code of version " + strconv.Itoa(v.Version) + " of " + c.Exposed
		if isJSON {
			c.CodeLabel = "Definition of version " + strconv.Itoa(v.Version) + " of " + c.Exposed
		}
	}
	var bm *proto.Manifest
	if base != nil {
		bm = &base.Manifest
	}
	c.Manifest = codeview.DiffManifests(bm, v.Manifest)
	c.Timeout = (codeview.LimitChange{Key: "timeout_ms", New: v.Manifest.TimeoutMS}).NewText()
	c.Memory = (codeview.LimitChange{Key: "memory_mb", New: v.Manifest.MemoryMB}).NewText()
	if !c.External {
		c.Reach = reachOf(v.Manifest, anyPublic)
	}
	return c, nil
}

// versionText is what a version's review compares: the Go code, or the
// pinned definition of an external tool as indented JSON (isJSON).
func versionText(v tools.Version) (text string, isJSON bool) {
	if v.Code != nil {
		return *v.Code, false
	}
	var b bytes.Buffer
	if err := json.Indent(&b, v.ExternalDefinition, "", "  "); err != nil {
		return string(v.ExternalDefinition), true
	}
	return b.String() + "\n", true
}

// approvalsRequestCard is a package or network request of the queue.
type approvalsRequestCard struct {
	CSRF, Back string
	Kind       string // packages or network
	ID         uuid.UUID
	DOMID      string
	Subject    string // the package path, or host[:port]
	PortText   string // "any port" or "port 8080" (network)
	ToolID     *uuid.UUID
	Tool       string
	ServerID   *uuid.UUID
	Server     string
	Justify    string
	Status     string
	StatusTag  string
	By         string
	Created    time.Time
	Reviewed   string
	Rejection  string

	// Packages: the catalogue entry.
	Tier, Description, Note string
	Filtered                bool
	// Blocked is why Approve is disabled (never tier, unknown path).
	Blocked string
	// Network: other tools already granted the host.
	OtherTools []string

	CanDecide, CanRevoke bool
	Notice, Message      string
	Focus                bool
	ReasonError, Reason  string
}

// requestContext holds what request cards share within one response: the
// package catalogue and the grants of each host.
type requestContext struct {
	h                *handler
	ctx              context.Context //nolint:containedctx // one request's reads
	catalogue        map[string]proto.Package
	catalogueRead    bool
	catalogueProblem string
	grants           map[string][]string
}

func newRequestContext(ctx context.Context, h *handler) *requestContext {
	return &requestContext{h: h, ctx: ctx, grants: map[string][]string{}}
}

// loadCatalogue reads the sandbox's package catalogue once.
func (cx *requestContext) loadCatalogue() error {
	if cx.catalogueRead {
		return nil
	}
	cx.catalogueRead = true
	p, err := cx.h.d.Dashboard.Packages(cx.ctx)
	if err != nil {
		return err
	}
	if p.CatalogueError != nil {
		cx.catalogueProblem = "The sandbox's package catalogue could not be read (" + p.CatalogueError.Message + "); tiers and descriptions are missing."
		return nil
	}
	cx.catalogue = map[string]proto.Package{}
	for _, e := range p.Catalogue {
		cx.catalogue[e.Path] = e
	}
	return nil
}

// otherTools names the tools of the server already granted host (approved
// network requests of other tools).
func (cx *requestContext) otherTools(r approvals.Request) ([]string, error) {
	if r.ServerID == nil {
		return nil, nil
	}
	key := r.ServerID.String() + " " + r.Host
	if names, ok := cx.grants[key]; ok {
		return names, nil
	}
	res, err := cx.h.d.Approvals.ListRequests(cx.ctx, approvals.KindNetwork,
		approvals.RequestFilter{Status: statusApproved, ServerID: r.ServerID, Q: r.Host}, 200, "")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, g := range res.Items {
		if g.Host != r.Host || g.ToolName == nil || (r.ToolID != nil && g.ToolID != nil && *g.ToolID == *r.ToolID) {
			continue
		}
		if !slices.Contains(names, *g.ToolName) {
			names = append(names, *g.ToolName)
		}
	}
	cx.grants[key] = names
	return names, nil
}

// requestStatusLabel is a request status as the page shows it.
func requestStatusLabel(s string) (string, string) {
	switch s {
	case approvals.StatusPending:
		return "Pending", "tag-warn"
	case approvals.StatusApproved:
		return "Approved", "tag-good"
	case approvals.StatusRejected:
		return "Rejected", ""
	}
	return s, ""
}

func (cx *requestContext) card(st *state, r approvals.Request, back string) (*approvalsRequestCard, error) {
	kind := kindNetwork
	if r.Kind == approvals.KindPackage {
		kind = kindPackages
	}
	c := &approvalsRequestCard{
		CSRF: st.csrf, Back: back, Kind: kind, ID: r.ID, DOMID: "approval-" + kind + "-" + r.ID.String(),
		ToolID: r.ToolID, ServerID: r.ServerID, Justify: r.Justification, By: authorText(r.RequestedBy), Created: r.CreatedAt,
		CanDecide: r.Status == approvals.StatusPending, CanRevoke: r.Status == approvals.StatusApproved,
	}
	c.Status, c.StatusTag = requestStatusLabel(r.Status)
	if r.ToolName != nil {
		c.Tool = *r.ToolName
	}
	if r.ServerName != nil {
		c.Server = *r.ServerName
	}
	if r.ReviewedBy != nil {
		c.Reviewed = authorText(*r.ReviewedBy)
	}
	if r.RejectionReason != nil && r.Status == approvals.StatusRejected {
		c.Rejection = *r.RejectionReason
	}
	if r.Kind == approvals.KindPackage {
		c.Subject = r.Package
		if err := cx.loadCatalogue(); err != nil {
			return nil, err
		}
		if cx.catalogue != nil {
			e, ok := cx.catalogue[r.Package]
			switch {
			case !ok:
				c.Tier = "unknown"
				c.Blocked = "This package is not in the sandbox's package catalogue, so no tool can import it."
			case e.Tier == proto.TierNever:
				c.Tier, c.Description, c.Note = string(e.Tier), e.Description, e.Note
				c.Blocked = "The package catalogue never allows this package"
				if e.Note != "" {
					c.Blocked += ": " + e.Note
				}
				c.Blocked += "."
			default:
				c.Tier, c.Description, c.Note, c.Filtered = string(e.Tier), e.Description, e.Note, e.Filtered
			}
		}
		return c, nil
	}
	c.Subject = approvals.Target{Host: r.Host, Port: r.Port}.String()
	c.PortText = "any port"
	if r.Port != nil {
		c.PortText = "port " + strconv.Itoa(*r.Port)
	}
	names, err := cx.otherTools(r)
	if err != nil {
		return nil, err
	}
	c.OtherTools = names
	return c, nil
}

// approvalsSourceCard is an external source of the queue.
type approvalsSourceCard struct {
	CSRF, Back          string
	ID                  uuid.UUID
	DOMID               string
	Name, URL           string
	Auth, Secret        string
	Header              string
	ServerID            uuid.UUID
	Server              string
	By                  string
	Created             time.Time
	Status, StatusTag   string
	LastError           string
	CanDecide           bool
	Notice, Message     string
	Focus               bool
	ReasonError, Reason string
}

// authLabel names a source's authentication (admin-ui.md §11.3).
func authLabel(a proto.SourceAuthType) string {
	switch a {
	case proto.AuthBearer:
		return "Bearer secret"
	case proto.AuthHeader:
		return "Custom header secret"
	case proto.AuthOAuth:
		return "OAuth 2.1"
	}
	return "None"
}

func sourceCard(st *state, s sources.Source, back string) *approvalsSourceCard {
	c := &approvalsSourceCard{
		CSRF: st.csrf, Back: back, ID: s.ID, DOMID: "approval-source-" + s.ID.String(), Name: s.Name, URL: s.URL,
		Auth: authLabel(s.AuthType), ServerID: s.ServerID, Server: s.ServerName, By: authorText(s.CreatedBy), Created: s.CreatedAt,
		CanDecide: s.Status == proto.SourcePendingReview,
	}
	if s.AuthSecretName != nil {
		c.Secret = *s.AuthSecretName
	}
	if s.AuthHeaderName != nil {
		c.Header = *s.AuthHeaderName
	}
	if s.LastError != nil {
		c.LastError = *s.LastError
	}
	switch s.Status {
	case proto.SourcePendingReview:
		c.Status, c.StatusTag = "Pending review", "tag-warn"
	case proto.SourceActive:
		c.Status, c.StatusTag = "Active", "tag-good"
	case proto.SourceError:
		c.Status = "Error"
	default:
		c.Status = "Disabled"
	}
	return c
}

// approvalsBulkDialogs are the bulk Approve and Reject dialogs of a page
// of pending package or network requests: each lists every request of the
// page with a checkbox, all ticked ("Select all on this page").
type approvalsBulkDialogs struct {
	CSRF, Back  string
	Kind        string
	Noun        string // "network requests"
	Key         string // part of the dialog ids: changes with the items, so an open dialog survives a refresh of the same page
	Items       []approvalsBulkItem
	ReasonError string
	Reason      string
	Problem     string
}

// approvalsBulkItem is one request of a bulk dialog.
type approvalsBulkItem struct {
	ID              uuid.UUID
	Subject, Detail string
	Checked         bool
}

func newBulkDialogs(st *state, q approvalsQuery, reqs []*approvalsRequestCard) *approvalsBulkDialogs {
	b := &approvalsBulkDialogs{CSRF: st.csrf, Back: q.Href(), Kind: q.Kind, Noun: kindNoun(q.Kind) + "s"}
	sum := sha256.New()
	for _, r := range reqs {
		if !r.CanDecide || r.Blocked != "" {
			continue
		}
		detail := r.Tool
		if r.Server != "" {
			detail += " on " + r.Server
		}
		b.Items = append(b.Items, approvalsBulkItem{ID: r.ID, Subject: r.Subject, Detail: strings.TrimSpace(detail), Checked: true})
		sum.Write(r.ID[:])
	}
	if len(b.Items) == 0 {
		return nil
	}
	b.Key = hex.EncodeToString(sum.Sum(nil))[:16]
	return b
}

// approvalsRejectForm is the reject dialog of a card and its form.
type approvalsRejectForm struct {
	DialogID, Action, CSRF, Back string
	Version                      int // tools: the reviewed version
	Subject, Noun, Consequence   string
	Reason, ReasonError          string
}

// RejectForm is the tool's reject dialog: the shown version, a reason.
func (c *approvalsToolCard) RejectForm() approvalsRejectForm {
	return approvalsRejectForm{
		DialogID: "reject-" + c.DOMID + "-v" + strconv.Itoa(c.Version), Action: "/approvals/tools/" + c.ID.String() + "/reject",
		CSRF: c.CSRF, Back: c.Back, Version: c.Version, Subject: c.Exposed + " version " + strconv.Itoa(c.Version), Noun: "version " + strconv.Itoa(c.Version),
		Consequence: "The version is not served. The LLM sees your reason and can submit a corrected version.",
		Reason:      c.Reason, ReasonError: c.ReasonError,
	}
}

// RejectForm is the request's reject dialog.
func (c *approvalsRequestCard) RejectForm() approvalsRejectForm {
	return approvalsRejectForm{
		DialogID: "reject-" + c.DOMID, Action: "/approvals/" + c.Kind + "/" + c.ID.String() + "/reject",
		CSRF: c.CSRF, Back: c.Back, Subject: c.Subject, Noun: "request",
		Consequence: "The request is refused. The LLM sees your reason; tools that need it stay unapproved.",
		Reason:      c.Reason, ReasonError: c.ReasonError,
	}
}

// RejectForm is the source's reject dialog.
func (c *approvalsSourceCard) RejectForm() approvalsRejectForm {
	return approvalsRejectForm{
		DialogID: "reject-" + c.DOMID, Action: "/approvals/sources/" + c.ID.String() + "/reject",
		CSRF: c.CSRF, Back: c.Back, Subject: "the source " + c.Name, Noun: "source",
		Consequence: "The source is disabled and none of its tools can be called. The LLM sees your reason.",
		Reason:      c.Reason, ReasonError: c.ReasonError,
	}
}

// ReasonMessage is the client-side message of an empty reason, the
// server's own.
func (approvalsRejectForm) ReasonMessage() string { return msgReasonNeeded }
