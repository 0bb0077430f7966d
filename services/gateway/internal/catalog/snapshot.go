package catalog

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// Entry is one callable user tool of a Snapshot: the catalog's tool after
// validation (gateway.md §7.3). InputSchema is normalised
// (NormalizeInputSchema); OutputSchema and Annotations are nil when the
// catalog sent JSON null, so "absent" has one representation. Entries are
// shared by every reader of a snapshot: never modify one.
type Entry struct {
	proto.CatalogTool
}

// sameAs reports whether e and o would be registered identically and run
// the same code: every field compared, raw JSON byte for byte.
func (e *Entry) sameAs(o *Entry) bool {
	a, b := e.CatalogTool, o.CatalogTool
	return a.ToolID == b.ToolID && a.ServerID == b.ServerID && a.ServerName == b.ServerName &&
		a.Name == b.Name && a.Kind == b.Kind && a.Version == b.Version && a.Hash == b.Hash &&
		a.Description == b.Description && a.TimeoutMS == b.TimeoutMS &&
		bytes.Equal(a.InputSchema, b.InputSchema) && bytes.Equal(a.OutputSchema, b.OutputSchema) &&
		bytes.Equal(a.Annotations, b.Annotations)
}

// RejectReason is why a catalog entry was skipped: the label values of
// mcpbox_gateway_catalog_rejected_entries{reason} (gateway.md §13).
type RejectReason string

// Reject reasons.
const (
	// RejectName: the exposed name is longer than 64 characters or breaks
	// the name pattern.
	RejectName RejectReason = "name"
	// RejectReserved: the exposed name starts with "mcpbox". It wins over
	// RejectName, so anything in the management namespace is counted here.
	RejectReserved RejectReason = "reserved"
	// RejectDuplicate: two or more entries share the name; all are skipped,
	// since the gateway cannot tell which one the backend meant.
	RejectDuplicate RejectReason = "duplicate"
	// RejectSchema: the input schema cannot be made an object schema.
	RejectSchema RejectReason = "schema"
	// RejectSDK: the SDK refused the definition (reported by the registrar
	// through Cache.RejectedBySDK).
	RejectSDK RejectReason = "sdk_rejected"
)

// rejectReasons lists every reason, in the order of the metric's help.
func rejectReasons() []RejectReason {
	return []RejectReason{RejectName, RejectReserved, RejectDuplicate, RejectSchema, RejectSDK}
}

// Rejection is one skipped catalog entry.
type Rejection struct {
	Name   string
	ToolID string
	Reason RejectReason
	// Detail says what is wrong, for the log line.
	Detail string
}

// Snapshot is one immutable catalog revision as the gateway serves it: the
// valid callable entries sorted by name (byte order, the SDK's listing
// order), an index by name, and the withheld tools by name. It is published
// through an atomic pointer and never changes afterwards.
type Snapshot struct {
	revision  int64
	fetchedAt time.Time
	tools     []Entry
	byName    map[string]int
	withheld  map[string]proto.WithheldTool
	rejected  []Rejection
}

// Revision is the catalog revision this snapshot was built from.
func (s *Snapshot) Revision() int64 { return s.revision }

// FetchedAt is when this revision was fetched. Later 304 answers do not
// change it; Cache.Stale measures freshness.
func (s *Snapshot) FetchedAt() time.Time { return s.fetchedAt }

// Tools returns the callable entries sorted by name. The slice is shared:
// read it, never modify or append to it.
func (s *Snapshot) Tools() []Entry { return s.tools }

// Len is the number of callable entries.
func (s *Snapshot) Len() int { return len(s.tools) }

// Lookup returns the callable entry with this exposed name. The pointer is
// into the snapshot: read only.
func (s *Snapshot) Lookup(name string) (*Entry, bool) {
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return &s.tools[i], true
}

// Withheld returns the withheld tool with this exposed name, for the
// not-callable messages of gateway.md §8.7.
func (s *Snapshot) Withheld(name string) (proto.WithheldTool, bool) {
	w, ok := s.withheld[name]
	return w, ok
}

// WithheldLen is the number of withheld tools.
func (s *Snapshot) WithheldLen() int { return len(s.withheld) }

// Rejected lists the entries the catalog sent that failed validation, in
// catalog order. Shared: read only.
func (s *Snapshot) Rejected() []Rejection { return s.rejected }

// BuildSnapshot validates a catalog document into a Snapshot (gateway.md
// §7.3). An entry is skipped when its exposed name breaks the rules of
// proto.ValidateExposedName (reason reserved for an "mcpbox" prefix, else
// name), when its name appears more than once among the callable tools
// (every copy is skipped), or when NormalizeInputSchema fails (schema).
// Withheld tools are kept by name as sent (first wins): they are only named
// in error messages.
func BuildSnapshot(cat proto.Catalog, fetchedAt time.Time) *Snapshot {
	s := &Snapshot{revision: cat.Revision, fetchedAt: fetchedAt}
	counts := make(map[string]int, len(cat.Tools))
	for i := range cat.Tools {
		counts[cat.Tools[i].Name]++
	}
	s.tools = make([]Entry, 0, len(cat.Tools))
	for i := range cat.Tools {
		t := cat.Tools[i]
		reason, detail := checkName(t.Name)
		if reason == "" && counts[t.Name] > 1 {
			reason, detail = RejectDuplicate, "the catalog lists this name more than once"
		}
		if reason == "" {
			schema, err := NormalizeInputSchema(t.InputSchema)
			if err != nil {
				reason, detail = RejectSchema, err.Error()
			}
			t.InputSchema = schema
		}
		if reason != "" {
			s.rejected = append(s.rejected, Rejection{Name: t.Name, ToolID: t.ToolID, Reason: reason, Detail: detail})
			continue
		}
		t.OutputSchema = nullToNil(t.OutputSchema)
		t.Annotations = nullToNil(t.Annotations)
		s.tools = append(s.tools, Entry{CatalogTool: t})
	}
	slices.SortFunc(s.tools, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	s.byName = make(map[string]int, len(s.tools))
	for i := range s.tools {
		s.byName[s.tools[i].Name] = i
	}
	s.withheld = make(map[string]proto.WithheldTool, len(cat.Withheld))
	for _, w := range cat.Withheld {
		if _, dup := s.withheld[w.Name]; !dup {
			s.withheld[w.Name] = w
		}
	}
	return s
}

// checkName classifies an exposed name: "" when valid.
func checkName(name string) (RejectReason, string) {
	if strings.HasPrefix(name, proto.ReservedPrefix) {
		return RejectReserved, "names starting with '" + proto.ReservedPrefix + "' belong to management tools"
	}
	if err := proto.ValidateExposedName(name); err != nil {
		return RejectName, err.Error()
	}
	return "", ""
}

// nullToNil maps absent and JSON null to nil; other values stay as sent.
func nullToNil(raw json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil
	}
	return raw
}

// countRejected counts a snapshot's rejections by reason.
func countRejected(rs []Rejection) map[RejectReason]int {
	n := map[RejectReason]int{}
	for _, r := range rs {
		n[r.Reason]++
	}
	return n
}
