// Package tlsreload serves the public listener's certificate from PEM files
// and reloads it when the files change or on SIGHUP (edge.md §14), so ACME
// renewals need no restart. A failed reload keeps the old certificate.
//
// Connections already established keep the certificate they were set up
// with; a reload affects new handshakes only. The files are compared by
// identity (os.SameFile, which catches a Kubernetes secret's symlink swap),
// size and modification time. After a failed reload the check retries on
// every tick until a load succeeds, logging each failure, so a renewal caught
// half-written recovers without a further change. Errors name the file and
// the problem, never any key material; an expired certificate still loads
// (clients refuse it anyway) but logs a warning.
package tlsreload

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
)

// maxFileBytes caps each PEM file; real chains and keys are a few KiB.
const maxFileBytes = 1 << 20

// Reload triggers, logged as the reason.
const (
	triggerStartup  = "startup"
	triggerSignal   = "sighup"
	triggerModified = "modified"
	triggerReload   = "reload"
)

// Reloader holds the current certificate.
type Reloader struct {
	certFile, keyFile string
	interval          time.Duration
	m                 *metrics.Edge
	log               *slog.Logger
	now               func() time.Time

	cert atomic.Pointer[tls.Certificate]

	mu     sync.Mutex // serialises loads; guards loaded
	loaded stamps     // the files as they were when the current cert was read

	// Test hooks (export_test.go): notified runs once Run listens for
	// SIGHUP; reloaded after every reload attempt Run makes.
	notified func()
	reloaded func(trigger string, err error)
}

// stamps identify the contents of the two files without reading them.
type stamps struct{ cert, key os.FileInfo }

func (s stamps) same(o stamps) bool {
	return sameFile(s.cert, o.cert) && sameFile(s.key, o.key)
}

func sameFile(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// New loads the certificate (an error names the file and the problem, never
// key material) and sets the expiry gauge. interval is the modification
// check (1 min in production; ≤ 0 means 1 min).
func New(certFile, keyFile string, interval time.Duration, m *metrics.Edge, log *slog.Logger) (*Reloader, error) {
	if interval <= 0 {
		interval = time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{
		certFile: certFile, keyFile: keyFile, interval: interval, m: m, log: log, now: time.Now,
		notified: func() {}, reloaded: func(string, error) {},
	}
	if err := r.reload(triggerStartup); err != nil {
		return nil, err
	}
	return r, nil
}

// Config returns the server TLS configuration: TLS 1.2 minimum, Go's
// default suites, h2 and http/1.1 via ALPN, GetCertificate from the
// reloader. Each call returns a new *tls.Config.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.getCertificate,
	}
}

func (r *Reloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// Run checks the files every interval and reloads on change or on SIGHUP,
// until ctx ends.
func (r *Reloader) Run(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	r.notified()
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reloaded(triggerSignal, r.reload(triggerSignal))
		case <-tick.C:
			if r.changed() {
				r.reloaded(triggerModified, r.reload(triggerModified))
			}
		}
	}
}

// changed reports whether either file differs from the loaded one (or
// cannot be examined, which a reload then reports).
func (r *Reloader) changed() bool {
	cur, err := r.stat()
	r.mu.Lock()
	defer r.mu.Unlock()
	return err != nil || !cur.same(r.loaded)
}

// Reload re-reads the files now (what SIGHUP does); on failure the old
// certificate stays, the failure is logged and returned.
func (r *Reloader) Reload() error { return r.reload(triggerReload) }

func (r *Reloader) reload(trigger string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Stat before reading: a write that lands while we read changes the
	// stamps again and is picked up by the next check.
	st, err := r.stat()
	var cert *tls.Certificate
	if err == nil {
		cert, err = load(r.certFile, r.keyFile)
	}
	if err != nil {
		if trigger == triggerStartup {
			return err // New's caller reports it
		}
		r.log.Warn("tls certificate reload failed; keeping the current certificate",
			obs.KeyReason, trigger, obs.KeyPath, r.certFile, obs.KeyError, err.Error())
		return err
	}
	r.cert.Store(cert)
	r.loaded = st
	notAfter := cert.Leaf.NotAfter
	if r.m != nil {
		r.m.TLSCertExpiry.Set(float64(notAfter.Unix()))
	}
	r.log.Info("tls certificate loaded", obs.KeyReason, trigger, obs.KeyPath, r.certFile)
	if r.now().After(notAfter) {
		r.log.Warn("tls certificate has expired", obs.KeyPath, r.certFile)
	}
	return nil
}

func (r *Reloader) stat() (stamps, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return stamps{}, fmt.Errorf("tls certificate file: %w", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return stamps{}, fmt.Errorf("tls key file: %w", err)
	}
	return stamps{cert: c, key: k}, nil
}

// load reads and checks the pair. Every error names the file at fault and
// the problem, and quotes nothing from the files.
func load(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := readCapped(certFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate file: %w", err)
	}
	keyPEM, err := readCapped(keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls key file: %w", err)
	}
	return parsePair(certPEM, keyPEM, certFile, keyFile)
}

// parsePair checks and parses the files' contents; the names are for errors.
func parsePair(certPEM, keyPEM []byte, certFile, keyFile string) (*tls.Certificate, error) {
	if err := checkCertPEM(certPEM); err != nil {
		return nil, fmt.Errorf("tls certificate file %s: %w", certFile, err)
	}
	if !hasPrivateKeyPEM(keyPEM) {
		return nil, fmt.Errorf("tls key file %s: no PEM private key found", keyFile)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The certificate parsed above, so the key is at fault: it does
		// not parse or does not match. crypto/tls quotes no key bytes.
		return nil, fmt.Errorf("tls key file %s (for certificate %s): %w", keyFile, certFile, err)
	}
	if pair.Leaf == nil { // X509KeyPair fills Leaf unless GODEBUG x509keypairleaf=0
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls certificate file %s: %w", certFile, err)
		}
	}
	return &pair, nil
}

// checkCertPEM requires at least one CERTIFICATE block, each parseable.
func checkCertPEM(data []byte) error {
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		n++
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d does not parse: %w", n, err)
		}
	}
	if n == 0 {
		return errors.New("no PEM certificate found")
	}
	return nil
}

func hasPrivateKeyPEM(data []byte) bool {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return false
		}
		if block.Type == "PRIVATE KEY" || strings.HasSuffix(block.Type, " PRIVATE KEY") {
			return true
		}
	}
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path) //nolint:gosec // G304: the operator names these files (MCPBOX_EDGE_TLS_*_FILE)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(f, maxFileBytes+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if buf.Len() > maxFileBytes {
		return nil, fmt.Errorf("%s: larger than 1 MiB", path)
	}
	return buf.Bytes(), nil
}
