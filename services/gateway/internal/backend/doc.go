// Package backend is the gateway's client of the backend's internal API
// (gateway.md §7.1, §8.3, §9, §10.1; backend.md §9): the catalog with its
// ETag, the policy, the event stream, call plans, management calls and
// execution records. It owns the transport rules and the classification of
// failures; callers decide what a failure means for their client.
//
// Transport: one pooled *http.Client (dial 2 s, TCP keep-alive, idle
// connections kept 90 s, below the backend's 120 s idle timeout so the
// gateway, not the backend, closes an idle connection; no proxy from the
// environment; redirects never followed). There is no client-wide timeout:
// every call has its own deadline (catalog, policy and plan 10 s,
// executions 30 s, manage the caller's), and the event stream has an idle
// limit instead.
//
// Every request carries X-MCPbox-Service-Token and, when the context has
// one (obs.WithRequestID), X-Request-Id. The client makes up no request id
// when the context has none: such calls (the catalog refresh, the record
// sender) are caused by no client request, the backend assigns its own id
// anyway (obs.KeepValid), and a failed answer's error envelope carries that
// id back in HTTPError.RequestID, so a gateway log line can still name it.
//
// Failures are typed: *TransportError (no complete answer; Sent says whether
// any of the request was written), *HTTPError (an unexpected status, with
// the backend's error envelope), *MalformedError (a success answer that
// breaks the contract), *RequestError (a request that could not be built),
// *NotCallableError and *PlanRefusedError (plan 404 and 409) and
// *ManageError (the failure classes of gateway.md §10.2). The record
// sender's retry rule reads Permanent() and HTTPStatus(), which
// *TransportError, *HTTPError and *RequestError have.
// Error texts hold the endpoint, the status, the backend's code and message
// (which backend.md §15.1 keeps free of secrets) and transport errors; never
// the service token, a request body or a plan's secrets.
//
// Metrics: mcpbox_gateway_backend_requests_total{endpoint,result}, one
// observation per request, every series created at zero. result is ok (the
// expected answer, 304 included), http_error (any other status, or an
// answer that does not decode), timeout (a deadline, or the event stream's
// idle limit) or transport (no answer for another reason). A request that
// the caller's own context cancelled is not counted: it says nothing about
// the backend. The event stream is counted once, when it ends: ok when the
// caller's context ended it, else the failure.
package backend
