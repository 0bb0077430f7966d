package activity

// Operation names a long-class operation of the admin API or UI whose
// progress goes on the activity stream as `event: progress` (backend.md §3,
// §14.2).
type Operation string

// The operations of §14.2.
const (
	OpImport        Operation = "import"
	OpImportDryRun  Operation = "import_dry_run"
	OpTestRun       Operation = "test_run"
	OpDiscover      Operation = "discover"
	OpOAuthStart    Operation = "oauth_start"
	OpOAuthExchange Operation = "oauth_exchange"
	OpSelfCheck     Operation = "self_check"
)

// Progress reports that done of total units of a long operation are
// finished (tools for the imports, steps for the self-check). It is never
// nil where a service receives one, may be called as often as convenient
// (the stream sees at most one event a second plus the last), and is safe
// for concurrent use.
type Progress func(done, total int)

// NoProgress is the Progress of a caller that does not watch.
func NoProgress(int, int) {}
