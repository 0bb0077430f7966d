// Command devstack is `make run`: it picks or creates PostgreSQL, writes .data/dev.env, migrates, starts
// sandbox, backend, gateway, devidp and edge on loopback in dev mode, prints the banner, supervises
// them and stops them in reverse order on Ctrl-C (operations.md §1.3). `devstack compose-env` writes
// deploy/compose/.env (operations.md §5.1).
//
// A service that exits after the banner stops the whole stack, unless -restart is given: then it is
// started again with the same settings, as Kubernetes restarts a container, after a backoff of 250 ms
// that doubles up to 5 s and resets once the service has stayed up for 10 s; the fault tests of
// tools/e2e kill services this way. Each service's current pid is in <data>/run/<service>.pid while
// it runs.
//
//	devstack [-root DIR] [-bin DIR] [-data DIR] [-sandbox-bin FILE] [-port-offset N] [-probe-addr ADDR|off] [-ready-timeout 30s] [-restart]
//	devstack compose-env [-root DIR] [-out FILE] [-version V]
//
// Exit status: 0 after a clean stop, 1 on a failed start or a dying service (without -restart), 2 on a bad command line,
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
