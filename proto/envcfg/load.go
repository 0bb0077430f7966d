package envcfg

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Common holds the variables every service reads (operations.md §2.2).
// Services embed it and give MCPBOX_SHUTDOWN_TIMEOUT (and the edge
// MCPBOX_SHUTDOWN_DELAY) their own defaults through Load's defaults map.
type Common struct {
	Mode            string        `env:"MCPBOX_MODE" default:"prod" enum:"prod,dev" help:"prod, or dev (only make run and the e2e stack set dev)"`
	LogLevel        string        `env:"MCPBOX_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"log level"`
	LogFormat       string        `env:"MCPBOX_LOG_FORMAT" default:"json" enum:"json,text" help:"json, or text for humans"`
	ShutdownDelay   time.Duration `env:"MCPBOX_SHUTDOWN_DELAY" default:"0s" help:"after SIGTERM, how long /readyz answers 503 before listeners close"`
	ShutdownTimeout time.Duration `env:"MCPBOX_SHUTDOWN_TIMEOUT" default:"20s" help:"longest drain of in-flight requests after the delay"`

	// Warnings are the problems dev mode tolerates, for the caller to log.
	Warnings []string `json:"-"`
}

// Dev reports whether the service runs in the dev mode of make run.
func (c Common) Dev() bool { return c.Mode == "dev" }

// Error is an invalid configuration: one line per problem. Services exit 2
// on it.
type Error struct {
	Problems []string
}

func (e *Error) Error() string { return strings.Join(e.Problems, "\n") }

// Report collects the problems and warnings of one load.
type Report struct {
	Dev      bool
	problems []string
	warnings []string
}

// Problemf records a problem; the line starts with the variable name.
func (r *Report) Problemf(variable, format string, args ...any) {
	r.problems = append(r.problems, variable+": "+fmt.Sprintf(format, args...))
}

// Weakf records a weak value: a problem outside dev mode, a warning in it.
func (r *Report) Weakf(variable, format string, args ...any) {
	line := variable + ": " + fmt.Sprintf(format, args...)
	if r.Dev {
		r.warnings = append(r.warnings, line+" (accepted in dev mode only)")
		return
	}
	r.problems = append(r.problems, line)
}

// Warnings returns the warnings recorded so far.
func (r *Report) Warnings() []string { return r.warnings }

// Err returns nil or an *Error listing every problem.
func (r *Report) Err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return &Error{Problems: slices.Clone(r.problems)}
}

// Load fills dst, a pointer to a struct with env tags, from getenv. defaults
// overrides the default tag of the named variables. The returned Report
// holds every problem; call Err on it after adding the service's own checks.
func Load(dst any, getenv func(string) string, defaults map[string]string) *Report {
	rep := &Report{Dev: getenv("MCPBOX_MODE") == "dev"}
	v := reflect.ValueOf(dst).Elem()
	var tokens []tokenVar
	for _, f := range Fields(dst) {
		fv := v.FieldByIndex(f.Index)
		raw, ok := lookup(rep, getenv, f)
		if !ok {
			continue
		}
		if raw == "" {
			raw = f.Default
			if d, has := defaults[f.Name]; has {
				raw = d
			}
		}
		if raw == "" {
			if f.Required {
				rep.Problemf(f.Name, "required%s", f.requiredHint())
			}
			continue
		}
		if err := set(fv, raw); err != nil {
			rep.Problemf(f.Name, "%v", err)
			continue
		}
		check(rep, f, raw)
		if f.Kind == KindToken {
			tokens = append(tokens, tokenVar{f.Name, raw})
		}
	}
	for i, a := range tokens {
		for _, b := range tokens[i+1:] {
			if a.value == b.value {
				rep.Weakf(b.Name, "must differ from %s; every secret needs its own value", a.Name)
			}
		}
	}
	if c, ok := commonOf(v); ok {
		c.Warnings = rep.warnings
	}
	return rep
}

type tokenVar struct{ Name, value string }

func commonOf(v reflect.Value) (*Common, bool) {
	for i := range v.NumField() {
		if c, ok := v.Field(i).Addr().Interface().(*Common); ok {
			return c, true
		}
	}
	return nil, false
}

// lookup returns the raw value of f, reading X_FILE for secrets. ok is false
// when a problem was recorded.
func lookup(rep *Report, getenv func(string) string, f Field) (string, bool) {
	raw := getenv(f.Name)
	if !f.Kind.secret() {
		return strings.TrimSpace(raw), true
	}
	path := getenv(f.Name + "_FILE")
	if path == "" {
		return raw, true
	}
	if raw != "" {
		rep.Problemf(f.Name, "set either %s or %s_FILE, not both", f.Name, f.Name)
		return "", false
	}
	b, err := os.ReadFile(path) //nolint:gosec // the operator names the file; reading it is the point
	if err != nil {
		rep.Problemf(f.Name+"_FILE", "cannot read %s: %v", path, errors.Unwrap(err))
		return "", false
	}
	return strings.TrimRight(string(b), "\r\n"), true
}

func set(fv reflect.Value, raw string) error {
	switch fv.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			return fmt.Errorf("must be a duration like 30s or 5m (got %q)", raw)
		}
		fv.SetInt(int64(d))
	case Size:
		s, err := ParseSize(raw)
		if err != nil {
			return err
		}
		fv.SetInt(int64(s))
	case []string:
		var list []string
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
		fv.Set(reflect.ValueOf(list))
	case bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("must be true or false (got %q)", raw)
		}
		fv.SetBool(b)
	case int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return fmt.Errorf("must be an integer (got %q)", raw)
		}
		fv.SetInt(int64(n))
	default:
		if fv.Kind() != reflect.String {
			return fmt.Errorf("unsupported field type %s", fv.Type())
		}
		fv.SetString(raw)
	}
	return nil
}

func check(rep *Report, f Field, raw string) {
	if len(f.Enum) > 0 && !slices.Contains(f.Enum, raw) {
		rep.Problemf(f.Name, "must be one of %s (got %q)", strings.Join(f.Enum, ", "), raw)
	}
	if f.Min != "" || f.Max != "" {
		checkRange(rep, f, raw)
	}
	switch f.Rule {
	case "listen":
		checkListen(rep, f.Name, raw, f.Off)
	case "url":
		if err := CheckURL(raw); err != nil {
			rep.Problemf(f.Name, "%v", err)
		}
	case "hex64":
		if err := CheckKeyHex(raw); err != nil {
			if len(raw) == 64 && strings.Trim(strings.ToLower(raw), "0123456789abcdef") == "" {
				rep.Weakf(f.Name, "%v", err)
			} else {
				rep.Problemf(f.Name, "%v", err)
			}
		}
	}
	if f.Kind == KindToken && f.Rule == "" { // keys have their own rules (hex64, keylist)
		if err := CheckStrength(raw, MinTokenBytes); err != nil {
			rep.Weakf(f.Name, "%v", err)
		}
	}
}

func checkRange(rep *Report, f Field, raw string) {
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		if f.Kind == KindSecret {
			n = int64(len(raw))
		} else {
			return
		}
	}
	unit := ""
	if f.Kind == KindSecret {
		n, unit = int64(len(raw)), " bytes"
	}
	if lo, err := strconv.ParseInt(f.Min, 10, 64); err == nil && n < lo {
		rep.Problemf(f.Name, "must be at least %d%s (got %d)", lo, unit, n)
	}
	if hi, err := strconv.ParseInt(f.Max, 10, 64); err == nil && n > hi {
		rep.Problemf(f.Name, "must be at most %d%s (got %d)", hi, unit, n)
	}
}

// CheckURL accepts an absolute http or https URL with a host and no
// user info.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http:// or https:// URL (got %q)", raw)
	}
	if u.User != nil {
		return fmt.Errorf("must not contain user info; pass credentials in their own variables")
	}
	return nil
}

func checkListen(rep *Report, name, raw string, offAllowed bool) {
	if raw == "off" {
		if !offAllowed {
			rep.Problemf(name, "must be a listen address like 127.0.0.1:8000 (this listener cannot be turned off)")
		}
		return
	}
	host, port, err := net.SplitHostPort(raw)
	if err != nil {
		rep.Problemf(name, "must be a listen address like :8000 or 127.0.0.1:8000 (got %q)", raw)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		rep.Problemf(name, "port must be 0–65535 (got %q)", port)
		return
	}
	if rep.Dev && !IsLoopbackHost(host) {
		rep.Problemf(name, "dev mode listens on loopback only; use 127.0.0.1:%s (got %q)", port, raw)
	}
}

// IsLoopbackHost reports whether host (from a host:port) is loopback:
// localhost, 127.0.0.0/8 or ::1. The empty host (all interfaces) is not.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
