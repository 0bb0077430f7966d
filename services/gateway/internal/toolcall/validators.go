package toolcall

import (
	"context"
	"log/slog"
	"sync"

	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
)

// maxValidators bounds the compiled-schema cache. Past it the cache is
// emptied and refilled by the next calls: compiling is cheap next to a
// call, and a bound this size is only reached by thousands of versions.
const maxValidators = 4096

// validatorKey identifies an input schema: a tool version's schema never
// changes (gateway.md §8.2: compiled once per (tool id, version)).
type validatorKey struct {
	toolID  string
	version int
}

// compiled is one cache entry; once makes concurrent first calls of a
// version share one compilation and one log line.
type compiled struct {
	once sync.Once
	v    *Validator
}

// validators caches the Validator of each tool version.
type validators struct {
	log *slog.Logger
	mu  sync.Mutex
	m   map[validatorKey]*compiled
}

func newValidators(log *slog.Logger) *validators {
	return &validators{log: log, m: map[validatorKey]*compiled{}}
}

// get returns the Validator of e's version, compiling it on first use. A
// schema the library cannot compile is not enforced (nil): the external
// server, or the sandbox for a Go tool, validates the arguments again.
// That is logged once per version.
func (vs *validators) get(ctx context.Context, e *catalog.Entry) *Validator {
	k := validatorKey{toolID: e.ToolID, version: e.Version}
	vs.mu.Lock()
	c, ok := vs.m[k]
	if !ok {
		if len(vs.m) >= maxValidators {
			clear(vs.m)
		}
		c = &compiled{}
		vs.m[k] = c
	}
	vs.mu.Unlock()
	c.once.Do(func() {
		v, err := CompileSchema(e.InputSchema)
		if err != nil {
			vs.log.WarnContext(ctx, "input schema cannot be compiled; its arguments are not checked by the gateway",
				obs.KeyExposedName, e.Name, obs.KeyToolID, e.ToolID, obs.KeyToolVersion, e.Version,
				obs.KeyKind, string(e.Kind), obs.KeyError, err.Error())
		}
		c.v = v
	})
	return c.v
}
