package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The markers of the generated section of docs/PERFORMANCE.md; what lies between them is rewritten by
// `make bench UPDATE_DOCS=1`, everything else is left as it is.
const (
	sectionBegin = "<!-- stack-bench:begin -->"
	sectionEnd   = "<!-- stack-bench:end -->"
)

// Paths of the documentation, relative to the repository root.
const (
	docsPerformance = "docs/PERFORMANCE.md"
	docsChart       = "docs/perf/stack-latency.svg"
)

// replaceSection returns doc with the text between the markers replaced by content (on lines of its own). Each
// marker must appear exactly once, begin before end.
func replaceSection(doc, content string) (string, error) {
	for _, m := range []string{sectionBegin, sectionEnd} {
		switch n := strings.Count(doc, m); n {
		case 1:
		case 0:
			return "", fmt.Errorf("%s: marker %s is missing; add the pair %s … %s where the stack figures go", docsPerformance, m, sectionBegin, sectionEnd)
		default:
			return "", fmt.Errorf("%s: marker %s appears %d times, want once", docsPerformance, m, n)
		}
	}
	i, j := strings.Index(doc, sectionBegin), strings.Index(doc, sectionEnd)
	if j < i {
		return "", fmt.Errorf("%s: %s comes before %s", docsPerformance, sectionEnd, sectionBegin)
	}
	head, tail := doc[:i+len(sectionBegin)], doc[j:]
	return head + "\n" + strings.TrimRight(content, "\n") + "\n" + tail, nil
}

// updateDocs writes the chart to docs/perf/stack-latency.svg and the report into the generated section of
// docs/PERFORMANCE.md under root. The section is checked before anything is written.
func updateDocs(root string, r benchReport, svg []byte) error {
	path := filepath.Join(root, docsPerformance)
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", docsPerformance, err)
	}
	// The chart's path relative to docs/PERFORMANCE.md.
	rel, err := filepath.Rel(filepath.Dir(docsPerformance), docsChart)
	if err != nil {
		return fmt.Errorf("chart path: %w", err)
	}
	doc, err := replaceSection(string(raw), r.markdown(filepath.ToSlash(rel)))
	if err != nil {
		return err
	}
	chart := filepath.Join(root, docsChart)
	if err := os.MkdirAll(filepath.Dir(chart), 0o755); err != nil {
		return fmt.Errorf("docs/perf: %w", err)
	}
	if err := os.WriteFile(chart, svg, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", docsChart, err)
	}
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", docsPerformance, err)
	}
	return nil
}
