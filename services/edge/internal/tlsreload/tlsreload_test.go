package tlsreload_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/edge/internal/tlsreload"
)

// EDGE-82: TLS 1.2 and 1.3 clients negotiate h2 through ALPN; a TLS 1.1
// handshake fails; the expiry gauge holds the certificate's NotAfter.
func TestEDGE82_VersionsAndALPN(t *testing.T) {
	t.Parallel()
	c := newTestCert(t, "one", time.Now().Add(90*24*time.Hour).Truncate(time.Second))
	f := newFixture(t, c, time.Hour)
	url := serve(t, f.r)

	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		got := get(t.Context(), t, client(t, v, v, c), url)
		if got.protoMajor != 2 || got.body != "HTTP/2.0" {
			t.Errorf("%s: ProtoMajor %d, server saw %q; want HTTP/2", tls.VersionName(v), got.protoMajor, got.body)
		}
		if got.tls.Version != v || got.tls.NegotiatedProtocol != "h2" {
			t.Errorf("%s: negotiated %s with ALPN %q", tls.VersionName(v), tls.VersionName(got.tls.Version), got.tls.NegotiatedProtocol)
		}
	}

	// A client without h2 falls back to http/1.1 through ALPN.
	h1 := client(t, tls.VersionTLS12, 0, c)
	h1.Transport.(*http.Transport).TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	h1.Transport.(*http.Transport).ForceAttemptHTTP2 = false
	if got := get(t.Context(), t, h1, url); got.protoMajor != 1 || got.body != "HTTP/1.1" {
		t.Errorf("http/1.1 client: ProtoMajor %d, server saw %q", got.protoMajor, got.body)
	}

	old := &tls.Dialer{Config: &tls.Config{
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true,
	}}
	conn, err := old.DialContext(t.Context(), "tcp", strings.TrimPrefix(url, "https://"))
	if err == nil {
		_ = conn.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	if !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("TLS 1.1 handshake failed with %v, want a protocol version alert", err)
	}

	if got, want := f.expiry(), c.leaf.NotAfter.Unix(); got != want {
		t.Errorf("expiry gauge %d, want %d", got, want)
	}
}

// EDGE-82: replacing the files and reloading (what SIGHUP does) serves the
// new certificate to new connections while an open connection keeps working;
// the expiry gauge follows.
func TestEDGE82_ReloadKeepsOpenConnections(t *testing.T) {
	t.Parallel()
	old := newTestCert(t, "old", time.Now().Add(10*24*time.Hour).Truncate(time.Second))
	renewed := newTestCert(t, "renewed", time.Now().Add(90*24*time.Hour).Truncate(time.Second))
	f := newFixture(t, old, time.Hour)
	url := serve(t, f.r)

	open := client(t, tls.VersionTLS12, 0, old, renewed)
	if got := get(t.Context(), t, open, url); got.serial(t).Cmp(old.leaf.SerialNumber) != 0 {
		t.Fatal("first connection not served the initial certificate")
	}

	f.files.write(t, renewed)
	if err := f.r.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got, want := f.expiry(), renewed.leaf.NotAfter.Unix(); got != want {
		t.Errorf("expiry gauge %d after reload, want %d", got, want)
	}

	// The open connection is reused, still on the certificate it began with.
	var reused bool
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	})
	if got := get(ctx, t, open, url); !reused || got.serial(t).Cmp(old.leaf.SerialNumber) != 0 {
		t.Errorf("after reload: reused %v; want the open connection with the initial certificate", reused)
	}

	if got := get(t.Context(), t, client(t, tls.VersionTLS12, 0, renewed), url); got.serial(t).Cmp(renewed.leaf.SerialNumber) != 0 {
		t.Error("new connection not served the renewed certificate")
	}
	if logs := f.logs.String(); !strings.Contains(logs, `"msg":"tls certificate loaded","reason":"reload"`) {
		t.Errorf("no info line for the reload in %s", logs)
	}
}

// runEvent is one reload attempt Run reported.
type runEvent struct {
	trigger string
	err     error
}

// startRun runs the reloader until the test ends and returns its reload
// attempts; it returns once Run listens for SIGHUP.
func startRun(t *testing.T, r *tlsreload.Reloader) <-chan runEvent {
	t.Helper()
	events := make(chan runEvent, 256)
	notified := make(chan struct{})
	r.SetHooks(func() { close(notified) }, func(trigger string, err error) {
		select {
		case events <- runEvent{trigger, err}:
		default: // never block Run; tests read promptly
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-notified:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not start")
	}
	return events
}

// waitFor waits for an attempt with trigger and the wanted outcome (ok:
// err == nil), skipping others; it fails after 10 s.
func waitFor(t *testing.T, events <-chan runEvent, trigger string, ok bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.trigger == trigger && (ev.err == nil) == ok {
				return
			}
		case <-deadline:
			t.Fatalf("no %s reload with ok=%v within 10 s", trigger, ok)
		}
	}
}

// EDGE-82: SIGHUP reloads the certificate. Not parallel: the signal reaches
// every reloader in the process, and the modification-check tests count on
// their own reloads.
//
//nolint:paralleltest // see above
func TestEDGE82_SIGHUPReloads(t *testing.T) {
	// Keep the default action (exit) away even if the signal arrives
	// after Run stopped listening.
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGHUP)
	t.Cleanup(func() { signal.Stop(guard) })

	old := newTestCert(t, "old", time.Now().Add(10*24*time.Hour).Truncate(time.Second))
	renewed := newTestCert(t, "renewed", time.Now().Add(90*24*time.Hour).Truncate(time.Second))
	f := newFixture(t, old, time.Hour) // no modification check during the test
	url := serve(t, f.r)
	events := startRun(t, f.r)

	f.files.write(t, renewed)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, events, tlsreload.TriggerSignal, true)
	if got := get(t.Context(), t, client(t, tls.VersionTLS13, 0, renewed), url); got.serial(t).Cmp(renewed.leaf.SerialNumber) != 0 {
		t.Error("new connection not served the renewed certificate after SIGHUP")
	}
	if got, want := f.expiry(), renewed.leaf.NotAfter.Unix(); got != want {
		t.Errorf("expiry gauge %d, want %d", got, want)
	}
}

// EDGE-82: the modification check (interval shortened through New) picks up
// replaced files, whether renamed into place or rewritten in place.
func TestEDGE82_ModificationCheck(t *testing.T) {
	t.Parallel()
	first := newTestCert(t, "first", time.Now().Add(10*24*time.Hour).Truncate(time.Second))
	second := newTestCert(t, "second", time.Now().Add(60*24*time.Hour).Truncate(time.Second))
	third := newTestCert(t, "third", time.Now().Add(90*24*time.Hour).Truncate(time.Second))
	f := newFixture(t, first, 100*time.Millisecond)
	url := serve(t, f.r)
	events := startRun(t, f.r)

	// Renamed into place (new files, as certbot and Kubernetes do).
	f.files.write(t, second)
	waitFor(t, events, tlsreload.TriggerModified, true)
	if got := get(t.Context(), t, client(t, tls.VersionTLS12, 0, second), url); got.serial(t).Cmp(second.leaf.SerialNumber) != 0 {
		t.Fatal("renamed files not picked up")
	}
	if got, want := f.expiry(), second.leaf.NotAfter.Unix(); got != want {
		t.Errorf("expiry gauge %d, want %d", got, want)
	}

	// Rewritten in place: same files, new contents and a later mtime (set
	// explicitly, since the two writes may fall in one timestamp tick).
	later := time.Now().Add(time.Minute)
	for _, w := range []struct {
		path string
		data []byte
	}{{f.files.key, third.keyPEM}, {f.files.cert, third.certPEM}} {
		if err := os.WriteFile(w.path, w.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(w.path, later, later); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, events, tlsreload.TriggerModified, true) // a check between the writes may fail first
	if got := get(t.Context(), t, client(t, tls.VersionTLS12, 0, third), url); got.serial(t).Cmp(third.leaf.SerialNumber) != 0 {
		t.Fatal("files rewritten in place not picked up")
	}
	if got, want := f.expiry(), third.leaf.NotAfter.Unix(); got != want {
		t.Errorf("expiry gauge %d, want %d", got, want)
	}
}

// EDGE-82: a broken file keeps the old certificate; the error names the file
// and the problem and holds no key material.
func TestEDGE82_BrokenFilesKeepOldCertificate(t *testing.T) {
	t.Parallel()
	other := newTestCert(t, "other", time.Now().Add(time.Hour))
	tests := []struct {
		name      string
		breakIt   func(t *testing.T, p pairFiles, good testCert)
		wantFile  func(p pairFiles) string
		wantError string
	}{
		{"garbage certificate", func(t *testing.T, p pairFiles, good testCert) {
			p.replace(t, []byte("not a certificate\n"), good.keyPEM)
		}, func(p pairFiles) string { return p.cert }, "no PEM certificate found"},
		{"certificate block with bad DER", func(t *testing.T, p pairFiles, good testCert) {
			p.replace(t, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), good.keyPEM)
		}, func(p pairFiles) string { return p.cert }, "does not parse"},
		{"garbage key", func(t *testing.T, p pairFiles, good testCert) {
			p.replace(t, good.certPEM, []byte("\x00\x01garbage"))
		}, func(p pairFiles) string { return p.key }, "no PEM private key found"},
		{"certificate as key", func(t *testing.T, p pairFiles, good testCert) {
			p.replace(t, good.certPEM, good.certPEM)
		}, func(p pairFiles) string { return p.key }, "no PEM private key found"},
		{"key of another certificate", func(t *testing.T, p pairFiles, good testCert) {
			p.replace(t, good.certPEM, other.keyPEM)
		}, func(p pairFiles) string { return p.key }, "private key does not match public key"},
		{"certificate missing", func(t *testing.T, p pairFiles, _ testCert) {
			if err := os.Remove(p.cert); err != nil {
				t.Fatal(err)
			}
		}, func(p pairFiles) string { return p.cert }, "no such file"},
		{"key missing", func(t *testing.T, p pairFiles, _ testCert) {
			if err := os.Remove(p.key); err != nil {
				t.Fatal(err)
			}
		}, func(p pairFiles) string { return p.key }, "no such file"},
		{"empty files", func(t *testing.T, p pairFiles, _ testCert) {
			p.replace(t, nil, nil)
		}, func(p pairFiles) string { return p.cert }, "no PEM certificate found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			good := newTestCert(t, "good", time.Now().Add(30*24*time.Hour).Truncate(time.Second))
			f := newFixture(t, good, time.Hour)
			url := serve(t, f.r)

			tc.breakIt(t, f.files, good)
			err := f.r.Reload()
			if err == nil {
				t.Fatal("Reload succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.wantFile(f.files)) || !strings.Contains(msg, tc.wantError) {
				t.Errorf("error %q, want it to name %s and say %q", msg, tc.wantFile(f.files), tc.wantError)
			}
			if got := get(t.Context(), t, client(t, tls.VersionTLS12, 0, good), url); got.serial(t).Cmp(good.leaf.SerialNumber) != 0 {
				t.Error("old certificate not kept")
			}
			if got, want := f.expiry(), good.leaf.NotAfter.Unix(); got != want {
				t.Errorf("expiry gauge %d, want %d (unchanged)", got, want)
			}
			logs := f.logs.String()
			if !strings.Contains(logs, `"level":"WARN","msg":"tls certificate reload failed; keeping the current certificate"`) {
				t.Errorf("no warning logged: %s", logs)
			}
			for _, secret := range [][]byte{good.keyPEM, other.keyPEM} {
				assertNoKeyMaterial(t, "log", logs, secret)
				assertNoKeyMaterial(t, "error", msg, secret)
			}

			f.files.write(t, good)
			if err := f.r.Reload(); err != nil {
				t.Fatalf("Reload after repair: %v", err)
			}
		})
	}
}

// assertNoKeyMaterial fails when text holds any 16-byte window of the key's
// base64 body.
func assertNoKeyMaterial(t *testing.T, what, text string, keyPEM []byte) {
	t.Helper()
	var body strings.Builder
	for line := range strings.SplitSeq(string(keyPEM), "\n") {
		if !strings.HasPrefix(line, "-----") {
			body.WriteString(line)
		}
	}
	b := body.String()
	for i := 0; i+16 <= len(b); i++ {
		if strings.Contains(text, b[i:i+16]) {
			t.Fatalf("%s contains key material", what)
		}
	}
}

// After a failed reload the check retries on every tick, with no further
// change to the files, and recovers once they are good.
func TestBrokenFileRetriedUntilFixed(t *testing.T) {
	t.Parallel()
	good := newTestCert(t, "good", time.Now().Add(24*time.Hour))
	renewed := newTestCert(t, "renewed", time.Now().Add(48*time.Hour))
	f := newFixture(t, good, 100*time.Millisecond)
	url := serve(t, f.r)
	events := startRun(t, f.r)

	f.files.replace(t, []byte("garbage"), good.keyPEM)
	waitFor(t, events, tlsreload.TriggerModified, false)
	waitFor(t, events, tlsreload.TriggerModified, false) // retried without a change
	if got := get(t.Context(), t, client(t, tls.VersionTLS12, 0, good), url); got.serial(t).Cmp(good.leaf.SerialNumber) != 0 {
		t.Fatal("old certificate not kept while the files are broken")
	}
	f.files.write(t, renewed)
	waitFor(t, events, tlsreload.TriggerModified, true)
	if got := get(t.Context(), t, client(t, tls.VersionTLS12, 0, renewed), url); got.serial(t).Cmp(renewed.leaf.SerialNumber) != 0 {
		t.Fatal("repaired files not picked up")
	}
}

func TestNewRefusesBrokenFiles(t *testing.T) {
	t.Parallel()
	good := newTestCert(t, "good", time.Now().Add(time.Hour))
	p := newPairFiles(t)
	if _, err := tlsreload.New(p.cert, p.key, time.Minute, nil, nil); err == nil || !strings.Contains(err.Error(), p.cert) {
		t.Errorf("missing files: error %v, want it to name %s", err, p.cert)
	}
	p.replace(t, good.certPEM, []byte("garbage"))
	if _, err := tlsreload.New(p.cert, p.key, time.Minute, nil, nil); err == nil || !strings.Contains(err.Error(), p.key) {
		t.Errorf("broken key: error %v, want it to name %s", err, p.key)
	}
}

// Log lines use only the closed list of keys, and an expired certificate
// loads with a warning.
func TestLogsUseKnownKeys(t *testing.T) {
	t.Parallel()
	expired := newTestCert(t, "expired", time.Now().Add(-time.Minute))
	f := newFixture(t, expired, time.Hour)
	f.files.replace(t, []byte("garbage"), expired.keyPEM)
	_ = f.r.Reload()
	logs := f.logs.String()
	if !strings.Contains(logs, `"msg":"tls certificate has expired"`) {
		t.Errorf("no expiry warning in %s", logs)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		for k := range rec {
			if !obs.IsKey(k) {
				t.Errorf("log key %q outside the closed list", k)
			}
		}
	}
}

func FuzzParsePair(f *testing.F) {
	c := newTestCert(f, "fuzz", time.Now().Add(time.Hour))
	f.Add(c.certPEM, c.keyPEM)
	f.Add(c.keyPEM, c.certPEM)
	f.Add(c.certPEM, []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), c.keyPEM)
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		cert, err := tlsreload.ParsePair(certPEM, keyPEM)
		if err != nil {
			if cert != nil {
				t.Fatal("certificate returned with an error")
			}
			return
		}
		if cert.Leaf == nil || len(cert.Certificate) == 0 || cert.PrivateKey == nil {
			t.Fatal("incomplete certificate without an error")
		}
	})
}
