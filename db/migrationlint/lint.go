package migrationlint

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Rule names a lint rule; every Finding carries one.
type Rule string

// The rules. Each Finding's message says how to fix it.
const (
	// RuleFileName: migration files are NNNNN_name.sql (five digits, lower-case name).
	RuleFileName Rule = "file-name"
	// RuleSequence: versions run 1, 2, 3, … without gaps or duplicates (LintFS).
	RuleSequence Rule = "sequence"
	// RuleAnnotation: the file has a `-- +goose Up` and a non-empty `-- +goose Down` section.
	RuleAnnotation Rule = "goose-annotation"
	// RuleDestructive: DROP, TRUNCATE, RENAME, ALTER … TYPE and SET NOT NULL need `-- mcpbox:contract`.
	RuleDestructive Rule = "destructive-unmarked"
	// RuleContractFloor: a contract migration raises mcpbox_schema_floor.
	RuleContractFloor Rule = "contract-floor"
	// RuleAppendOnlyIndex: an index on an append-only table is built CONCURRENTLY,
	// except in the migration that creates the table.
	RuleAppendOnlyIndex Rule = "append-only-index"
	// RuleConcurrently: CONCURRENTLY cannot run in a transaction; it needs `-- +goose NO TRANSACTION`.
	RuleConcurrently Rule = "concurrently-needs-no-transaction"
	// RuleLockTimeout: the Up section sets lock_timeout (at most 5 s) before its first statement.
	RuleLockTimeout Rule = "lock-timeout"
	// RuleStatementTimeout: the Up section sets a non-zero statement_timeout before its first statement.
	RuleStatementTimeout Rule = "statement-timeout"
	// RuleSessionSetting: settings must not leak into the pooled connection: SET LOCAL inside
	// a transaction; outside one (NO TRANSACTION), SET and a RESET at the end.
	RuleSessionSetting Rule = "session-setting"
)

// maxLockTimeout is the longest lock_timeout a migration may set (operations.md §6.2).
const maxLockTimeout = 5 * time.Second

// Finding is one lint failure, located in a file and line.
type Finding struct {
	File    string
	Line    int
	Rule    Rule
	Message string
}

// String formats the finding as "file:line: rule: message".
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Rule, f.Message)
}

var (
	fileNameRE = regexp.MustCompile(`^([0-9]{5})_[a-z0-9]+(_[a-z0-9]+)*\.sql$`)
	durationRE = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*$`)
)

// appendOnly reports whether table is one of the append-only tables, whose
// size makes a locking index build an outage (backend.md §4.1).
func appendOnly(table string) bool {
	switch table {
	case "execution_records", "activity_log", "tool_versions":
		return true
	}
	return false
}

// parsed is a migration split into its goose sections.
type parsed struct {
	upLine    int  // line of `-- +goose Up`, 0 when absent
	downLine  int  // line of `-- +goose Down`, 0 when absent
	noTx      bool // `-- +goose NO TRANSACTION`
	contract  int  // line of `-- mcpbox:contract`, 0 when absent
	up, down  []statement
	lineCount int
}

// parse splits a migration into sections the way goose does: annotations are
// whole `-- +goose …` comment lines, wherever they appear.
func parse(src string) parsed {
	var (
		p                 parsed
		upText, downText  strings.Builder
		upFirst, downFrom int
		section           = 0 // 0 header, 1 up, 2 down
	)
	lines := strings.Split(src, "\n")
	p.lineCount = len(lines)
	for i, line := range lines {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		if ann, ok := gooseAnnotation(trimmed); ok {
			switch ann {
			case "UP":
				if p.upLine == 0 {
					p.upLine, section, upFirst = n, 1, n
				}
			case "DOWN":
				if p.downLine == 0 {
					p.downLine, section, downFrom = n, 2, n
				}
			case "NO TRANSACTION":
				p.noTx = true
			}
			line = "" // keep line numbers; drop the annotation
		} else if strings.EqualFold(trimmed, "-- mcpbox:contract") && p.contract == 0 {
			p.contract = n
		}
		switch section {
		case 1:
			upText.WriteString(line)
			upText.WriteByte('\n')
		case 2:
			downText.WriteString(line)
			downText.WriteByte('\n')
		}
	}
	p.up = splitStatements(upText.String(), upFirst)
	p.down = splitStatements(downText.String(), downFrom)
	return p
}

// gooseAnnotation returns the upper-cased annotation of a `-- +goose X` line.
func gooseAnnotation(trimmed string) (string, bool) {
	rest, ok := strings.CutPrefix(trimmed, "--")
	if !ok {
		return "", false
	}
	rest, ok = strings.CutPrefix(strings.TrimSpace(rest), "+goose")
	if !ok {
		return "", false
	}
	return strings.ToUpper(strings.Join(strings.Fields(rest), " ")), true
}

// Lint checks one migration file against the migration policy of
// operations.md §6.2. name is used in findings (and its base name is checked);
// only the Up section is checked for destructive statements and timeouts, as
// the Down section runs only in dev and tests.
func Lint(name string, sql []byte) []Finding {
	l := linter{file: name, p: parse(string(sql))}
	l.fileName()
	l.annotations()
	l.timeouts()
	l.statements()
	l.contractFloor()
	slices.SortStableFunc(l.out, func(a, b Finding) int { return a.Line - b.Line })
	return l.out
}

type linter struct {
	file string
	p    parsed
	out  []Finding
}

func (l *linter) add(line int, rule Rule, format string, args ...any) {
	l.out = append(l.out, Finding{File: l.file, Line: max(line, 1), Rule: rule, Message: fmt.Sprintf(format, args...)})
}

func (l *linter) fileName() {
	if !fileNameRE.MatchString(path.Base(l.file)) {
		l.add(1, RuleFileName, "file name %q must be NNNNN_name.sql: a five-digit version, then lower-case words "+
			"joined by underscores (sqlc reads the files in lexicographic order)", path.Base(l.file))
	}
}

func (l *linter) annotations() {
	if l.p.upLine == 0 {
		l.add(1, RuleAnnotation, "no `-- +goose Up` line: goose cannot apply this file")
		return
	}
	if l.p.downLine == 0 {
		l.add(l.p.upLine, RuleAnnotation, "no `-- +goose Down` section: every migration needs a working Down")
		return
	}
	if l.p.downLine < l.p.upLine {
		l.add(l.p.downLine, RuleAnnotation, "`-- +goose Down` comes before `-- +goose Up`")
	}
	for _, st := range l.p.down {
		if !st.word(0, "SET") && !st.word(0, "RESET") {
			return
		}
	}
	l.add(l.p.downLine, RuleAnnotation, "the Down section has no statement: every migration needs a working Down")
}

// setting is a SET of lock_timeout or statement_timeout.
type setting struct {
	stmt  int // index in the Up section
	line  int
	local bool
	value string
	ok    bool // value parsed
	dur   time.Duration
}

func (l *linter) timeouts() {
	if l.p.upLine == 0 {
		return
	}
	firstOther := -1
	settings := map[string]*setting{}
	resets := map[string]bool{}
	for i, st := range l.p.up {
		name, set := parseSet(st)
		switch {
		case name != "" && set != nil:
			set.stmt = i
			if _, seen := settings[name]; !seen {
				settings[name] = set
			}
		case name != "":
			resets[name] = true
		case firstOther < 0:
			firstOther = i
		}
	}
	l.checkTimeout(settings["LOCK_TIMEOUT"], "lock_timeout", RuleLockTimeout, firstOther, resets)
	l.checkTimeout(settings["STATEMENT_TIMEOUT"], "statement_timeout", RuleStatementTimeout, firstOther, resets)
}

func (l *linter) checkTimeout(s *setting, name string, rule Rule, firstOther int, resets map[string]bool) {
	example := "SET LOCAL " + name + " = '5s'"
	if l.p.noTx {
		example = "SET " + name + " = '5s' (and RESET " + name + " at the end)"
	}
	if s == nil {
		l.add(l.p.upLine, rule, "the Up section does not set %s; start it with %s", name, example)
		return
	}
	if firstOther >= 0 && s.stmt > firstOther {
		l.add(s.line, rule, "%s is set after the first statement; set it before any other statement", name)
	}
	switch {
	case !s.ok:
		l.add(s.line, rule, "%s value %q is not a duration such as '5s'", name, s.value)
	case s.dur <= 0:
		l.add(s.line, rule, "%s = %s disables the timeout; use a positive duration", name, s.value)
	case rule == RuleLockTimeout && s.dur > maxLockTimeout:
		l.add(s.line, rule, "lock_timeout = %s is longer than %s: a migration must not queue behind a lock "+
			"for long while it blocks every other statement on the table", s.value, maxLockTimeout)
	}
	switch {
	case l.p.noTx && s.local:
		l.add(s.line, RuleSessionSetting, "SET LOCAL %s has no effect in a NO TRANSACTION migration; "+
			"use SET and RESET %s at the end", name, name)
	case l.p.noTx && !resets[strings.ToUpper(name)] && !resets["ALL"]:
		l.add(s.line, RuleSessionSetting, "%s is set for the session but never RESET: it would stay on a pooled "+
			"connection the application reuses; add RESET %s at the end of the Up section", name, name)
	case !l.p.noTx && !s.local:
		l.add(s.line, RuleSessionSetting, "SET %s in a transactional migration outlives the transaction on a "+
			"pooled connection the application reuses; use SET LOCAL %s", name, name)
	}
}

// parseSet recognises `SET [SESSION|LOCAL] name {=|TO} value`, returning the
// upper-cased name, and `RESET name` / `SET name TO DEFAULT`, returning the
// name and a nil setting. Other statements give "".
func parseSet(st statement) (string, *setting) {
	switch {
	case st.word(0, "RESET") && len(st.tokens) > 1:
		return st.tokens[1].text, nil
	case !st.word(0, "SET"):
		return "", nil
	}
	i := 1
	local := false
	switch {
	case st.word(i, "LOCAL"):
		local = true
		i++
	case st.word(i, "SESSION"):
		i++
	}
	if i >= len(st.tokens) || (st.tokens[i].kind != tokWord && st.tokens[i].kind != tokIdent) {
		return "", nil
	}
	name := strings.ToUpper(st.tokens[i].text)
	i++
	if i < len(st.tokens) && (st.word(i, "TO") || st.tokens[i].text == "=") {
		i++
	}
	if i >= len(st.tokens) {
		return name, &setting{line: st.line, local: local}
	}
	if st.word(i, "DEFAULT") {
		return name, nil
	}
	var value strings.Builder
	for _, t := range st.tokens[i:] {
		value.WriteString(t.text)
	}
	s := &setting{line: st.line, local: local, value: value.String()}
	s.dur, s.ok = parseDuration(strings.ToLower(value.String()))
	return name, s
}

// parseDuration reads a PostgreSQL time setting: a number with an optional
// unit (us, ms, s, min, h, d); a bare number is milliseconds.
func parseDuration(v string) (time.Duration, bool) {
	m := durationRE.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	unit := map[string]time.Duration{
		"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"min": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
	}
	u, ok := unit[m[2]]
	if !ok || n > float64(1<<31) {
		return 0, false
	}
	return time.Duration(n * float64(u)), true
}

func (l *linter) statements() {
	created := map[string]bool{}
	for _, st := range l.p.up {
		if st.word(0, "CREATE") {
			if i := st.indexOf(1, "TABLE"); i > 0 && i <= 3 {
				if name, ok := relationName(st, i+1); ok {
					created[name] = true
				}
			}
		}
	}
	for _, st := range l.p.up {
		if l.p.contract == 0 {
			l.destructive(st)
		}
		l.index(st, created)
	}
}

// destructive reports statements that remove or change what the previous
// release may still use.
func (l *linter) destructive(st statement) {
	const hint = "it is allowed only in a migration marked `-- mcpbox:contract` that also raises " +
		"mcpbox_schema_floor, once the previous release no longer uses the object (operations.md §6.2); " +
		"otherwise expand: add the new column, table or constraint and stop using the old one"
	switch {
	case st.word(0, "DROP"):
		l.add(st.line, RuleDestructive, "%s is destructive; %s", phrase(st, 0), hint)
		return
	case st.word(0, "TRUNCATE"):
		l.add(st.line, RuleDestructive, "TRUNCATE is destructive; %s", hint)
		return
	case !st.word(0, "ALTER"):
		return
	}
	for i := 1; i < len(st.tokens); i++ {
		t := st.tokens[i]
		switch {
		case st.word(i, "DROP"):
			l.add(t.line, RuleDestructive, "%s … %s is destructive; %s", phrase(st, 0), phrase(st, i), hint)
		case st.word(i, "RENAME"):
			l.add(t.line, RuleDestructive, "%s … RENAME is destructive; %s", phrase(st, 0), hint)
		case st.word(i, "SET") && st.word(i+1, "NOT") && st.word(i+2, "NULL"):
			l.add(t.line, RuleDestructive, "SET NOT NULL is destructive (use a CHECK (… IS NOT NULL) NOT VALID, "+
				"validated later); %s", hint)
		case st.word(i, "ALTER") && columnTypeChange(st, i):
			l.add(t.line, RuleDestructive, "ALTER COLUMN … TYPE is destructive; %s", hint)
		}
	}
}

// columnTypeChange reports `ALTER [COLUMN] name [SET DATA] TYPE` at token i.
func columnTypeChange(st statement, i int) bool {
	j := i + 1
	if st.word(j, "COLUMN") {
		j++
	}
	j++ // the column name
	if st.word(j, "SET") && st.word(j+1, "DATA") {
		j += 2
	}
	return st.word(j, "TYPE")
}

// index checks CREATE INDEX statements and index-building constraints.
func (l *linter) index(st statement, created map[string]bool) {
	if st.word(0, "ALTER") && st.word(1, "TABLE") {
		l.constraintIndex(st, created)
		return
	}
	if !st.word(0, "CREATE") {
		return
	}
	i := 1
	if st.word(i, "UNIQUE") {
		i++
	}
	if !st.word(i, "INDEX") {
		return
	}
	concurrently := st.word(i+1, "CONCURRENTLY")
	on := st.indexOf(i+1, "ON")
	table := ""
	if on > 0 {
		j := on + 1
		if st.word(j, "ONLY") {
			j++
		}
		table, _ = relationName(st, j)
	}
	if concurrently && !l.p.noTx {
		l.add(st.line, RuleConcurrently, "CREATE INDEX CONCURRENTLY cannot run inside a transaction; "+
			"put it in its own migration marked `-- +goose NO TRANSACTION`")
	}
	if !concurrently && appendOnly(table) && !created[table] {
		l.add(st.line, RuleAppendOnlyIndex, "a plain CREATE INDEX on append-only table %s blocks its writes "+
			"while the index builds; use CREATE INDEX CONCURRENTLY in a `-- +goose NO TRANSACTION` migration", table)
	}
}

// constraintIndex flags ALTER TABLE <append-only> ADD … UNIQUE / PRIMARY KEY,
// which builds an index under a lock unless it is attached with USING INDEX.
func (l *linter) constraintIndex(st statement, created map[string]bool) {
	j := 2
	if st.word(j, "IF") && st.word(j+1, "EXISTS") {
		j += 2
	}
	if st.word(j, "ONLY") {
		j++
	}
	table, ok := relationName(st, j)
	if !ok || !appendOnly(table) || created[table] || st.indexOf(j, "ADD") < 0 {
		return
	}
	builds := st.indexOf(j, "UNIQUE") > 0 || st.indexOf(j, "PRIMARY") > 0 || st.indexOf(j, "EXCLUDE") > 0
	if builds && st.indexOf(j, "USING") < 0 {
		l.add(st.line, RuleAppendOnlyIndex, "adding a unique, primary-key or exclusion constraint to append-only "+
			"table %s builds an index under a lock; build it with CREATE UNIQUE INDEX CONCURRENTLY in a "+
			"`-- +goose NO TRANSACTION` migration, then ADD CONSTRAINT … USING INDEX", table)
	}
}

func (l *linter) contractFloor() {
	if l.p.contract == 0 {
		return
	}
	for _, st := range l.p.up {
		if st.word(0, "UPDATE") {
			if name, _ := relationName(st, 1); name == "mcpbox_schema_floor" {
				return
			}
		}
	}
	l.add(l.p.contract, RuleContractFloor, "a contract migration must raise the schema floor: "+
		"UPDATE mcpbox_schema_floor SET version = <this migration's version>")
}

// relationName reads a possibly schema-qualified name at token i (after an
// optional IF [NOT] EXISTS) and returns its last part, lower-cased unless quoted.
func relationName(st statement, i int) (string, bool) {
	if st.word(i, "IF") {
		i++
		if st.word(i, "NOT") {
			i++
		}
		if st.word(i, "EXISTS") {
			i++
		}
	}
	name, ok := "", false
	for i < len(st.tokens) {
		t := st.tokens[i]
		switch t.kind {
		case tokWord:
			name, ok = strings.ToLower(t.raw), true
		case tokIdent:
			name, ok = t.text, true
		default:
			return name, ok
		}
		if i+1 < len(st.tokens) && st.tokens[i+1].text == "." {
			i += 2
			continue
		}
		return name, ok
	}
	return name, ok
}

// phrase joins up to two words from token i, for messages ("DROP TABLE").
func phrase(st statement, i int) string {
	var words []string
	for ; i < len(st.tokens) && len(words) < 2; i++ {
		if st.tokens[i].kind != tokWord {
			break
		}
		words = append(words, st.tokens[i].text)
	}
	return strings.Join(words, " ")
}

// LintFS lints every *.sql file at the root of fsys and checks that their
// versions run 1, 2, 3, … without gaps or duplicates.
func LintFS(fsys fs.FS) ([]Finding, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	slices.Sort(names)
	var out []Finding
	want := int64(1)
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, Lint(name, src)...)
		m := fileNameRE.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		v, _ := strconv.ParseInt(m[1], 10, 64)
		if v != want {
			out = append(out, Finding{
				File: name, Line: 1, Rule: RuleSequence,
				Message: fmt.Sprintf("version %d where %d was expected: versions run 1, 2, 3, … without gaps or duplicates", v, want),
			})
		}
		want = v + 1
	}
	return out, nil
}
