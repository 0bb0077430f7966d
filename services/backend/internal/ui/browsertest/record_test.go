//go:build browser

package browsertest

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Response is one HTTP response (or event-stream message) the page
// received, as DevTools saw it.
type Response struct {
	URL    string
	Method string
	Status int64
	// MIME is the media type of Content-Type, without parameters.
	MIME string
	// Header holds the response headers, names in lower case; a header
	// sent several times has its values joined with "\n".
	Header map[string]string
	// Body is the response body (its bytes, as a string); ""
	// for a redirect and for an event stream, whose messages are recorded
	// one by one as responses with MIME text/event-stream.
	Body string
}

// Recorder records every response of a page through DevTools, bodies
// included (UI-21: a secret value must be absent from every response
// body).
//
// Network.getResponseBody loses the bodies of a document the page has
// navigated away from (and of the requests it started), so the recorder
// holds each response at the Fetch domain's response stage, reads its body
// there and lets it through; event-stream messages come from the Network
// domain (Network.eventSourceMessageReceived). A page that records cannot
// also use OverrideRequestHeader (both need the Fetch domain).
type Recorder struct {
	p *Page

	mu   sync.Mutex
	urls map[network.RequestID]string // event streams: request → URL
	done []Response
	errs []string
}

// Record starts recording the page's responses, from now until the test
// ends.
func (p *Page) Record() *Recorder {
	p.t.Helper()
	r := &Recorder{p: p, urls: map[network.RequestID]string{}}
	paused := chromedp.Events(p.tab, fetch.RequestPaused)
	if err := chromedp.Listen(p.tab, r.observe); err != nil {
		p.t.Fatalf("browsertest: record responses: %v", err)
	}
	p.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*", RequestStage: fetch.RequestStageResponse}}})
		return err
	}))
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			r.hold(ev)
		}
	}()
	return r
}

// observe records event-stream messages (Network domain, in the tab's read
// loop: it only records).
func (r *Recorder) observe(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeEventSource {
			r.urls[ev.RequestID] = ev.Response.URL
		}
	case *network.EventEventSourceMessageReceived:
		r.done = append(r.done, Response{URL: r.urls[ev.RequestID], Method: "GET", Status: 200, MIME: "text/event-stream", Body: ev.Data})
	}
}

// hold reads the body of a response paused at the response stage and
// lets the response through.
func (r *Recorder) hold(ev fetch.EventRequestPaused) {
	ctx, cancel := context.WithTimeout(r.p.tab, ActionTimeout)
	defer cancel()
	resp := Response{URL: ev.Request.URL, Method: ev.Request.Method, Status: ev.ResponseStatusCode, Header: map[string]string{}}
	for _, h := range ev.ResponseHeaders {
		k := strings.ToLower(h.Name)
		if prev, ok := resp.Header[k]; ok {
			resp.Header[k] = prev + "\n" + h.Value
		} else {
			resp.Header[k] = h.Value
		}
	}
	resp.MIME = strings.TrimSpace(strings.SplitN(resp.Header["content-type"], ";", 2)[0])
	var readErr error
	switch {
	case ev.ResponseErrorReason != "":
		resp.Status = 0
	case resp.Status >= 300 && resp.Status < 400, resp.MIME == "text/event-stream":
		// A redirect has no body to read; an event stream never ends (its
		// messages are recorded as they arrive).
	default:
		body, err := chromedp.Call(ctx, fetch.GetResponseBody, fetch.GetResponseBodyParams{RequestID: ev.RequestID})
		switch {
		case err == nil:
			resp.Body = string(body.Body)
		case dropped(err) || r.p.tab.Err() != nil:
			return // the page dropped the request (it navigated away): it never saw the response
		case errors.Is(err, context.DeadlineExceeded):
			// DevTools never returned the body (seen on a loaded machine for a
			// fragment the page had moved on from). The request is failed, so
			// the page never sees a body the record lacks: no hole.
			failCtx, cancelFail := context.WithTimeout(r.p.tab, ActionTimeout)
			defer cancelFail()
			_, _ = chromedp.Call(failCtx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonAborted})
			return
		default:
			readErr = err
		}
	}
	// Recorded before the page can see it.
	r.mu.Lock()
	r.done = append(r.done, resp)
	if readErr != nil {
		r.errs = append(r.errs, resp.Method+" "+resp.URL+": "+readErr.Error())
	}
	r.mu.Unlock()
	if _, err := chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID}); err != nil && r.p.tab.Err() == nil && !dropped(err) {
		r.mu.Lock()
		r.errs = append(r.errs, resp.Method+" "+resp.URL+": let through: "+err.Error())
		r.mu.Unlock()
	}
}

// dropped reports whether DevTools no longer knows a paused request: the
// page dropped it (it navigated away) before it was let through.
func dropped(err error) bool { return strings.Contains(err.Error(), "Invalid InterceptionId") }

// Responses returns the responses recorded so far. A body DevTools could
// not return fails the test: the record would have a hole.
func (r *Recorder) Responses() []Response {
	r.p.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.errs {
		r.p.t.Errorf("browsertest: response not recorded: %s", e)
	}
	r.errs = nil
	return append([]Response(nil), r.done...)
}
