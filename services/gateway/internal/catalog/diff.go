package catalog

// Diff compares two snapshots for the SDK registrar (gateway.md §7.4):
// removed are the names of prev that next no longer has, changed the entries
// of next that are new or differ from prev's entry of the same name in tool
// id, version or definition (any field). Both lists are in name order. A
// nil prev means nothing was registered yet: every entry of next is changed.
// A nil next removes everything.
func Diff(prev, next *Snapshot) (removed []string, changed []Entry) {
	if prev != nil {
		for i := range prev.tools {
			name := prev.tools[i].Name
			if next == nil {
				removed = append(removed, name)
				continue
			}
			if _, ok := next.byName[name]; !ok {
				removed = append(removed, name)
			}
		}
	}
	if next == nil {
		return removed, nil
	}
	for i := range next.tools {
		e := &next.tools[i]
		if prev != nil {
			if old, ok := prev.Lookup(e.Name); ok && old.sameAs(e) {
				continue
			}
		}
		changed = append(changed, *e)
	}
	return removed, changed
}
