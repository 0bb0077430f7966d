// Package buildinfo holds the version and revision stamped into every binary
// at link time:
//
//	go build -ldflags "-X github.com/mcpbox/mcpbox/proto/buildinfo.Version=v1.2.3 \
//	                   -X github.com/mcpbox/mcpbox/proto/buildinfo.Revision=abc1234"
//
// They feed the mcpbox_<service>_build_info gauge and the "version" key of
// every log line.
package buildinfo

import "runtime"

// Link-time values; -X can only set package-level string variables.
var (
	Version  = "dev"     //nolint:gochecknoglobals // set by -ldflags -X at link time
	Revision = "unknown" //nolint:gochecknoglobals // set by -ldflags -X at link time
)

// GoVersion is the toolchain the binary was built with, e.g. "go1.27.3".
func GoVersion() string { return runtime.Version() }
