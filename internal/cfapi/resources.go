package cfapi

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// KVNamespace is one Workers KV namespace of the account.
type KVNamespace struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// VectorizeIndex is one Vectorize (v2) index of the account.
type VectorizeIndex struct {
	Name   string `json:"name"`
	Config struct {
		Dimensions int    `json:"dimensions"`
		Metric     string `json:"metric"`
	} `json:"config"`
}

// DurableObjectNamespace is one Durable Object namespace: a class of a Worker that a
// migration created.
type DurableObjectNamespace struct {
	ID        string `json:"id"`
	Class     string `json:"class"`
	Name      string `json:"name"`
	Script    string `json:"script"`
	UseSqlite bool   `json:"use_sqlite"`
}

// maxPages bounds list walks: 100 pages of 100 is far beyond any account we deploy to, and
// a server that keeps answering full pages must not keep a preflight going forever.
const maxPages = 100

// KVNamespaces lists the account's KV namespaces, 100 per request.
func (c *Client) KVNamespaces(ctx context.Context) ([]KVNamespace, error) {
	return listAll[KVNamespace](ctx, c, c.accountPath("storage", "kv", "namespaces"), 100, "KV namespaces")
}

// DurableObjectNamespaces lists the account's Durable Object namespaces, 100 per request.
func (c *Client) DurableObjectNamespaces(ctx context.Context) ([]DurableObjectNamespace, error) {
	return listAll[DurableObjectNamespace](ctx, c, c.accountPath("workers", "durable_objects", "namespaces"), 100, "Durable Object namespaces")
}

// VectorizeIndex reads one Vectorize index; a missing one gives an error matching ErrNotFound.
func (c *Client) VectorizeIndex(ctx context.Context, name string) (VectorizeIndex, error) {
	var ix VectorizeIndex
	if _, err := c.call(ctx, "GET", c.accountPath("vectorize", "v2", "indexes", name), nil, nil, &ix); err != nil {
		return VectorizeIndex{}, fmt.Errorf("vectorize index %s of account %s: %w", name, c.account, err)
	}
	return ix, nil
}

// listAll follows pages until a short one, total_count is reached, or maxPages.
func listAll[T any](ctx context.Context, c *Client, path string, perPage int, what string) ([]T, error) {
	var out []T
	for page := 1; page <= maxPages; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}}
		var items []T
		info, err := c.call(ctx, "GET", path, q, nil, &items)
		if err != nil {
			return nil, fmt.Errorf("%s of account %s: %w", what, c.account, err)
		}
		out = append(out, items...)
		if len(items) < perPage || (info.TotalCount > 0 && len(out) >= info.TotalCount) {
			break
		}
	}
	return out, nil
}
