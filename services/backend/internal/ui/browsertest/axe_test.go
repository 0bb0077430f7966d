//go:build browser

package browsertest

import (
	_ "embed" // axe-core, for the tests only
	"encoding/json"
	"fmt"
	"strings"
)

// axeSource is axe-core (testdata/NOTICE). It is compiled only into the
// browser-tagged test binary, never into the product.
//
//go:embed testdata/axe.min.js
var axeSource string

// AxeTags are the rule tags every axe run uses (admin-ui.md §15).
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// Violation is one axe rule that failed, with the nodes it failed on.
type Violation struct {
	ID      string    `json:"id"`
	Impact  string    `json:"impact"`
	Help    string    `json:"help"`
	HelpURL string    `json:"helpUrl"`
	Nodes   []AxeNode `json:"nodes"`
}

// AxeNode is one element a rule failed on.
type AxeNode struct {
	Target  string `json:"target"`
	HTML    string `json:"html"`
	Summary string `json:"summary"`
}

// Blocking reports whether the violation fails a check (serious or
// critical).
func (v Violation) Blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s — %s", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %s: %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", "\n      "))
	}
	return b.String()
}

// axeRun runs axe on the document with AxeTags and returns the violations
// in a shape Go decodes.
const axeRun = `(async () => {
  const r = await axe.run(document, {
    runOnly: { type: "tag", values: %s },
    resultTypes: ["violations"],
  });
  return r.violations.map((v) => ({
    id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), html: n.html, summary: n.failureSummary || "" })),
  }));
})()`

// AxeViolations injects axe-core into the page through DevTools (when the
// document lacks it) and returns every violation.
func (p *Page) AxeViolations() []Violation {
	p.t.Helper()
	if !Eval[bool](p, `typeof window.axe === "object"`) {
		Eval[bool](p, axeSource+"\n;true")
	}
	tags, _ := json.Marshal(AxeTags)
	return Eval[[]Violation](p, fmt.Sprintf(axeRun, tags))
}

// Axe runs axe-core on the page as it is: serious and critical violations
// fail the check, moderate and minor ones are logged. what names the page
// state in the messages ("login light desktop").
func (p *Page) Axe(what string) {
	p.t.Helper()
	for _, v := range p.AxeViolations() {
		if v.Blocking() {
			p.t.Errorf("axe %s: %s", what, v)
		} else {
			p.t.Logf("axe %s (not blocking): %s", what, v)
		}
	}
}
