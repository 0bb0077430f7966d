// Package repocheck holds repository-wide checks that belong to no single
// package: the toolchain pin (OPS-1), the CI entry point (OPS-8), the
// //nolint rule (OPS-40), replace directives that stay inside the repository
// (OPS-41) and the secrets scan of tracked files (OPS-42). It has only
// tests; `make test` runs them in the unit stage with the rest of tools/.
package repocheck
