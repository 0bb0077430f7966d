package codeview

import (
	"fmt"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// UI-27, UI-33: the manifest diff names an added host as added.
func TestDiffManifests(t *testing.T) {
	t.Parallel()
	base := proto.Manifest{
		Hosts:     []string{"api.example.com", "old.example.com"},
		Packages:  []string{"encoding/xml"},
		Secrets:   []string{"API_KEY"},
		TimeoutMS: 30_000,
		MemoryMB:  128,
	}
	m := proto.Manifest{
		Hosts:     []string{"API.example.com.", "nas.lan:8080", "192.168.1.10", "[::1]:8443", "8.8.8.8"},
		Packages:  []string{"encoding/xml"},
		Secrets:   []string{"API_KEY", "TOKEN"},
		TimeoutMS: 60_500,
		MemoryMB:  256,
	}
	d := DiffManifests(&base, m)
	if !d.HasBase || !d.Changed() {
		t.Fatalf("HasBase %v Changed %v", d.HasBase, d.Changed())
	}
	if got := fmt.Sprint(d.Hosts.Added()); got != "[192.168.1.10 8.8.8.8 [::1]:8443 nas.lan:8080]" {
		t.Errorf("added hosts %s", got)
	}
	if got := fmt.Sprint(d.Hosts.Removed()); got != "[old.example.com]" {
		t.Errorf("removed hosts %s", got)
	}
	nonPublic := map[string]bool{}
	for _, e := range d.Hosts {
		nonPublic[e.Value] = e.NonPublicIP
		if e.Value == "api.example.com" && e.Change != Unchanged {
			t.Errorf("api.example.com (normalised the same) marked %v", e.Change)
		}
	}
	if !nonPublic["192.168.1.10"] || !nonPublic["[::1]:8443"] || nonPublic["8.8.8.8"] || nonPublic["nas.lan:8080"] {
		t.Errorf("non-public flags %v", nonPublic)
	}
	if d.Packages.Changed() {
		t.Errorf("packages changed: %+v", d.Packages)
	}
	if got := fmt.Sprint(d.Secrets.Added(), d.Secrets.Removed()); got != "[TOKEN] []" {
		t.Errorf("secrets %s", got)
	}
	if len(d.Limits) != 2 || d.Limits[0].String() != "Timeout: 30 s → 60500 ms" || d.Limits[1].String() != "Memory: 128 MiB → 256 MiB" {
		t.Errorf("limits %v", d.Limits)
	}
	added := d.Secrets[1]
	if added.Value != "TOKEN" || !added.IsAdded() || added.IsRemoved() {
		t.Errorf("entry %+v", added)
	}
}

func TestDiffManifestsWithoutBase(t *testing.T) {
	t.Parallel()
	d := DiffManifests(nil, proto.Manifest{Hosts: []string{"a.example"}, Packages: []string{}, Secrets: []string{"K"}, TimeoutMS: 1000, MemoryMB: 32})
	if d.HasBase || len(d.Limits) != 0 {
		t.Fatalf("%+v", d)
	}
	if fmt.Sprint(d.Hosts.Added(), d.Secrets.Added(), d.Packages) != "[a.example] [K] []" {
		t.Fatalf("%+v", d)
	}
	same := proto.Manifest{Hosts: []string{"b", "a"}, Packages: []string{}, Secrets: []string{}, TimeoutMS: 1000}
	reordered := proto.Manifest{Hosts: []string{"a", "b", "a"}, TimeoutMS: 1000}
	if DiffManifests(&same, reordered).Changed() {
		t.Fatal("order, duplicates or nil lists counted as changes")
	}
	if got := (LimitChange{Key: "memory_mb", Old: 0, New: 64}).OldText(); got != "none" {
		t.Fatalf("external tool memory %q", got)
	}
}
