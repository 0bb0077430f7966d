package proto

import (
	"regexp"
	"sync"
)

// lazyRegexp compiles pattern on first use. Every process that imports
// proto pays its package initialisation, each sandbox worker included, so
// the validation patterns are not compiled at init (≈ 2 ms per process).
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
