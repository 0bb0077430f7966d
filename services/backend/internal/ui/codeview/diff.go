package codeview

import (
	"bytes"
	_ "embed" // the diff template
	"errors"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aymanbagabas/go-udiff"
)

// ContextLines is the unchanged lines shown around each change.
const ContextLines = 3

// RowKind is what a diff row is: "context", "added" or "removed" (also the
// suffix of its CSS class, diff-<kind>).
type RowKind string

// Row kinds.
const (
	Context RowKind = "context"
	Added   RowKind = "added"
	Removed RowKind = "removed"
)

// Row is one line of a unified diff.
type Row struct {
	Kind RowKind
	// OldLine and NewLine are 1-based line numbers; 0 where the line does not
	// exist (NewLine of a removed row, OldLine of an added one).
	OldLine, NewLine int
	// Text is the line without its "\n" (a CR before it stays, and is shown
	// labelled).
	Text string
	// NoNewline is set on the last line of a text that does not end with a
	// newline.
	NoNewline bool
}

// Section is a hunk (changed lines with up to ContextLines of context on
// each side) or a run of unchanged lines outside every hunk's context,
// shown collapsed ("Show N hidden lines").
type Section struct {
	Hidden bool
	// Header is the hunk's range in unified-diff form, "@@ -3,7 +3,8 @@"
	// (GNU diff's spelling); "" for a hidden section.
	Header string
	Rows   []Row
}

// View is a unified line diff laid out for display: its sections, in order,
// hold every line of both texts exactly once (a context row stands for one
// line of each).
type View struct {
	OldName, NewName string
	// TooLarge is set when either text is past the display limits
	// (TooLarge); there are no sections and the page offers a download.
	TooLarge bool
	// Added and Removed count the changed lines.
	Added, Removed int
	// Sections is empty when the texts are equal (or TooLarge).
	Sections []Section
}

// Equal reports whether the two texts are the same (and were compared).
func (v View) Equal() bool { return !v.TooLarge && len(v.Sections) == 0 }

// Diff compares old and new line by line with go-udiff (the Myers-style
// LCS diff of the Go tools) and lays the result out as a View: hunks with
// ContextLines of context, merged when at most 2×ContextLines unchanged
// lines separate them (as `diff -u` does), and the unchanged lines between
// them as hidden sections. The names label the two sides ("version 2").
// The error is only for edits that do not rebuild the texts, a bug that
// the fuzz test looks for.
func Diff(oldName, newName, old, new string) (View, error) {
	v := View{OldName: oldName, NewName: newName}
	if TooLarge(old) || TooLarge(new) {
		v.TooLarge = true
		return v, nil
	}
	if old == new {
		return v, nil
	}
	ops, err := align(old, new)
	if err != nil {
		return View{}, err
	}
	v.Sections = sections(ops)
	for _, op := range ops {
		switch op.Kind {
		case Added:
			v.Added++
		case Removed:
			v.Removed++
		}
	}
	return v, nil
}

// splitLines splits s into lines that keep their "\n" (the last one has
// none when s does not end with a newline), as go-udiff splits it, with
// the byte offset of each line's start and, last, len(s).
func splitLines(s string) (lines []string, starts []int) {
	starts = []int{0}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '\n')
		if j < 0 {
			lines = append(lines, s[i:])
			starts = append(starts, len(s))
			break
		}
		lines = append(lines, s[i:i+j+1])
		i += j + 1
		starts = append(starts, i)
	}
	return lines, starts
}

// align turns go-udiff's line edits into one row per line of old and new,
// in order: every old line once (context or removed), every new line once
// (context or added). It checks that the edits rebuild new exactly.
func align(old, new string) ([]Row, error) {
	oldLines, starts := splitLines(old)
	newLines, _ := splitLines(new)
	edits := udiff.Lines(old, new)
	lineAt := func(offset int) (int, error) {
		i := sort.SearchInts(starts, offset)
		if i >= len(starts) || starts[i] != offset {
			return 0, fmt.Errorf("codeview: diff edit offset %d is not at a line start", offset)
		}
		return i, nil
	}
	rows := make([]Row, 0, len(oldLines)+len(newLines))
	i, j := 0, 0 // next old line, next new line (0-based)
	same := func(until int) error {
		for ; i < until; i++ {
			if j >= len(newLines) || newLines[j] != oldLines[i] {
				return errors.New("codeview: diff edits do not match the texts")
			}
			rows = append(rows, row(Context, i+1, j+1, oldLines[i]))
			j++
		}
		return nil
	}
	for _, e := range edits {
		start, err := lineAt(e.Start)
		if err != nil {
			return nil, err
		}
		end, err := lineAt(e.End)
		if err != nil {
			return nil, err
		}
		if start < i || end < start {
			return nil, errors.New("codeview: diff edits out of order")
		}
		if err := same(start); err != nil {
			return nil, err
		}
		for ; i < end; i++ {
			rows = append(rows, row(Removed, i+1, 0, oldLines[i]))
		}
		inserted, _ := splitLines(e.New)
		for _, l := range inserted {
			if j >= len(newLines) || newLines[j] != l {
				return nil, errors.New("codeview: diff edits do not rebuild the new text")
			}
			rows = append(rows, row(Added, 0, j+1, l))
			j++
		}
	}
	if err := same(len(oldLines)); err != nil {
		return nil, err
	}
	if j != len(newLines) {
		return nil, errors.New("codeview: diff edits do not cover the new text")
	}
	return rows, nil
}

// row builds a Row from a line with its terminator.
func row(kind RowKind, oldLine, newLine int, line string) Row {
	text, ok := strings.CutSuffix(line, "\n")
	return Row{Kind: kind, OldLine: oldLine, NewLine: newLine, Text: text, NoNewline: !ok}
}

// sections groups rows: a row is in a hunk when a changed row is at most
// ContextLines away; the runs of other rows are hidden sections.
func sections(rows []Row) []Section {
	visible := make([]bool, len(rows))
	for k, r := range rows {
		if r.Kind == Context {
			continue
		}
		for d := max(0, k-ContextLines); d <= min(len(rows)-1, k+ContextLines); d++ {
			visible[d] = true
		}
	}
	var out []Section
	oldSeen, newSeen := 0, 0 // lines of each side before row k
	for k := 0; k < len(rows); {
		end := k
		for end < len(rows) && visible[end] == visible[k] {
			end++
		}
		s := Section{Hidden: !visible[k], Rows: rows[k:end]}
		oldCount, newCount := 0, 0
		for _, r := range s.Rows {
			if r.Kind != Added {
				oldCount++
			}
			if r.Kind != Removed {
				newCount++
			}
		}
		if !s.Hidden {
			s.Header = "@@ -" + hunkRange(oldSeen, oldCount) + " +" + hunkRange(newSeen, newCount) + " @@"
		}
		out = append(out, s)
		oldSeen += oldCount
		newSeen += newCount
		k = end
	}
	return out
}

// hunkRange is one side of a hunk header as diff -u writes it: "start,count",
// ",1" omitted, and an empty range as "<line before>,0". before is the number
// of that side's lines before the hunk.
func hunkRange(before, count int) string {
	switch count {
	case 0:
		return strconv.Itoa(before) + ",0"
	case 1:
		return strconv.Itoa(before + 1)
	}
	return strconv.Itoa(before+1) + "," + strconv.Itoa(count)
}

//go:embed diff.tmpl
var diffTemplateText string

// diffTemplate is parsed once.
var diffTemplate = sync.OnceValue(func() *template.Template { //nolint:gochecknoglobals // parsed once, read-only
	return template.Must(template.New("diff.tmpl").Funcs(template.FuncMap{
		"codeText": func(s string) template.HTML { return trusted(escapeText(s)) },
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return one
			}
			return many
		},
	}).Parse(diffTemplateText))
})

// RenderDiff renders a View as HTML through html/template, so the names
// and headers are escaped by it and line text by escapeText:
//
//   - TooLarge: <p class="diff-notice"> saying so (the caller adds the
//     download link);
//   - equal texts: <p class="diff-notice">No changes…</p>;
//   - otherwise <table class="diff"> with a caption (names, counts), a
//     header row (Old, New, Change, Line), one <tbody class="diff-hunk"> per
//     hunk, whose first row (class diff-hunk-header) holds the @@ header, and
//     one <tbody class="diff-gap"> per hidden section holding
//     <details><summary>Show N hidden lines</summary> and a
//     role="presentation" table of those lines. Rows are
//     <tr class="diff-context|diff-added|diff-removed"> with cells diff-ln
//     (old, new), diff-marker ("+" or "−", aria-hidden, plus visually
//     hidden "added"/"removed") and diff-code (the text; a last line
//     without newline adds <span class="diff-nonl">).
//
// The caller wraps it in a focusable scroll region (class code-scroll).
func RenderDiff(v View) template.HTML {
	var b bytes.Buffer
	if err := diffTemplate().Execute(&b, v); err != nil {
		// The template and the View's types are fixed, and a bytes.Buffer
		// does not fail: an error here is a bug, not a condition.
		panic(fmt.Sprintf("codeview: render diff: %v", err))
	}
	return trusted(b.String())
}
