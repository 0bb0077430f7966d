package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// outcome is how one exchange ended: the error for the caller (nil on
// success), the breaker's verdict and the metric's result label ("" = not
// counted).
//
// The table of gateway.md §8.4 and §13:
//
//	ending                         Kind          verdict  result
//	200, contract kept             —             success  ok
//	200, unreadable or broken      NoResult      neutral  http_error
//	429                            Saturated     neutral  saturated
//	409                            HashMismatch  neutral  hash_mismatch
//	other 4xx                      Rejected      neutral  http_error
//	5xx (503 not_ready included)   NoResult      failure  http_error
//	other status (1xx, 3xx, 2xx)   NoResult      neutral  http_error
//	not sent (refused, dial, DNS)  Unreachable   failure  transport (timeout when the call's own timeout ended it)
//	own timeout after sending      NoResult      failure  timeout
//	connection lost after sending  NoResult      failure  transport
//	caller's context ended         Cancelled     neutral  (not counted)
type outcome struct {
	err     *Error
	verdict verdict
	result  string
}

// interrupted classifies an exchange that ended without a complete answer.
// sent says whether the request headers had been written.
func interrupted(ctx, cctx context.Context, sent bool, timeout time.Duration, err error) outcome {
	ownTimeout := errors.Is(context.Cause(cctx), errCallTimeout)
	var ne net.Error
	switch {
	case !ownTimeout && ctx.Err() != nil:
		return outcome{err: &Error{Kind: Cancelled, Err: ctx.Err()}, verdict: neutral}
	case !sent:
		result := resultTransport
		if ownTimeout {
			result = resultTimeout
		}
		return outcome{err: &Error{Kind: Unreachable, Err: err}, verdict: failure, result: result}
	case ownTimeout || (errors.As(err, &ne) && ne.Timeout()):
		return outcome{
			err:     &Error{Kind: NoResult, Cause: timeoutCause(timeout), Err: err},
			verdict: failure, result: resultTimeout,
		}
	}
	return outcome{err: &Error{Kind: NoResult, Cause: CauseConnectionLost, Err: err}, verdict: failure, result: resultTransport}
}

// statusFailure classifies a non-200 answer.
func statusFailure(resp *http.Response) outcome {
	status := resp.StatusCode
	remote := readErrorBody(resp.Body)
	e := &Error{Status: status, Remote: remote}
	switch {
	case status == http.StatusTooManyRequests:
		e.Kind, e.RetryAfter = Saturated, retryAfter(resp.Header.Get("Retry-After"))
		return outcome{err: e, verdict: neutral, result: resultSaturated}
	case status == http.StatusConflict:
		// sandbox.md §4.1: 409 is only ever hash_mismatch; an unreadable
		// body does not make it less of an integrity failure.
		e.Kind = HashMismatch
		return outcome{err: e, verdict: neutral, result: resultHashMismatch}
	case status >= 400 && status < 500:
		e.Kind = Rejected
		return outcome{err: e, verdict: neutral, result: resultHTTPError}
	case status >= 500:
		e.Kind, e.Cause = NoResult, statusCause(status)
		return outcome{err: e, verdict: failure, result: resultHTTPError}
	}
	e.Kind, e.Cause = NoResult, statusCause(status)
	return outcome{err: e, verdict: neutral, result: resultHTTPError}
}

// invalidAnswer is a complete answer that breaks the contract: the tool
// may have run, but there is no result to show.
func invalidAnswer(status int, err error) outcome {
	return outcome{
		err:     &Error{Kind: NoResult, Status: status, Cause: CauseInvalidAnswer, Err: err},
		verdict: neutral, result: resultHTTPError,
	}
}

// decodeAnswer decodes a complete 200 body into out and checks the
// contract with check.
func decodeAnswer(body []byte, out any, check func() error) outcome {
	if err := json.Unmarshal(body, out); err != nil {
		return invalidAnswer(http.StatusOK, fmt.Errorf("decode the answer: %w", err))
	}
	if err := check(); err != nil {
		return invalidAnswer(http.StatusOK, err)
	}
	return outcome{verdict: success, result: resultOK}
}

// errAnswerTooLarge marks a 200 body over maxAnswerBytes.
var errAnswerTooLarge = fmt.Errorf("the answer is larger than %d MiB", maxAnswerBytes>>20)

// readAnswer reads a 200 body under the cap.
func readAnswer(resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if len(body) > maxAnswerBytes {
		return nil, errAnswerTooLarge
	}
	return body, nil
}

// readErrorBody decodes the {"error": {...}} envelope of a non-200
// answer, or returns nil.
func readErrorBody(r io.Reader) *proto.Error {
	body, err := io.ReadAll(io.LimitReader(r, maxErrorBodyBytes))
	if err != nil && len(body) == 0 {
		return nil
	}
	return decodeErrorBody(body)
}

// decodeErrorBody decodes the {"error": {...}} envelope, or returns nil.
func decodeErrorBody(body []byte) *proto.Error {
	var eb proto.ErrorBody
	if json.Unmarshal(body, &eb) != nil || eb.Error.Code == "" {
		return nil
	}
	return &eb.Error
}

// retryAfter parses a Retry-After in whole seconds (the sandbox sends 1);
// missing or unreadable → 1 s; capped at a minute.
func retryAfter(h string) time.Duration {
	n, err := strconv.Atoi(h)
	if err != nil || n < 0 {
		return time.Second
	}
	return min(time.Duration(n)*time.Second, maxRetryAfter)
}

// checkExecute enforces sandbox.md §4.2.4: ok ⇔ no error, and an ok
// answer carries result (JSON null is a result).
func checkExecute(r *proto.ExecuteResponse) error {
	switch {
	case r.OK && r.Error != nil:
		return errors.New("the answer has ok: true and an error")
	case r.OK && len(r.Result) == 0:
		return errors.New("the answer has ok: true but no result")
	case !r.OK && r.Error == nil:
		return errors.New("the answer has ok: false but no error")
	}
	return nil
}

// checkMCPCall enforces sandbox.md §4.6: ok ⇔ a result (a CallToolResult,
// so a JSON object), else an error.
func checkMCPCall(r *proto.MCPCallResponse) error {
	switch {
	case r.OK && !isObject(r.Result):
		return errors.New("the answer has ok: true but its result is not a JSON object")
	case !r.OK && r.Error == nil:
		return errors.New("the answer has ok: false but no error")
	}
	return nil
}

// isObject reports whether raw is a JSON object (by its first byte; the
// whole answer was valid JSON).
func isObject(raw json.RawMessage) bool {
	b := bytes.TrimLeft(raw, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}
