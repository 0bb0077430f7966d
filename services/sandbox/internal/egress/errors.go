package egress

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// Reason is why the policy refused a request: the reason label of
// mcpbox_sandbox_egress_blocked_total (sandbox.md §15.1).
type Reason string

// Refusal reasons.
const (
	ReasonNotApproved     Reason = "not_approved"
	ReasonNoNetwork       Reason = "no_network"
	ReasonPrivateAddress  Reason = "private_address"
	ReasonAlwaysBlocked   Reason = "always_blocked"
	ReasonBlockedHostname Reason = "blocked_hostname"
	ReasonBadURL          Reason = "bad_url"
)

// Reasons lists every Reason, in the order of sandbox.md §15.1.
func Reasons() []Reason {
	return []Reason{
		ReasonNotApproved, ReasonNoNetwork, ReasonPrivateAddress,
		ReasonAlwaysBlocked, ReasonBlockedHostname, ReasonBadURL,
	}
}

// variant selects the wording of a refusal within one Reason.
type variant int

const (
	variantDefault variant = iota
	// variantApprovedName: an approved public-looking name answered with a
	// private address.
	variantApprovedName
	// variantOperator: the operator's MCPBOX_SANDBOX_EGRESS_DENY matched.
	variantOperator
	// variantInternalName: a name under .internal that is not approved.
	variantInternalName
)

// BlockedError is a request the SSRF policy refused (sandbox.md §12.7). It
// becomes an EgressError for the tool and EgressDenied for /v1/fetch and
// /v1/mcp/*. Its message names the next step and never holds a resolved
// address.
type BlockedError struct {
	// Host is the destination as "host:port" (IPv6 in brackets), or "" when
	// the URL has no usable host.
	Host string
	// Reason is the metric reason.
	Reason Reason
	// Rule is the URL rule broken, for ReasonBadURL.
	Rule    string
	variant variant
}

// Error returns the message of sandbox.md §12.7 for the reason.
func (e *BlockedError) Error() string {
	switch e.Reason {
	case ReasonNotApproved:
		host, port := splitHostPortForMessage(e.Host)
		return fmt.Sprintf("Network access to '%s' is not approved for this tool. "+
			"Ask for it with mcpbox_request_network_access (host '%s', port %s).", e.Host, host, port)
	case ReasonNoNetwork:
		return "This tool has no network access. Ask for a host with mcpbox_request_network_access."
	case ReasonPrivateAddress:
		if e.variant == variantApprovedName {
			return fmt.Sprintf("'%s' is approved, but it now resolves to a private or reserved address. "+
				"Only IP literals and local names (such as nas.lan) may reach private networks; "+
				"ask for the exact address with mcpbox_request_network_access.", e.Host)
		}
		return fmt.Sprintf("'%s' resolves to a private or reserved address; "+
			"such hosts must be approved with mcpbox_request_network_access.", e.Host)
	case ReasonAlwaysBlocked:
		if e.variant == variantOperator {
			return fmt.Sprintf("'%s' is a destination this installation blocks, which tools can never reach.", e.Host)
		}
		return fmt.Sprintf("'%s' is a loopback, link-local or metadata destination, which tools can never reach.", e.Host)
	case ReasonBlockedHostname:
		switch e.variant {
		case variantInternalName:
			return fmt.Sprintf("'%s' is an internal name; such hosts must be approved with mcpbox_request_network_access.", e.Host)
		case variantOperator:
			return fmt.Sprintf("'%s' is a host this installation blocks, which tools can never reach.", e.Host)
		default:
			return fmt.Sprintf("'%s' is a loopback, link-local or metadata destination, which tools can never reach.", e.Host)
		}
	case ReasonBadURL:
		return "Only http and https URLs without credentials are allowed: " + e.Rule + "."
	}
	return fmt.Sprintf("Network access to '%s' was refused.", e.Host)
}

// splitHostPortForMessage splits "host:port" for the request hint.
func splitHostPortForMessage(hp string) (host, port string) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, "443"
	}
	if _, err := strconv.Atoi(p); err != nil {
		return h, "443"
	}
	return h, p
}

// Outcome is the outcome label of mcpbox_sandbox_broker_requests_total and the
// kind of a failed request.
type Outcome string

// Request outcomes (sandbox.md §15.1).
const (
	OutcomeOK             Outcome = "ok"
	OutcomeBlocked        Outcome = "blocked"
	OutcomeTimeout        Outcome = "timeout"
	OutcomeConnectError   Outcome = "connect_error"
	OutcomeTLSError       Outcome = "tls_error"
	OutcomeTooLarge       Outcome = "too_large"
	OutcomeBudgetExceeded Outcome = "budget_exceeded"
	OutcomeInvalid        Outcome = "invalid"
)

// Outcomes lists every Outcome, in the order of sandbox.md §15.1.
func Outcomes() []Outcome {
	return []Outcome{
		OutcomeOK, OutcomeBlocked, OutcomeTimeout, OutcomeConnectError,
		OutcomeTLSError, OutcomeTooLarge, OutcomeBudgetExceeded, OutcomeInvalid,
	}
}

// RequestError is a request that failed for a reason other than the SSRF
// policy: an invalid request, a cap, the budget, or a transport failure.
// Message is safe to show to the tool: it names the host and port, never a
// resolved address. Err is the underlying error, for logs only.
type RequestError struct {
	Kind    Outcome
	Message string
	Err     error
}

// Error returns Message.
func (e *RequestError) Error() string { return e.Message }

// Unwrap returns the underlying error.
func (e *RequestError) Unwrap() error { return e.Err }

// OutcomeOf returns the outcome of a request that ended with err: ok for
// nil, blocked for a *BlockedError, the Kind of a *RequestError, else
// connect_error.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return OutcomeOK
	}
	var be *BlockedError
	if errors.As(err, &be) {
		return OutcomeBlocked
	}
	var re *RequestError
	if errors.As(err, &re) {
		return re.Kind
	}
	return OutcomeConnectError
}

// badURL returns a ReasonBadURL refusal.
func badURL(rule string) *BlockedError {
	return &BlockedError{Reason: ReasonBadURL, Rule: rule}
}
