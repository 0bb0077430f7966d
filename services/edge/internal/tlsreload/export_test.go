package tlsreload

import "crypto/tls"

// Triggers as Run reports them to OnReload.
const (
	TriggerSignal   = triggerSignal
	TriggerModified = triggerModified
)

// SetHooks installs test hooks; call before Run. notified runs once Run
// listens for SIGHUP; reloaded after each reload attempt Run makes.
func (r *Reloader) SetHooks(notified func(), reloaded func(trigger string, err error)) {
	r.notified, r.reloaded = notified, reloaded
}

// ParsePair is the parser behind every load.
func ParsePair(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	return parsePair(certPEM, keyPEM, "cert.pem", "key.pem")
}
