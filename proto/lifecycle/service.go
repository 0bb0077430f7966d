package lifecycle

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Command is a subcommand of a service binary.
type Command func(ctx context.Context, args, environ []string, stdout io.Writer) error

// Service describes a binary's command line: `serve` (the default), the
// shared `config-doc` and `healthcheck`, and any extra commands.
type Service struct {
	// ConfigDoc returns the configuration table (`<service> config-doc`).
	ConfigDoc func() string
	// HealthAddr returns the listen address whose /healthz `healthcheck`
	// probes, read from the environment without validating anything else.
	HealthAddr func(getenv func(string) string) string
	// Serve runs the service until ctx ends.
	Serve Command
	// Extra holds further subcommands, e.g. the backend's "migrate"; each
	// gets the arguments after its name.
	Extra map[string]Command
}

// Run dispatches args[0] (default "serve") to its command; it is the run
// function that Main calls.
func (s Service) Run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	cmd, rest := "serve", []string(nil)
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return s.Serve(ctx, rest, environ, stdout)
	case "config-doc":
		_, err := io.WriteString(stdout, s.ConfigDoc())
		return err
	case "healthcheck":
		return Healthcheck(ctx, s.HealthAddr(Getenv(environ)))
	}
	if c, ok := s.Extra[cmd]; ok {
		return c(ctx, rest, environ, stdout)
	}
	names := []string{"serve", "config-doc", "healthcheck"}
	for name := range s.Extra {
		names = append(names, name)
	}
	slices.Sort(names)
	return fmt.Errorf("unknown command %q (want one of %s)", cmd, strings.Join(names, ", "))
}
