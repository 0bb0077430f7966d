// Command devstack is `make run`: it picks or creates PostgreSQL, writes .data/dev.env, migrates, starts
// sandbox, backend, gateway, devidp and edge on loopback in dev mode, prints the banner, supervises
// them and stops them in reverse order on Ctrl-C (operations.md §1.3). `devstack compose-env` writes
// deploy/compose/.env (operations.md §5.1).
//
//	devstack [-root DIR] [-bin DIR] [-data DIR] [-sandbox-bin FILE] [-port-offset N] [-probe-addr ADDR|off] [-ready-timeout 30s]
//	devstack compose-env [-root DIR] [-out FILE] [-version V]
//
// Exit status: 0 after a clean stop, 1 on a failed start or a dying service, 2 on a bad command line,
// 130 after a second Ctrl-C.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	err := run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr, sigs)
	if err == nil {
		os.Exit(0)
	}
	code := 1
	var ex exitError
	if errors.As(err, &ex) {
		code = ex.code
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(os.Stderr, "devstack:", msg)
	}
	os.Exit(code)
}
