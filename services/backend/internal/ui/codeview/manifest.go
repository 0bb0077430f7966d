package codeview

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/addrclass"
)

// Change is how a manifest entry differs from the base manifest.
type Change uint8

// Changes.
const (
	Unchanged Change = iota
	EntryAdded
	EntryRemoved
)

// Entry is one host, package or secret name of a manifest diff.
type Entry struct {
	Value  string
	Change Change
	// NonPublicIP is set on a host that is an IP literal outside the public
	// address range (a private, loopback, link-local… address, sandbox.md
	// §12.3), which the approvals page shows in warning style.
	NonPublicIP bool
}

// IsAdded reports whether the entry is new in this manifest.
func (e Entry) IsAdded() bool { return e.Change == EntryAdded }

// IsRemoved reports whether the entry was in the base manifest only.
func (e Entry) IsRemoved() bool { return e.Change == EntryRemoved }

// ListDiff is the union of a manifest list and its base, sorted by value,
// each entry marked.
type ListDiff []Entry

// Added returns the values new in this manifest.
func (l ListDiff) Added() []string { return l.values(EntryAdded) }

// Removed returns the values only the base had.
func (l ListDiff) Removed() []string { return l.values(EntryRemoved) }

// Changed reports whether anything was added or removed.
func (l ListDiff) Changed() bool {
	return slices.ContainsFunc(l, func(e Entry) bool { return e.Change != Unchanged })
}

func (l ListDiff) values(c Change) []string {
	out := []string{}
	for _, e := range l {
		if e.Change == c {
			out = append(out, e.Value)
		}
	}
	return out
}

// LimitChange is a manifest limit whose value changed.
type LimitChange struct {
	// Key is the manifest key, "timeout_ms" or "memory_mb".
	Key string
	// Label is its name on the page, "Timeout" or "Memory".
	Label    string
	Old, New int
}

// OldText and NewText format the values for display: "30 s" or "1500 ms"
// for a timeout, "128 MiB" for memory ("none" for an external tool's 0).
func (c LimitChange) OldText() string { return formatLimit(c.Key, c.Old) }

// NewText formats New; see OldText.
func (c LimitChange) NewText() string { return formatLimit(c.Key, c.New) }

// String is "Timeout: 30 s → 60 s".
func (c LimitChange) String() string {
	return c.Label + ": " + c.OldText() + " → " + c.NewText()
}

func formatLimit(key string, v int) string {
	switch key {
	case "timeout_ms":
		if v%1000 == 0 {
			return strconv.Itoa(v/1000) + " s"
		}
		return strconv.Itoa(v) + " ms"
	case "memory_mb":
		if v == 0 {
			return "none"
		}
		return strconv.Itoa(v) + " MiB"
	}
	return strconv.Itoa(v)
}

// ManifestDiff is a manifest compared with a base (the last approved
// version's, or the From version's on the versions tab), for the approvals
// and versions pages.
type ManifestDiff struct {
	// HasBase is false when there is no base manifest: every entry is then
	// Added and Limits is empty (the page shows "No version of this tool
	// has been approved yet" and the plain manifest).
	HasBase bool
	// Hosts, Packages and Secrets are the allowed hosts, opt-in packages and
	// secret names.
	Hosts, Packages, Secrets ListDiff
	// Limits lists the changed limits, timeout then memory.
	Limits []LimitChange
}

// Changed reports whether the manifests differ in any list or limit.
func (d ManifestDiff) Changed() bool {
	return d.Hosts.Changed() || d.Packages.Changed() || d.Secrets.Changed() || len(d.Limits) > 0
}

// DiffManifests compares m with base (nil: no base). Lists are compared as
// sets of their normalised entries (proto.Manifest.Normalize), so order and
// duplicates do not count as changes; an entry that does not normalise is
// compared as written.
func DiffManifests(base *proto.Manifest, m proto.Manifest) ManifestDiff {
	d := ManifestDiff{HasBase: base != nil}
	var b proto.Manifest
	if base != nil {
		b = *base
	}
	d.Hosts = diffList(normalizedHosts(b.Hosts), normalizedHosts(m.Hosts))
	for i, e := range d.Hosts {
		d.Hosts[i].NonPublicIP = nonPublicIP(e.Value)
	}
	d.Packages = diffList(b.Packages, m.Packages)
	d.Secrets = diffList(b.Secrets, m.Secrets)
	d.Limits = []LimitChange{}
	if base != nil {
		if b.TimeoutMS != m.TimeoutMS {
			d.Limits = append(d.Limits, LimitChange{Key: "timeout_ms", Label: "Timeout", Old: b.TimeoutMS, New: m.TimeoutMS})
		}
		if b.MemoryMB != m.MemoryMB {
			d.Limits = append(d.Limits, LimitChange{Key: "memory_mb", Label: "Memory", Old: b.MemoryMB, New: m.MemoryMB})
		}
	}
	return d
}

// normalizedHosts returns each host in its normalised form when it has one.
func normalizedHosts(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if n, err := proto.NormalizeHost(h); err == nil {
			h = n
		}
		out = append(out, h)
	}
	return out
}

// diffList marks the union of two lists, sorted and deduplicated.
func diffList(base, list []string) ListDiff {
	all := slices.Concat(base, list)
	slices.Sort(all)
	all = slices.Compact(all)
	out := make(ListDiff, 0, len(all))
	for _, v := range all {
		e := Entry{Value: v}
		switch {
		case !slices.Contains(base, v):
			e.Change = EntryAdded
		case !slices.Contains(list, v):
			e.Change = EntryRemoved
		}
		out = append(out, e)
	}
	return out
}

// nonPublicIP reports whether a normalised host entry is an IP literal
// outside the public range.
func nonPublicIP(entry string) bool {
	host, _ := proto.SplitNormalizedHost(entry)
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return false
	}
	return !addrclass.Public(a)
}
