// Package codeview renders code, JSON and diffs for the admin UI
// (admin-ui.md §2 "Highlighting" and "Diff", §12 display safety): the only
// producers of template.HTML from untrusted text (U4), so every piece of
// text they emit is escaped here and fuzz-tested for it.
//
// # Highlighting
//
// Highlight (Go) and HighlightJSON use chroma's lexers and its HTML
// formatter with classes, never inline styles; classes carry the prefix
// "hl-" so token classes ("hl-k", "hl-s") never meet app.css. Line numbers
// are a separate <pre class="code-ln" aria-hidden="true"> beside the code,
// not selectable (code.css), so selecting or copying the code column gives
// exactly the source. The lexer runs without chroma's CRLF→LF rewrite and its
// tokens are checked to spell the source again; if they ever did not, the
// code is shown unhighlighted rather than altered.
//
// What is shown is Displayable(source): invalid UTF-8 and NUL, which an
// HTML document cannot carry, become U+FFFD; nothing else changes. Control
// characters (CR included), bidirectional formatting characters (the
// "Trojan Source" reordering, CVE-2021-42574), U+2028/U+2029 and the BOM
// stay in the text but sit in <bdi class="code-ctl" data-cp="U+XXXX">,
// which isolates them from the rest of the line and which code.css labels
// with generated content (not copied). A reviewer therefore sees code as
// the compiler reads it.
//
// Text past MaxBytes (1 MiB) or MaxLines (10 000 lines) is not highlighted:
// Highlight returns it as a plain escaped <pre> and TooLarge lets the page
// add its notice.
//
// # Diff
//
// Diff compares two texts with go-udiff (udiff.Lines: the Myers-style LCS
// line diff of the Go tools, never a hand-written one) and lays every line
// of both out as a View: hunks with ContextLines (3) of context, merged when
// at most 6 unchanged lines separate them, exactly as `diff -u` groups them
// (a test compares with udiff.Unified), and the unchanged lines between
// them as hidden sections. RenderDiff renders a View through the embedded
// html/template diff.tmpl: a table whose hidden sections are
// <details><summary>Show N hidden lines</summary>, which needs no
// JavaScript; each changed line has a "+" or "−" marker (aria-hidden) and
// visually hidden "added" or "removed", so colour is never the only signal.
// Texts past the limits give View.TooLarge and no rows.
//
// # Manifest diff
//
// DiffManifests compares two proto.Manifest values for the approvals and
// versions pages: hosts, packages and secret names as marked lists
// (EntryAdded, EntryRemoved), private IP literals flagged, and changed
// limits old → new.
//
// # code.css
//
// CSS generates static/code.css (go run ./internal/ui/codeview/gencss) from
// the chroma styles rose-pine-dawn and rose-pine-moon, matching the app's
// Rosé Pine palettes. Several of their colours are below 4.5:1 on their own
// backgrounds (Dawn's gold is 2.0:1), so the generator moves each text
// colour's lightness, keeping hue and saturation, until it reaches 4.5:1
// against every background it is drawn on; diff rows tint the background
// with the style's inserted and deleted colours. The light palette applies
// under :root, [data-theme="light"] and [data-theme="system"], the dark one under
// [data-theme="dark"] and, in @media (prefers-color-scheme: dark), under
// [data-theme="system"]. Tests check every colour pair and that the
// committed file is what the generator writes.
//
// # Use in templates
//
// Pages wrap the output of Highlight and RenderDiff in a focusable scroll
// region so wide code scrolls inside its box at 375 px:
//
//	<div class="code-scroll" role="region" tabindex="0" aria-label="Code of version 3">{{.Code}}</div>
package codeview
