// Package settings computes the environment of make run's services: the dev defaults, overridden by
// .data/dev.env, overridden by the caller's environment (operations.md §1.3), with the URLs that
// follow from the listen addresses derived last, so moving one listener moves every URL that points at
// it. It also says which variables each service receives, which addresses must be free, and where each
// service answers /readyz.
package settings

import (
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Names of the addresses and ports devstack manages. MCPBOX_DEVIDP_ADDR and MCPBOX_DEV_PG_PORT are
// read by devstack only and never passed to a service.
const (
	SandboxListen         = "MCPBOX_SANDBOX_LISTEN"
	BackendListen         = "MCPBOX_BACKEND_LISTEN"
	BackendInternalListen = "MCPBOX_BACKEND_INTERNAL_LISTEN"
	GatewayLocalListen    = "MCPBOX_GATEWAY_LOCAL_LISTEN"
	GatewayRemoteListen   = "MCPBOX_GATEWAY_REMOTE_LISTEN"
	EdgeListen            = "MCPBOX_EDGE_LISTEN"
	EdgeAdminListen       = "MCPBOX_EDGE_ADMIN_LISTEN"
	DevIDPAddr            = "MCPBOX_DEVIDP_ADDR"
	DevPGPort             = "MCPBOX_DEV_PG_PORT"
	EdgePublicURL         = "MCPBOX_EDGE_PUBLIC_URL"
	EdgeIssuer            = "MCPBOX_EDGE_ISSUER"
	LocalMCPURL           = "MCPBOX_LOCAL_MCP_URL"
	ShutdownTimeout       = "MCPBOX_SHUTDOWN_TIMEOUT"
)

// Services in start order; devstack stops them in reverse.
const (
	Sandbox = "sandbox"
	Backend = "backend"
	Gateway = "gateway"
	DevIDP  = "devidp"
	Edge    = "edge"
)

// Order is the start order of operations.md §1.3 step 5.
func Order() []string { return []string{Sandbox, Backend, Gateway, DevIDP, Edge} }

// Defaults returns the dev defaults with every port moved by offset (the e2e stack uses 10000).
func Defaults(offset int) map[string]string {
	addr := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port+offset) }
	return map[string]string{
		"MCPBOX_MODE":                 "dev",
		SandboxListen:                 addr(8001),
		BackendListen:                 addr(8000),
		BackendInternalListen:         addr(8004),
		GatewayLocalListen:            addr(8002),
		GatewayRemoteListen:           addr(8003),
		EdgeListen:                    addr(8080),
		EdgeAdminListen:               addr(9080),
		DevIDPAddr:                    addr(9400),
		DevPGPort:                     strconv.Itoa(15432 + offset),
		"MCPBOX_GATEWAY_SESSION_MODE": "hybrid",
		"MCPBOX_EDGE_INSECURE_DEV":    "true",
		// A developer's Ctrl-C should not wait for load balancers that do not exist.
		"MCPBOX_SHUTDOWN_DELAY": "0s",
		ShutdownTimeout:         "10s",
	}
}

// Resolve layers defaults < file < caller (only MCPBOX_* keys of each count) and derives the URLs that
// point at the listeners unless a layer set them. A caller's X_FILE removes X from the lower layers, so
// a service never sees both.
func Resolve(defaults, file, caller map[string]string) map[string]string {
	out := maps.Clone(defaults)
	for _, layer := range []map[string]string{file, caller} {
		for k, v := range layer {
			if !strings.HasPrefix(k, "MCPBOX_") {
				continue
			}
			out[k] = v
		}
	}
	for k := range caller {
		if base, ok := strings.CutSuffix(k, "_FILE"); ok && strings.HasPrefix(k, "MCPBOX_") {
			if _, mine := caller[base]; !mine {
				delete(out, base)
			}
		}
	}
	derive := func(name, value string) {
		if _, ok := out[name]; !ok && value != "" {
			out[name] = value
		}
	}
	derive("MCPBOX_SANDBOX_URL", urlOf(out[SandboxListen], ""))
	derive("MCPBOX_BACKEND_INTERNAL_URL", urlOf(out[BackendInternalListen], ""))
	derive(LocalMCPURL, urlOf(out[GatewayLocalListen], "/mcp"))
	derive("MCPBOX_EDGE_UPSTREAM_URL", urlOf(out[GatewayRemoteListen], ""))
	derive(EdgeIssuer, urlOf(out[DevIDPAddr], ""))
	derive(EdgePublicURL, urlOf(out[EdgeListen], ""))
	return out
}

// URLOf returns the http:// URL of a listen address, with path appended; "" for "off".
func urlOf(listen, path string) string {
	hp := DialAddr(listen)
	if hp == "" {
		return ""
	}
	return "http://" + hp + path
}

// DialAddr turns a listen address into one to connect to: an empty or unspecified host becomes
// 127.0.0.1. It returns "" for "off" or an unparsable address.
func DialAddr(listen string) string {
	if listen == "" || listen == "off" {
		return ""
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Listener is one address devstack checks before starting anything.
type Listener struct {
	Service string
	Var     string // the variable that moves it
	Addr    string
}

// Listeners returns the addresses the services will bind, in start order; "off" listeners are left out.
func Listeners(vars map[string]string) []Listener {
	var out []Listener
	add := func(service, name string) {
		if a := vars[name]; a != "" && a != "off" {
			out = append(out, Listener{Service: service, Var: name, Addr: a})
		}
	}
	add(Sandbox, SandboxListen)
	add(Backend, BackendListen)
	add(Backend, BackendInternalListen)
	add(Gateway, GatewayLocalListen)
	add(Gateway, GatewayRemoteListen)
	add(DevIDP, DevIDPAddr)
	add(Edge, EdgeListen)
	add(Edge, EdgeAdminListen)
	return out
}

// ReadyURLs returns the URLs that must answer 200 before the next service starts: /readyz on every
// listener that serves it (the edge's public listener has none; its admin listener does), and devidp's
// discovery document.
func ReadyURLs(service string, vars map[string]string) []string {
	var names []string
	switch service {
	case Sandbox:
		names = []string{SandboxListen}
	case Backend:
		names = []string{BackendListen, BackendInternalListen}
	case Gateway:
		names = []string{GatewayLocalListen, GatewayRemoteListen}
	case Edge:
		names = []string{EdgeAdminListen}
	case DevIDP:
		if u := urlOf(vars[DevIDPAddr], "/.well-known/openid-configuration"); u != "" {
			return []string{u}
		}
		return nil
	}
	var out []string
	for _, n := range names {
		if u := urlOf(vars[n], "/readyz"); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// ServiceEnv returns the MCPBOX_* variables service receives, as sorted KEY=value strings: the common
// ones and its own (operations.md §2), so no service sees another's secrets, and devstack's own
// settings (MCPBOX_DEV_*, MCPBOX_DEVIDP_ADDR) reach none of them.
func ServiceEnv(service string, vars map[string]string) []string {
	var out []string
	for k, v := range vars {
		if receives(service, k) {
			out = append(out, k+"="+v)
		}
	}
	slices.Sort(out)
	return out
}

func receives(service, name string) bool {
	base := strings.TrimSuffix(name, "_FILE")
	switch base {
	case "MCPBOX_MODE", "MCPBOX_LOG_LEVEL", "MCPBOX_LOG_FORMAT", "MCPBOX_SHUTDOWN_DELAY", ShutdownTimeout:
		return true
	}
	has := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(base, p) {
				return true
			}
		}
		return false
	}
	switch service {
	case Backend:
		switch base {
		case "MCPBOX_DATABASE_URL", "MCPBOX_MIGRATE_ON_START", "MCPBOX_SANDBOX_URL", "MCPBOX_SANDBOX_TOKEN",
			"MCPBOX_PUBLIC_ORIGIN", "MCPBOX_TRUSTED_PROXIES", "MCPBOX_COOKIE_SECURE", "MCPBOX_SETUP_CODE",
			LocalMCPURL, "MCPBOX_HASH_CONCURRENCY", "MCPBOX_TEST_RUN_CONCURRENCY":
			return true
		case "MCPBOX_BACKEND_INTERNAL_URL":
			return false
		}
		return has("MCPBOX_BACKEND_", "MCPBOX_ENCRYPTION_", "MCPBOX_SESSION_", "MCPBOX_DB_")
	case Gateway:
		switch base {
		case "MCPBOX_BACKEND_INTERNAL_URL", "MCPBOX_BACKEND_TOKEN", "MCPBOX_SANDBOX_URL", "MCPBOX_SANDBOX_TOKEN":
			return true
		}
		return has("MCPBOX_GATEWAY_")
	case Sandbox:
		return base != "MCPBOX_SANDBOX_URL" && has("MCPBOX_SANDBOX_")
	case Edge:
		return base == "MCPBOX_GATEWAY_TOKEN" || has("MCPBOX_EDGE_")
	}
	return false
}
