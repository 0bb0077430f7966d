package hostpkg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// Client is the type of mcpbox.HTTP: an HTTP client whose every request is
// sent through the parent's egress broker. Its only field is unexported and
// points at the job's state, so %+v shows an address, and a Client built by
// tool code (mcpbox.Client{}) has no state and refuses to send.
type Client struct {
	s *state
}

// Header is a set of request headers; nil is allowed.
type Header map[string]string

// Response is a complete HTTP response held in memory.
type Response struct {
	Status    int
	Header    http.Header
	Body      []byte
	Truncated bool
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode JSON response (status %d): %w", r.Status, err)
	}
	return nil
}

// Text returns the body as a string.
func (r *Response) Text() string { return string(r.Body) }

// HTTPError is returned by GetJSON and PostJSON for a non-2xx status.
type HTTPError struct {
	Status      int
	URL         string
	BodyPreview string
	method      string
	id          int
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s returned %d %s", e.method, e.URL, e.Status, http.StatusText(e.Status))
	if e.BodyPreview != "" {
		msg += ": " + e.BodyPreview
	}
	return msg
}

// EgressError is returned when the broker refuses a request (an address or
// host the tool may not reach). The message says what to do next.
type EgressError struct {
	URL     string
	Message string
	id      int
}

func (e *EgressError) Error() string { return e.Message }

var errNoClient = errors.New("mcpbox: this Client was not provided by the sandbox; use mcpbox.HTTP")

// Do sends a request built with http.NewRequestWithContext. The body is read
// in the worker (at most 4 MiB); redirects are returned, not followed; any
// status is a response, not an error.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return nil, errors.New("mcpbox: nil request or URL")
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, MaxRequestBodyBytes+1))
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		body = b
	}
	r, _, err := c.send(req.Context(), req.Method, req.URL.String(), req.Header, body)
	if err != nil {
		return nil, err
	}
	return &http.Response{
		Status:        strconv.Itoa(r.Status) + " " + http.StatusText(r.Status),
		StatusCode:    r.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        r.Header,
		Body:          io.NopCloser(bytes.NewReader(r.Body)),
		ContentLength: int64(len(r.Body)),
		Request:       req,
	}, nil
}

// Get sends a GET request.
func (c *Client) Get(ctx context.Context, url string, h Header) (*Response, error) {
	r, _, err := c.send(ctx, http.MethodGet, url, headerOf(h), nil)
	return r, err
}

// Post sends a POST request with the given content type and body.
func (c *Client) Post(ctx context.Context, url, contentType string, body []byte, h Header) (*Response, error) {
	hdr := headerOf(h)
	if contentType != "" {
		hdr.Set("Content-Type", contentType)
	}
	r, _, err := c.send(ctx, http.MethodPost, url, hdr, body)
	return r, err
}

// GetJSON sends a GET request, requires a 2xx status and decodes the JSON
// body into out.
func (c *Client) GetJSON(ctx context.Context, url string, out any, h Header) error {
	hdr := headerOf(h)
	if hdr.Get("Accept") == "" {
		hdr.Set("Accept", "application/json")
	}
	r, id, err := c.send(ctx, http.MethodGet, url, hdr, nil)
	if err != nil {
		return err
	}
	return decodeJSON(http.MethodGet, url, id, r, out)
}

// PostJSON sends in as a JSON body, requires a 2xx status and decodes the
// JSON response into out (out may be nil).
func (c *Client) PostJSON(ctx context.Context, url string, in, out any, h Header) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode JSON request body: %w", err)
	}
	hdr := headerOf(h)
	hdr.Set("Content-Type", "application/json")
	if hdr.Get("Accept") == "" {
		hdr.Set("Accept", "application/json")
	}
	r, id, err := c.send(ctx, http.MethodPost, url, hdr, body)
	if err != nil {
		return err
	}
	return decodeJSON(http.MethodPost, url, id, r, out)
}

func decodeJSON(method, url string, id int, r *Response, out any) error {
	if r.Status < 200 || r.Status > 299 {
		return &HTTPError{Status: r.Status, URL: url, BodyPreview: preview(r.Body), method: method, id: id}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.Body, out); err != nil {
		return fmt.Errorf("decode JSON from %s %s: %w", method, url, err)
	}
	return nil
}

func headerOf(h Header) http.Header {
	hdr := make(http.Header, len(h))
	for k, v := range h {
		hdr.Set(k, v)
	}
	return hdr
}

// preview returns up to bodyPreviewChars characters of body, valid UTF-8.
func preview(body []byte) string {
	n, i := 0, 0
	for i < len(body) && n < bodyPreviewChars {
		_, size := utf8.DecodeRune(body[i:])
		i += size
		n++
	}
	return string(bytes.ToValidUTF8(body[:i], []byte("\uFFFD")))
}

// send takes an id from the budget and a slot, then asks the broker.
func (c *Client) send(ctx context.Context, method, url string, hdr http.Header, body []byte) (*Response, int, error) {
	if c == nil || c.s == nil {
		return nil, 0, errNoClient
	}
	if ctx == nil {
		ctx = context.Background()
	}
	s := c.s
	if len(body) > MaxRequestBodyBytes {
		return nil, 0, fmt.Errorf("%s %s: request body over 4 MiB; send less data", method, url)
	}
	if s.doer == nil {
		return nil, 0, &EgressError{URL: url, Message: "no network: this execution may not make HTTP requests"}
	}
	id, err := s.newID()
	if err != nil {
		return nil, 0, err
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, id, fmt.Errorf("%s %s: %w", method, url, ctx.Err())
	}
	defer func() { <-s.slots }()
	req := BrokerRequest{ID: id, Method: method, URL: url, Header: hdr.Clone(), Body: body}
	if dl, ok := ctx.Deadline(); ok {
		req.Timeout = max(time.Until(dl), time.Millisecond)
	}
	resp, err := s.doer.Do(ctx, req)
	if err != nil {
		var refused *RefusedError
		if errors.As(err, &refused) && refused.Kind == KindEgressDenied {
			return nil, id, &EgressError{URL: url, Message: refused.Message, id: id}
		}
		return nil, id, fmt.Errorf("%s %s: %w", method, url, err)
	}
	return &Response{Status: resp.Status, Header: resp.Header, Body: resp.Body, Truncated: resp.Truncated}, id, nil
}
