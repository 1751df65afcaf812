package cfapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

// Module is one file of a Worker's code as Cloudflare stores it.
type Module struct {
	Name        string
	ContentType string
	Body        []byte
}

// SHA256 is the hex sha256 of the module's bytes.
func (m Module) SHA256() string {
	sum := sha256.Sum256(m.Body)
	return hex.EncodeToString(sum[:])
}

// MainModule downloads the Worker's code (content/v2) and returns its entry module, the one
// the cf-entrypoint header names. versionID "" means the version serving now.
func (c *Client) MainModule(ctx context.Context, script, versionID string) (Module, error) {
	var q workers.ScriptContentGetParams
	q.AccountID.Value, q.AccountID.Present = c.account, true
	var opts []option.RequestOption
	if versionID != "" {
		opts = append(opts, option.WithQuery("version", versionID))
	}
	res, err := c.scripts.Content.Get(ctx, script, q, opts...)
	if err != nil {
		return Module{}, fmt.Errorf("code of %s (version %q): %w", script, versionID, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return Module{}, fmt.Errorf("code of %s: %w", script, err)
	}
	m, err := entryModule(res.Header.Get("Content-Type"), res.Header.Get("cf-entrypoint"), body)
	if err != nil {
		return Module{}, fmt.Errorf("code of %s (version %q): %w", script, versionID, err)
	}
	return m, nil
}

// ContentSHA256 is the hex sha256 of the entry module of the version (or of the serving
// version when versionID is ""); equal to the sha256 of wrangler's dry-run bundle file when
// the same code is deployed.
func (c *Client) ContentSHA256(ctx context.Context, script, versionID string) (string, error) {
	m, err := c.MainModule(ctx, script, versionID)
	if err != nil {
		return "", err
	}
	return m.SHA256(), nil
}

// entryModule picks the entry module out of a content/v2 answer: a multipart body for module
// Workers, or a plain script for service-worker Workers.
func entryModule(contentType, entrypoint string, body []byte) (Module, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		// A service-worker script is the whole body.
		return Module{Name: entrypoint, ContentType: contentType, Body: body}, nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var parts []Module
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Module{}, fmt.Errorf("malformed multipart code: %w", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return Module{}, fmt.Errorf("malformed multipart code: %w", err)
		}
		name := p.FormName()
		if name == "" {
			name = p.FileName()
		}
		parts = append(parts, Module{Name: name, ContentType: p.Header.Get("Content-Type"), Body: b})
	}
	for _, m := range parts {
		if entrypoint != "" && (m.Name == entrypoint) {
			return m, nil
		}
	}
	if entrypoint == "" && len(parts) == 1 {
		return parts[0], nil
	}
	names := make([]string, len(parts))
	for i, m := range parts {
		names[i] = m.Name
	}
	return Module{}, fmt.Errorf("entry module %q (cf-entrypoint header) is not among the parts %v", entrypoint, names)
}
