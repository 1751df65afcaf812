package cfapi

import (
	"context"
	"fmt"
	"strings"
)

// PutSecret sets one secret_text secret on an existing Worker
// (PUT /accounts/{a}/workers/scripts/{s}/secrets). On Cloudflare this creates a new version
// with the same code and deploys it at once. The value goes only into the request body: it
// is never logged, and an error that quotes it has it removed.
//
// It does not create Workers: Cloudflare would make an empty draft Worker for a name it does
// not know, so a typo would create a Worker. Call it only for a Worker that exists.
func (c *Client) PutSecret(ctx context.Context, script, name, value string) error {
	body := map[string]string{"name": name, "text": value, "type": "secret_text"}
	_, err := c.call(ctx, "PUT", c.accountPath("workers", "scripts", script, "secrets"), nil, body, nil)
	if err != nil {
		return fmt.Errorf("put secret %s on %s: %w", name, script, scrubValue(err, value))
	}
	return nil
}

// scrubValue keeps a secret value out of an error's text; errors.Is and As still see the
// original (an *APIError with its codes).
func scrubValue(err error, value string) error {
	if len(value) < 4 || !strings.Contains(err.Error(), value) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), value, "[REDACTED]"), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
