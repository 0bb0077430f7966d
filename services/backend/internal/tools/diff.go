package tools

import (
	"fmt"
	"strings"
)

// contextLines is the context of a unified diff hunk (backend.md §8.2).
const contextLines = 3

// maxEditDistance bounds the Myers search: past this many inserted plus
// deleted lines the changed middle is shown as one replacement, still a
// correct diff, so time and memory stay bounded for any pair of files.
const maxEditDistance = 1000

// opKind is one step of an edit script.
type opKind byte

const (
	opEqual opKind = iota
	opDelete
	opInsert
)

// edit is one line of an edit script: a line of a (delete, equal) or of b
// (insert), with its terminator.
type edit struct {
	kind opKind
	line string
}

// splitLines splits text into lines that keep their "\n"; the last line
// has none when the text does not end with a newline.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// lineEdits returns an edit script from a to b: common prefix and suffix
// kept, the middle by Myers' O(ND) algorithm (shortest script) while the
// distance is at most maxEditDistance, else replaced whole.
func lineEdits(a, b []string) []edit {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	out := make([]edit, 0, len(a)+len(b))
	for _, l := range a[:pre] {
		out = append(out, edit{opEqual, l})
	}
	out = append(out, myers(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		out = append(out, edit{opEqual, l})
	}
	return out
}

// myers is Myers' greedy shortest edit script ("An O(ND) Difference
// Algorithm and Its Variations", 1986), keeping each round's frontier to
// walk the path back.
func myers(a, b []string) []edit {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return replaceAll(a, b)
	}
	offset := n + m
	v := make([]int, 2*offset+2)
	var trace [][]int
	for d := 0; d <= n+m; d++ {
		if d > maxEditDistance {
			return replaceAll(a, b)
		}
		trace = append(trace, append([]int(nil), v[offset-d:offset+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[offset+k-1] < v[offset+k+1]) {
				x = v[offset+k+1]
			} else {
				x = v[offset+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[offset+k] = x
			if x >= n && y >= m {
				return backtrack(a, b, trace, d)
			}
		}
	}
	return replaceAll(a, b)
}

// backtrack walks the frontiers of rounds dEnd..0 back from (n, m).
// trace[d] holds the frontier v[-d..d+1] as it was when round d started.
func backtrack(a, b []string, trace [][]int, dEnd int) []edit {
	x, y := len(a), len(b)
	rev := make([]edit, 0, len(a)+len(b))
	for d := dEnd; d >= 0; d-- {
		v := trace[d]
		at := func(k int) int { return v[k+d] }
		k := x - y
		pk := k - 1
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		}
		px := at(pk)
		py := px - pk
		for x > px && y > py {
			x--
			y--
			rev = append(rev, edit{opEqual, a[x]})
		}
		if d > 0 {
			if x == px {
				rev = append(rev, edit{opInsert, b[py]})
			} else {
				rev = append(rev, edit{opDelete, a[px]})
			}
		}
		x, y = px, py
	}
	out := make([]edit, len(rev))
	for i, e := range rev {
		out[len(rev)-1-i] = e
	}
	return out
}

// replaceAll deletes every line of a and inserts every line of b.
func replaceAll(a, b []string) []edit {
	out := make([]edit, 0, len(a)+len(b))
	for _, l := range a {
		out = append(out, edit{opDelete, l})
	}
	for _, l := range b {
		out = append(out, edit{opInsert, l})
	}
	return out
}

// UnifiedDiff returns the unified diff from a to b with 3 lines of context
// (the format of `diff -u`, headers "--- <aName>" and "+++ <bName>"), or ""
// when they are equal. A last line without a newline is marked
// "\ No newline at end of file".
func UnifiedDiff(aName, bName, a, b string) string {
	edits := lineEdits(splitLines(a), splitLines(b))
	changed := false
	for _, e := range edits {
		if e.kind != opEqual {
			changed = true
			break
		}
	}
	if !changed {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", aName, bName)
	// aLine[i], bLine[i]: the 1-based line numbers edit i starts at.
	aLine, bLine := make([]int, len(edits)+1), make([]int, len(edits)+1)
	aLine[0], bLine[0] = 1, 1
	for i, e := range edits {
		aLine[i+1], bLine[i+1] = aLine[i], bLine[i]
		if e.kind != opInsert {
			aLine[i+1]++
		}
		if e.kind != opDelete {
			bLine[i+1]++
		}
	}
	for i := 0; i < len(edits); {
		if edits[i].kind == opEqual {
			i++
			continue
		}
		start := max(0, i-contextLines)
		end := i // one past the hunk's last edit
		for end < len(edits) {
			if edits[end].kind != opEqual {
				end++
				continue
			}
			run := end
			for run < len(edits) && edits[run].kind == opEqual {
				run++
			}
			if run == len(edits) || run-end > 2*contextLines {
				end = min(run, end+contextLines)
				break
			}
			end = run
		}
		writeHunk(&sb, edits[start:end], aLine[start], bLine[start])
		i = end
	}
	return sb.String()
}

// writeHunk writes one hunk: its header and lines.
func writeHunk(sb *strings.Builder, hunk []edit, aStart, bStart int) {
	aCount, bCount := 0, 0
	for _, e := range hunk {
		if e.kind != opInsert {
			aCount++
		}
		if e.kind != opDelete {
			bCount++
		}
	}
	fmt.Fprintf(sb, "@@ -%s +%s @@\n", hunkRange(aStart, aCount), hunkRange(bStart, bCount))
	for _, e := range hunk {
		prefix := " "
		switch e.kind {
		case opDelete:
			prefix = "-"
		case opInsert:
			prefix = "+"
		}
		sb.WriteString(prefix)
		sb.WriteString(e.line)
		if !strings.HasSuffix(e.line, "\n") {
			sb.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// hunkRange is "start,count" as diff -u writes it: ",1" omitted, and an
// empty range starting at the line before.
func hunkRange(start, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", start-1)
	case 1:
		return fmt.Sprintf("%d", start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}
