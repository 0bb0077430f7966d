package obs

import "slices"

// Log keys of operations.md §3.1. Keys outside this list are a defect.
const (
	KeyTime    = "time"
	KeyLevel   = "level"
	KeyMsg     = "msg"
	KeyService = "service"
	KeyVersion = "version"

	KeyRequestID  = "request_id"
	KeyListener   = "listener"
	KeyMethod     = "method"
	KeyMCPMethod  = "mcp_method"
	KeyRoute      = "route"
	KeyPath       = "path"
	KeyStatus     = "status"
	KeyOutcome    = "outcome"
	KeyDurationMS = "duration_ms"
	KeyBytesIn    = "bytes_in"
	KeyBytesOut   = "bytes_out"
	KeyCallerKind = "caller_kind"
	KeyCaller     = "caller"
	KeyCallerKey  = "caller_key"
	KeyHandler    = "handler"
	KeyRemoteIP   = "remote_ip"
	KeyClientIP   = "client_ip"

	KeyServer         = "server"
	KeyTool           = "tool"
	KeyToolID         = "tool_id"
	KeyToolVersion    = "tool_version"
	KeyExposedName    = "exposed_name"
	KeyExecutionID    = "execution_id"
	KeyKind           = "kind"
	KeyResult         = "result"
	KeyReason         = "reason"
	KeyClass          = "class"
	KeyHost           = "host"
	KeyKeyID          = "key_id"
	KeyMigration      = "migration"
	KeyWorkerPID      = "worker_pid"
	KeyWorkerExit     = "worker_exit"
	KeyQueueMS        = "queue_ms"
	KeyCPUMS          = "cpu_ms"
	KeyMaxRSSKB       = "max_rss_kb"
	KeyCodeSHA256     = "code_sha256"
	KeyPurpose        = "purpose"
	KeyUpstreamStatus = "upstream_status"
	KeyUpstreamMS     = "upstream_ms"
	KeyAttempt        = "attempt"
	KeyCount          = "count"

	KeyError           = "error"
	KeyErrorCode       = "error_code"
	KeyPanic           = "panic"
	KeyStack           = "stack"
	KeySubject         = "subject"
	KeyClientRequestID = "client_request_id"

	// Start-up lines. "config" carries the effective configuration as a group,
	// "addr" the address a listener bound.
	KeyConfig     = "config"
	KeyGoVersion  = "go_version"
	KeyGOMAXPROCS = "gomaxprocs"
	KeyGOMEMLIMIT = "gomemlimit"
	KeyAddr       = "addr"
	KeyVariable   = "variable"
	KeySuggestion = "suggestion"
)

// Keys returns the closed list of top-level log keys, sorted.
func Keys() []string {
	k := []string{
		KeyTime, KeyLevel, KeyMsg, KeyService, KeyVersion,
		KeyRequestID, KeyListener, KeyMethod, KeyMCPMethod, KeyRoute, KeyPath, KeyStatus, KeyOutcome,
		KeyDurationMS, KeyBytesIn, KeyBytesOut, KeyCallerKind, KeyCaller, KeyCallerKey, KeyHandler,
		KeyRemoteIP, KeyClientIP,
		KeyServer, KeyTool, KeyToolID, KeyToolVersion, KeyExposedName, KeyExecutionID, KeyKind, KeyResult,
		KeyReason, KeyClass, KeyHost, KeyKeyID, KeyMigration, KeyWorkerPID, KeyWorkerExit, KeyQueueMS,
		KeyCPUMS, KeyMaxRSSKB, KeyCodeSHA256, KeyPurpose, KeyUpstreamStatus, KeyUpstreamMS, KeyAttempt, KeyCount,
		KeyError, KeyErrorCode, KeyPanic, KeyStack, KeySubject, KeyClientRequestID,
		KeyConfig, KeyGoVersion, KeyGOMAXPROCS, KeyGOMEMLIMIT, KeyAddr, KeyVariable, KeySuggestion,
	}
	slices.Sort(k)
	return k
}

// IsKey reports whether k is in the closed list.
func IsKey(k string) bool {
	_, ok := slices.BinarySearch(Keys(), k)
	return ok
}
