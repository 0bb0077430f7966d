// Package envcfg loads a service's typed configuration from MCPBOX_*
// environment variables, by the rules of operations.md §2.1, for all four
// services alike:
//
//   - a Config struct declares each variable in its field tags:
//     `env:"MCPBOX_X" default:"30s" help:"..." required:"true" enum:"a,b"
//     min:"1" max:"10" rule:"listen|url|hex64|keylist"`;
//   - Load reports every problem at once, one line each, naming the variable
//     and the rule; the caller exits 2 on an *Error;
//   - the Secret, Token and DSN types never print their value (Token adds a
//     fingerprint so two services can be compared); any of them may be given
//     as X_FILE instead of X;
//   - outside dev mode, weak secrets are refused (CheckStrength); in dev mode
//     they only warn, and non-loopback listen addresses are refused;
//   - LogValue renders the effective configuration for the one "config" log
//     line, and Doc renders the README's configuration table from the tags.
//
// To add a variable: add the field with its tags to the service's Config,
// add the name to known.go, then run `make generate` to refresh the README.
package envcfg
