// Package repocheck holds repository-wide checks that belong to no single
// package: the toolchain pin (OPS-1), the CI entry point (OPS-8) and the
// //nolint rule (OPS-40). It has only tests; `make test` runs them in the
// unit stage with the rest of tools/.
package repocheck
