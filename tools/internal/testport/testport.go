// Package testport hands tests loopback ports that nothing else can take
// between the check and the child process's bind: ports below the kernel's
// ephemeral range (32768+, where every outgoing connection's local port
// comes from), from a counter shared by the tests of one process and a
// random base that keeps concurrent test processes apart. The dev ports
// (8000–9400, 15432, 15433) and the e2e ports (dev + 10000, up to 25432)
// are never handed out.
package testport

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

const (
	low  = 26000 // above the e2e ports
	high = 32000 // below the ephemeral range
)

var (
	next atomic.Int32 //nolint:gochecknoglobals // one counter per test process, by design
	seed sync.Once    //nolint:gochecknoglobals // seeds next once
)

// Port returns a loopback port that is free now and outside the ephemeral
// range.
func Port(t testing.TB) int {
	t.Helper()
	seed.Do(func() { next.Store(low + rand.Int32N((high-low)/2)) })
	for {
		p := next.Add(1)
		if p >= high {
			t.Fatal("testport: ran out of ports")
		}
		ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(int(p)))
		if err != nil {
			continue // taken by something else; take the next one
		}
		_ = ln.Close()
		return int(p)
	}
}

// Addr returns "127.0.0.1:<Port(t)>".
func Addr(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(Port(t))
}
