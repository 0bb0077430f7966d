package transfer

import "fmt"

// Conflict is what an import does with a server whose name is taken.
type Conflict string

// The on_conflict values of POST /import.
const (
	// ConflictSkip (the default) imports nothing of the server and reports it.
	ConflictSkip Conflict = "skip"
	// ConflictRename imports it as <name>_2, _3, … (the base shortened to
	// fit 24 characters).
	ConflictRename Conflict = "rename"
)

// Options are the query parameters of POST /import.
type Options struct {
	// RestoreApprovals restores tool approvals whose recomputed hash equals
	// the exported one, approved records and active sources (§14.4).
	RestoreApprovals bool
	OnConflict       Conflict
	// DryRun runs every check and write, then rolls back.
	DryRun bool
}

// Server statuses of a Result.
const (
	ServerCreated = "created"
	ServerRenamed = "renamed"
	ServerSkipped = "skipped"
	ServerFailed  = "failed"
)

// Result is the answer of an import (§14.4); a dry run's says what the
// import would do. It is also the JSON of the API's answer.
type Result struct {
	DryRun               bool        `json:"dry_run"`
	ServersCreated       int         `json:"servers_created"`
	ToolsCreated         int         `json:"tools_created"`
	SecretsNeedingValues []SecretRef `json:"secrets_needing_values"`
	Errors               []Problem   `json:"errors"`
	Warnings             []Problem   `json:"warnings"`
	// Servers is the result of each server of the document, in its order.
	Servers []ServerResult `json:"servers"`
}

// SecretRef is a secret placeholder an admin must give a value.
type SecretRef struct {
	Server string `json:"server"` // the server's name in this installation
	Name   string `json:"name"`
}

// Problem is an error or a warning of an import.
type Problem struct {
	// Server is the server's name in the document ("" for the package list
	// or the whole document).
	Server string `json:"server,omitempty"`
	// Field is the JSON path of the entry in the document, when one is at
	// fault.
	Field   string `json:"field,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// ServerResult is what became of one server of the document.
type ServerResult struct {
	Name string `json:"name"`
	// ImportedAs is the name it was created with ("" unless created).
	ImportedAs        string `json:"imported_as,omitempty"`
	Status            string `json:"status"`
	ToolsCreated      int    `json:"tools_created"`
	ApprovalsRestored int    `json:"approvals_restored"`
}

// newResult is an empty result.
func newResult(dryRun bool) Result {
	return Result{
		DryRun: dryRun, SecretsNeedingValues: []SecretRef{}, Errors: []Problem{}, Warnings: []Problem{},
		Servers: []ServerResult{},
	}
}

// warn adds a warning.
func (r *Result) warn(server, field, code, format string, args ...any) {
	r.Warnings = append(r.Warnings, Problem{Server: server, Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// itemError is a reason one server (or the package list) cannot be
// imported; the import rolls back to the item's savepoint and goes on.
type itemError struct{ Problem }

// Error implements error.
func (e *itemError) Error() string { return e.Message }

// fail returns an itemError.
func fail(server, field, code, format string, args ...any) *itemError {
	return &itemError{Problem{Server: server, Field: field, Code: code, Message: fmt.Sprintf(format, args...)}}
}
