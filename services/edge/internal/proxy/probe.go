package proxy

import (
	"context"
	"net"
)

// Probe dials the gateway at most every 10 s (cached in between), sets
// upstream_up and returns "ok" or "unreachable" for /readyz. A dial that
// failed only because ctx ended is not cached and leaves the gauge alone.
func (p *Proxy) Probe(ctx context.Context) string {
	p.probeMu.Lock()
	defer p.probeMu.Unlock()
	if !p.probeAt.IsZero() && p.now().Sub(p.probeAt) < probeEvery {
		return p.probeLast
	}
	d := net.Dialer{Timeout: p.o.DialTimeout}
	c, err := d.DialContext(ctx, "tcp", p.hostport)
	if err != nil {
		if ctx.Err() != nil {
			return probeUnreachable
		}
		p.m.UpstreamUp.Set(0)
		p.probeAt, p.probeLast = p.now(), probeUnreachable
		return probeUnreachable
	}
	_ = c.Close()
	p.m.UpstreamUp.Set(1)
	p.probeAt, p.probeLast = p.now(), probeOK
	return probeOK
}

// Probe answers.
const (
	probeOK          = "ok"
	probeUnreachable = "unreachable"
)
