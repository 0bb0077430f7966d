package backend

import (
	"context"
	"net/http"
	"strconv"

	"github.com/mcpbox/mcpbox/proto"
)

// Catalog fetches GET /internal/v1/catalog (backend.md §9.3) within 10 s.
// A non-empty etag (the ETag of the caller's snapshot, such as `"42"`) is
// sent as If-None-Match; a 304 answer returns notModified true, an empty
// catalog and the ETag of the answer (etag itself when the answer has
// none). A 200 returns the catalog and its ETag; a 200 without an ETag
// header gets `"<revision>"`, the backend's format. The catalog's entries
// are not validated here: the catalog package skips bad ones (§7.3).
func (c *Client) Catalog(ctx context.Context, etag string) (cat proto.Catalog, newETag string, notModified bool, err error) {
	defer func() { c.observe(ctx, EndpointCatalog, err) }()
	k := call{
		endpoint: EndpointCatalog, method: http.MethodGet, path: proto.PathInternalCatalog,
		timeout: c.readTimeout, maxBody: maxCatalogBytes,
	}
	if etag != "" {
		k.header = http.Header{"If-None-Match": {etag}}
	}
	a, err := c.do(ctx, k)
	if err != nil {
		return proto.Catalog{}, "", false, err
	}
	switch a.status {
	case http.StatusNotModified:
		if got := a.header.Get("ETag"); got != "" {
			etag = got
		}
		return proto.Catalog{}, etag, true, nil
	case http.StatusOK:
	default:
		return proto.Catalog{}, "", false, newHTTPError(EndpointCatalog, a.status, a.body)
	}
	if err := decodeJSON(EndpointCatalog, a, &cat); err != nil {
		return proto.Catalog{}, "", false, err
	}
	newETag = a.header.Get("ETag")
	if newETag == "" {
		newETag = `"` + strconv.FormatInt(cat.Revision, 10) + `"`
	}
	return cat, newETag, false, nil
}

// Policy fetches GET /internal/v1/policy (backend.md §9.7) within 10 s: the
// security policy and its revision. The values are not validated here (the
// policy package decides what an unknown value means).
func (c *Client) Policy(ctx context.Context) (p proto.Policy, err error) {
	defer func() { c.observe(ctx, EndpointPolicy, err) }()
	a, err := c.do(ctx, call{
		endpoint: EndpointPolicy, method: http.MethodGet, path: proto.PathInternalPolicy,
		timeout: c.readTimeout, maxBody: maxAnswerBytes,
	})
	if err != nil {
		return proto.Policy{}, err
	}
	if a.status != http.StatusOK {
		return proto.Policy{}, newHTTPError(EndpointPolicy, a.status, a.body)
	}
	if err := decodeJSON(EndpointPolicy, a, &p); err != nil {
		return proto.Policy{}, err
	}
	return p, nil
}
