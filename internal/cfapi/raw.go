package cfapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// pageInfo is the envelope's result_info.
type pageInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// call sends one request below the base URL through the pacer (budget, retries of reads,
// 429 waits, errors as *APIError) without the SDK, for endpoints outside the SDK's workers
// package, and decodes the envelope's result into out (when non-nil). body, when non-nil,
// is sent as JSON.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any) (pageInfo, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return pageInfo{}, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
	if err != nil {
		return pageInfo{}, err
	}
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.pacer.middleware(req, c.http.Do)
	if err != nil {
		return pageInfo{}, err
	}
	defer res.Body.Close()
	var env struct {
		Result     json.RawMessage `json:"result"`
		ResultInfo pageInfo        `json:"result_info"`
	}
	if err := decodeJSON(res.Body, &env); err != nil {
		return pageInfo{}, fmt.Errorf("cloudflare api: %s %s: the answer is not JSON: %w", method, path, err)
	}
	if out != nil && len(env.Result) > 0 && string(env.Result) != "null" {
		if err := json.Unmarshal(env.Result, out); err != nil {
			return pageInfo{}, fmt.Errorf("cloudflare api: %s %s: unexpected result: %w", method, path, err)
		}
	}
	return env.ResultInfo, nil
}

// accountPath is /accounts/<id> followed by the escaped segments.
func (c *Client) accountPath(segments ...string) string {
	p := "/accounts/" + c.account
	for _, s := range segments {
		p += "/" + url.PathEscape(s)
	}
	return p
}
