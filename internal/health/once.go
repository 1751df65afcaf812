package health

import (
	"context"
	"net/http"
	"time"
)

// Once sends one request and reports what it saw: health now, for status views that must not
// wait for a Worker to become healthy. c.Deadline bounds the request (zero: 10 s); OK is
// false with Last saying why when the answer is not healthy.
func Once(ctx context.Context, c Check) Result {
	if c.Deadline <= 0 {
		c.Deadline = 10 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	ctx, cancel := context.WithTimeout(ctx, c.Deadline)
	defer cancel()
	res := Result{URL: c.URL, ExpectedVersion: c.Version, Attempts: 1}
	res.OK = attempt(ctx, c, &res)
	return res
}
